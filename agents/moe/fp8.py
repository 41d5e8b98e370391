"""FP8 weights in DeepSeek-V3's checkpoint format: float8_e4m3fn with one fp32 scale per 128x128
block (`weight_scale_inv`, multiply to dequantise). On sm90 dense projections run a real FP8 GEMM
(F.scaled_mm, activations quantised per token per 128 channels); elsewhere weights are
dequantised to the compute dtype on the fly. Also the quantiser behind `rootspan moe quantize`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rootspan.errors import UserError

BLOCK = 128
FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0
# Projections that DeepSeek stores in FP8; embeddings, norms, the router and the LM head stay high precision.
_QUANTISED = re.compile(
    r"(self_attn\.(q_proj|q_a_proj|q_b_proj|kv_a_proj_with_mqa|kv_b_proj|o_proj)"
    r"|mlp\.(gate_proj|up_proj|down_proj)|shared_experts\.(gate_proj|up_proj|down_proj)|eh_proj)\.weight$"
)


def quantize_blocks(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, in) weight -> (fp8 weight, fp32 scale_inv of shape (ceil(out/128), ceil(in/128)))."""
    out_f, in_f = w.shape
    rows, cols = -(-out_f // BLOCK), -(-in_f // BLOCK)
    padded = torch.zeros(rows * BLOCK, cols * BLOCK, dtype=torch.float32, device=w.device)
    padded[:out_f, :in_f] = w.float()
    blocks = padded.view(rows, BLOCK, cols, BLOCK)
    scale_inv = (blocks.abs().amax(dim=(1, 3)) / FP8_MAX).clamp(min=1e-12)
    q = (blocks / scale_inv[:, None, :, None]).clamp(-FP8_MAX, FP8_MAX).to(FP8)
    return q.view(rows * BLOCK, cols * BLOCK)[:out_f, :in_f].contiguous(), scale_inv


def dequantize_blocks(q: torch.Tensor, scale_inv: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Inverse of quantize_blocks: each 128x128 block times its scale, in `dtype`."""
    out_f, in_f = q.shape
    scale = scale_inv.repeat_interleave(BLOCK, 0)[:out_f].repeat_interleave(BLOCK, 1)[:, :in_f]
    return (q.float() * scale).to(dtype)


def _act_quant(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per token, per 128 channels (DeepSeek's activation scheme): (M, K) -> fp8, scales (M, K/128)."""
    m, k = x.shape
    blocks = x.float().view(m, k // BLOCK, BLOCK)
    scale = (blocks.abs().amax(dim=-1) / FP8_MAX).clamp(min=1e-12)
    return (blocks / scale[..., None]).to(FP8).view(m, k), scale


_SCALED_MM_OK: dict[tuple[int, int], bool] = {}
# Up to this many rows (tokens, or token-expert pairs) use the Triton row kernel on CUDA.
ROW_KERNEL_MAX_ROWS = 256
_TRITON: list[object] = []


def _row_kernel():  # -> fp8_rows or None
    """The Triton FP8 row kernel, or None where triton is missing (imported once)."""
    if not _TRITON:
        try:
            from rootspan.agents.moe.fp8_triton import fp8_rows

            _TRITON.append(fp8_rows)
        except ImportError:
            _TRITON.append(None)
    return _TRITON[0]


def _use_row_kernel(x: torch.Tensor, rows: int):
    if not x.is_cuda or rows > ROW_KERNEL_MAX_ROWS:
        return None
    return _row_kernel()


def _fp8_gemm(x: torch.Tensor, q: torch.Tensor, scale_inv: torch.Tensor) -> torch.Tensor:
    """x (M, K) bf16 @ dequant(q).T via block-scaled FP8 GEMM (sm90, torch with F.scaled_mm)."""
    xq, xs = _act_quant(x)
    return F.scaled_mm(
        xq,
        q.t(),
        xs.t().contiguous().t(),  # 1x128 scales must be outer-dim-major
        F.ScalingType.BlockWise1x128,
        scale_inv.t(),
        F.ScalingType.BlockWise128x128,
        output_dtype=x.dtype,
    )


def _gemm_usable(q: torch.Tensor, scale_inv: torch.Tensor, dtype: torch.dtype) -> bool:
    """Checked once per weight shape on the device against the dequantised product: the kernel
    exists only for some GPUs, torch builds and shapes, so trust it only where it agrees."""
    if q.device.type != "cuda" or dtype != torch.bfloat16 or not hasattr(F, "scaled_mm"):
        return False
    if q.shape[0] % BLOCK or q.shape[1] % BLOCK:
        return False
    key = tuple(q.shape)
    if key not in _SCALED_MM_OK:
        try:
            x = torch.randn(16, q.shape[1], device=q.device, dtype=dtype)
            got = _fp8_gemm(x, q, scale_inv).float()
            want = F.linear(x, dequantize_blocks(q, scale_inv, dtype)).float()
            ok = bool(((got - want).norm() / want.norm().clamp(min=1e-6)) < 0.05)
        except (RuntimeError, NotImplementedError, TypeError, AttributeError, ValueError):
            ok = False
        _SCALED_MM_OK[key] = ok
    return _SCALED_MM_OK[key]


class FP8Linear(nn.Module):
    """A bias-free linear layer holding an FP8 weight and its block scales."""

    def __init__(self, in_features: int, out_features: int, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=FP8), requires_grad=False)
        self.register_buffer("weight_scale_inv", torch.ones(-(-out_features // BLOCK), -(-in_features // BLOCK)))
        self.compute_dtype = dtype

    def dense_weight(self) -> torch.Tensor:
        return dequantize_blocks(self.weight, self.weight_scale_inv, self.compute_dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        kernel = _use_row_kernel(x, flat.shape[0])
        if kernel is not None:  # decode: read the FP8 weight directly
            return kernel(flat, self.weight, self.weight_scale_inv).view(*shape[:-1], -1)
        if x.is_cuda and _gemm_usable(self.weight, self.weight_scale_inv, x.dtype):
            return _fp8_gemm(flat, self.weight, self.weight_scale_inv).view(*shape[:-1], -1)
        return F.linear(x, self.dense_weight().to(x.dtype))


class FP8Experts(nn.Module):
    """Fused routed experts in FP8. Scales follow the per-expert checkpoint layout: gate_up's
    scale is gate's block rows stacked over up's, so the two halves dequantise separately."""

    def __init__(self, num_experts: int, hidden: int, inter: int, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        self.inter = inter
        self.gate_up_proj = nn.Parameter(torch.empty(num_experts, 2 * inter, hidden, dtype=FP8), requires_grad=False)
        self.down_proj = nn.Parameter(torch.empty(num_experts, hidden, inter, dtype=FP8), requires_grad=False)
        rows_i, cols_h = -(-inter // BLOCK), -(-hidden // BLOCK)
        self.register_buffer("gate_up_proj_scale_inv", torch.ones(num_experts, 2 * rows_i, cols_h))
        self.register_buffer("down_proj_scale_inv", torch.ones(num_experts, -(-hidden // BLOCK), -(-inter // BLOCK)))
        self.compute_dtype = dtype

    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Dequantised (E, 2I, H) and (E, H, I): the prefill/CPU path; it re-reads all experts each
        call (a fused FP8 grouped GEMM for many-token inputs is still missing)."""
        gu_q, gu_s = self.gate_up_proj, self.gate_up_proj_scale_inv
        half = gu_s.shape[1] // 2
        deq = lambda q, s: _dequant_stack(q, s, self.compute_dtype)  # noqa: E731
        gate = deq(gu_q[:, : self.inter], gu_s[:, :half])
        up = deq(gu_q[:, self.inter :], gu_s[:, half:])
        return torch.cat((gate, up), dim=1), deq(self.down_proj, self.down_proj_scale_inv)

    def forward(self, x: torch.Tensor, idx: torch.Tensor, weights: torch.Tensor, method: str) -> torch.Tensor:
        """Decode on CUDA: one FP8 row product per token-expert pair, only the chosen experts'
        bytes are read. Otherwise dequantise and dispatch like the dense experts."""
        from rootspan.agents.moe.dispatch import resolve_method, run_experts

        n, k = idx.shape
        kernel = _use_row_kernel(x, n * k)
        if kernel is not None:
            rows = x.repeat_interleave(k, dim=0)
            expert = idx.reshape(-1)
            h = kernel(rows, self.gate_up_proj, self.gate_up_proj_scale_inv, expert, split=self.inter)
            gate, up = h.chunk(2, dim=-1)
            y = kernel((F.silu(gate) * up).contiguous(), self.down_proj, self.down_proj_scale_inv, expert)
            return torch.bmm(weights.unsqueeze(1).to(y.dtype), y.view(n, k, -1)).squeeze(1)
        gate_up, down = self.weights()
        return run_experts(x, idx, weights, gate_up, down, resolve_method(method, x.device, gate_up.dtype))


def _dequant_stack(q: torch.Tensor, s: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    e, out_f, in_f = q.shape
    scale = s.repeat_interleave(BLOCK, 1)[:, :out_f].repeat_interleave(BLOCK, 2)[:, :, :in_f]
    return (q.float() * scale).to(dtype)


# ---- loader integration ------------------------------------------------------------------------

def is_fp8_checkpoint(src: object) -> bool:
    return any(n.endswith("weight_scale_inv") for n in src.names())  # type: ignore[attr-defined]


def convert_to_fp8_layout(
    model: nn.Module, has_tensor: Callable[[str], bool], dtype: torch.dtype = torch.bfloat16
) -> None:
    """Swap a projection or expert block for its FP8 module wherever the checkpoint has its
    scales (model still on meta). has_tensor answers for our parameter names."""
    from rootspan.agents.moe.moe import Experts

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Linear) and has_tensor(f"{full}.weight_scale_inv"):
                setattr(module, child_name, FP8Linear(child.in_features, child.out_features, dtype))
            elif isinstance(child, Experts) and (
                has_tensor(f"{full}.gate_up_proj_scale_inv") or has_tensor(f"{full}.0.gate_proj.weight_scale_inv")
            ):
                e, two_i, h = child.gate_up_proj.shape
                setattr(module, child_name, FP8Experts(e, h, two_i // 2, dtype))


# Routing runs in fp32 (as in HF and DeepSeek's code); storing its two small tensors in fp32
# saves a cast per layer per step.
_FP32_TENSORS = ("e_score_correction_bias", "mlp.gate.weight")


def load_tensor_hook(
    name: str, t: torch.Tensor, current: torch.Tensor, device: torch.device | str, dtype: torch.dtype
) -> torch.Tensor:
    """Cast a checkpoint tensor for its slot: FP8 weights and all scales keep their dtype, the
    router stays fp32, everything else goes to the compute dtype."""
    if current.dtype == FP8 or name.endswith("scale_inv") or name.endswith(_FP32_TENSORS):
        keep = FP8 if current.dtype == FP8 else torch.float32
        return t.to(device=device, dtype=keep)
    return t.to(device=device, dtype=dtype)


def quantize_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Read a bf16/fp32 checkpoint directory, write the same model with FP8 block-quantised
    projections and experts (DeepSeek's format) to dst."""
    from rootspan.agents.moe.checkpoint import load_checkpoint, save_checkpoint

    model = load_checkpoint(src, dtype=torch.float32)
    if any(isinstance(m, (FP8Linear, FP8Experts)) for m in model.modules()):
        raise UserError(f"{src} is already an FP8 checkpoint")
    quantize_model(model)
    return save_checkpoint(model, dst)


@torch.no_grad()
def quantize_model(model: nn.Module, dtype: torch.dtype = torch.bfloat16) -> nn.Module:
    """In place: replace quantisable projections and experts with FP8 modules."""
    from rootspan.agents.moe.moe import Experts

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Linear) and _QUANTISED.search(full + ".weight"):
                new = FP8Linear(child.in_features, child.out_features, dtype).to(child.weight.device)
                q, s = quantize_blocks(child.weight)
                new.weight.data = q
                new.weight_scale_inv = s
                setattr(module, child_name, new)
            elif isinstance(child, Experts):
                e, two_i, h = child.gate_up_proj.shape
                new_e = FP8Experts(e, h, two_i // 2, dtype).to(child.gate_up_proj.device)
                gate_up, down = child.gate_up_proj, child.down_proj
                gq, gs, dq, ds = [], [], [], []
                for i in range(e):
                    g, u = gate_up[i].chunk(2, dim=0)
                    (g_q, g_s), (u_q, u_s) = quantize_blocks(g), quantize_blocks(u)
                    gq.append(torch.cat((g_q, u_q)))
                    gs.append(torch.cat((g_s, u_s)))
                    d_q, d_s = quantize_blocks(down[i])
                    dq.append(d_q)
                    ds.append(d_s)
                new_e.gate_up_proj.data = torch.stack(gq)
                new_e.gate_up_proj_scale_inv = torch.stack(gs)
                new_e.down_proj.data = torch.stack(dq)
                new_e.down_proj_scale_inv = torch.stack(ds)
                setattr(module, child_name, new_e)
    return model
