"""GPU paths (skipped without CUDA): grouped GEMM dispatch, CUDA-graph decode, FP8 GEMM."""

from __future__ import annotations

import pytest
import torch

from rootspan.agents.moe import DeepseekMoEModel, MoEConfig, generate, quantize_model

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _model(dtype=torch.bfloat16, **over) -> DeepseekMoEModel:
    torch.manual_seed(0)
    cfg = MoEConfig(initializer_range=0.1, eos_token_id=None, hidden_size=256, moe_intermediate_size=128,
                    intermediate_size=512, kv_lora_rank=128, q_lora_rank=256, **over)
    return DeepseekMoEModel(cfg).to("cuda", dtype).eval()


def test_moe_gpu_dispatch_methods_agree():
    m = _model(torch.float32)
    ids = torch.randint(0, 256, (2, 40), device="cuda")
    outs = {}
    for method in ("loop", "sorted", "grouped_mm"):
        m.set_dispatch(method)
        with torch.no_grad():
            outs[method] = m(ids)
    for method in ("sorted", "grouped_mm"):
        torch.testing.assert_close(outs[method], outs["loop"], atol=2e-4, rtol=0)


def test_moe_gpu_graph_decode_matches_eager():
    m = _model()
    prompt = [[3, 9, 27, 81], [5, 25]]
    eager = generate(m, prompt, 24, cuda_graph=False)
    graphed = generate(m, prompt, 24, cuda_graph=True)
    again = generate(m, prompt, 24, cuda_graph=True)  # replays the captured graph
    assert torch.equal(graphed, again)
    # bf16 eager vs graph differ only in attention length (masked full cache): allow rare late flips
    assert (graphed == eager).float().mean() > 0.9


def test_moe_gpu_fp8_close_to_bf16():
    m = _model(first_k_dense_replace=3)
    ids = torch.randint(0, 256, (2, 32), device="cuda")
    with torch.no_grad():
        ref = m(ids).float()
        quantize_model(m)
        got = m(ids).float()
    assert (got - ref).norm() / ref.norm() < 0.2


def test_moe_gpu_fp8_row_kernel_matches_dequantised():
    pytest.importorskip("triton")
    from rootspan.agents.moe.fp8 import dequantize_blocks, quantize_blocks
    from rootspan.agents.moe.fp8_triton import fp8_rows

    torch.manual_seed(0)
    w = torch.randn(3, 2 * 96, 160, device="cuda") * 0.05  # 3 experts, fused gate_up, I = 96
    qs, ss, deq = [], [], []
    for e in range(3):
        (gq, gs), (uq, us) = quantize_blocks(w[e, :96]), quantize_blocks(w[e, 96:])
        qs.append(torch.cat((gq, uq)))
        ss.append(torch.cat((gs, us)))
        deq.append(torch.cat((dequantize_blocks(gq, gs, torch.float32), dequantize_blocks(uq, us, torch.float32))))
    x = torch.randn(5, 160, device="cuda")
    expert = torch.tensor([2, 0, 1, 1, 2], device="cuda", dtype=torch.int32)
    want = torch.stack([deq[int(e)] @ x[i] for i, e in enumerate(expert)])
    got = fp8_rows(x, torch.stack(qs), torch.stack(ss), expert, split=96)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
