"""FP8 block-quantised checkpoints: exact format plumbing, and the accuracy cost against bf16.

Stated tolerance: e4m3 with 128x128 block scales keeps each weight within ~3% (relative L2) and
each projection's output within 5%; on a 3-layer random dense model the logits stay within 20%
relative L2 of the bf16 model (about 12% measured; random deep nets amplify weight noise)."""

from __future__ import annotations

import pytest
import torch

from rootspan.agents.moe import MoEConfig, load_checkpoint, quantize_checkpoint, write_random_checkpoint
from rootspan.agents.moe.fp8 import FP8Experts, FP8Linear, dequantize_blocks, quantize_blocks
from rootspan.errors import UserError


def _ids() -> torch.Tensor:
    return torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(0))


def test_moe_block_quantisation_round_trip():
    w = torch.randn(300, 200) * 0.05  # not a multiple of 128: partial edge blocks
    q, s = quantize_blocks(w)
    assert q.dtype == torch.float8_e4m3fn and s.shape == (3, 2)
    err = (dequantize_blocks(q, s, torch.float32) - w).norm() / w.norm()
    assert err < 0.03
    x = torch.randn(8, 200)
    y, y_q = x @ w.T, x @ dequantize_blocks(q, s, torch.float32).T
    assert (y_q - y).norm() / y.norm() < 0.05


def test_moe_fp8_checkpoint_equals_dequantised_model(tmp_path):
    cfg = MoEConfig(num_nextn_predict_layers=1, initializer_range=0.1)
    write_random_checkpoint(tmp_path / "bf", cfg)
    quantize_checkpoint(tmp_path / "bf", tmp_path / "fp8")
    fp8 = load_checkpoint(tmp_path / "fp8")
    assert any(isinstance(m, FP8Linear) for m in fp8.modules())
    assert any(isinstance(m, FP8Experts) for m in fp8.modules())
    assert fp8.mtp[0].eh_proj.weight.dtype == torch.float8_e4m3fn
    # The same model with every FP8 weight replaced by its dequantised value, in plain modules.
    dense = load_checkpoint(tmp_path / "bf")
    state = dense.state_dict()
    for name, m in fp8.named_modules():
        if isinstance(m, FP8Linear):
            state[f"{name}.weight"] = m.dense_weight()
        elif isinstance(m, FP8Experts):
            state[f"{name}.gate_up_proj"], state[f"{name}.down_proj"] = m.weights()
    dense.load_state_dict(state)
    with torch.no_grad():
        torch.testing.assert_close(fp8(_ids()), dense(_ids()), atol=1e-5, rtol=0)
    with pytest.raises(UserError, match="already an FP8 checkpoint"):
        quantize_checkpoint(tmp_path / "fp8", tmp_path / "again")


def test_moe_fp8_logits_within_tolerance_of_bf16(tmp_path):
    cfg = MoEConfig(first_k_dense_replace=3, hidden_size=256, intermediate_size=384, kv_lora_rank=128,
                    q_lora_rank=192, initializer_range=0.05)
    write_random_checkpoint(tmp_path / "bf", cfg, dtype=torch.bfloat16)
    quantize_checkpoint(tmp_path / "bf", tmp_path / "fp8")
    with torch.no_grad():
        ref = load_checkpoint(tmp_path / "bf", dtype=torch.bfloat16)(_ids()).float()
        got = load_checkpoint(tmp_path / "fp8", dtype=torch.bfloat16)(_ids()).float()
    assert (got - ref).norm() / ref.norm() < 0.2
