"""Routed-expert dispatch: send each token to its top-k experts and combine the weighted outputs.

Three ways to do the same sum, picked per device/dtype (config.dispatch or an argument overrides):
- ``grouped_mm``: sort token copies by expert and run one grouped GEMM per projection; no host
  sync, so it is the only method usable inside a CUDA graph.
- ``sorted``: the same sort, then one matmul per non-empty expert segment (needs the segment
  sizes on the host); the fallback where grouped GEMMs are missing.
- ``loop``: DeepSeek's reference per-expert loop, kept as the readable oracle.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_GROUPED_OK: dict[tuple[str, torch.dtype], bool] = {}


def grouped_mm_available(device: torch.device, dtype: torch.dtype) -> bool:
    """Probe once per (device type, dtype) with a tiny call: support differs by torch build and GPU."""
    key = (device.type, dtype)
    if key not in _GROUPED_OK:
        fn = getattr(F, "grouped_mm", None) or getattr(torch, "_grouped_mm", None)
        ok = fn is not None
        if ok:
            try:
                a = torch.ones(16, 16, device=device, dtype=dtype)
                b = torch.ones(2, 16, 16, device=device, dtype=dtype)
                offs = torch.tensor([8, 16], device=device, dtype=torch.int32)
                fn(a, b.transpose(-2, -1), offs=offs)
            except (RuntimeError, NotImplementedError, TypeError):
                ok = False
        _GROUPED_OK[key] = ok
    return _GROUPED_OK[key]


def resolve_method(method: str, device: torch.device, dtype: torch.dtype) -> str:
    if method == "auto":
        return "grouped_mm" if grouped_mm_available(device, dtype) else "sorted"
    if method == "grouped_mm" and not grouped_mm_available(device, dtype):
        return "sorted"
    return method


def _grouped(a: torch.Tensor, w: torch.Tensor, offs: torch.Tensor) -> torch.Tensor:
    fn = getattr(F, "grouped_mm", None) or torch._grouped_mm
    return fn(a, w.transpose(-2, -1), offs=offs)


def _swiglu(h: torch.Tensor) -> torch.Tensor:
    gate, up = h.chunk(2, dim=-1)
    return F.silu(gate) * up


def _combine(y_sorted: torch.Tensor, order: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Unsort the expert outputs and sum each token's k copies in a fixed order (deterministic,
    no atomics)."""
    n, k = weights.shape
    # Gather through the inverse permutation: a row gather is much cheaper than a scatter
    # (index_put) on CPU, and needs no atomics on GPU. The weighted sum of a token's k rows is
    # one (1 x k) @ (k x H) product per token.
    y = y_sorted.index_select(0, torch.argsort(order)).view(n, k, -1)
    return torch.bmm(weights.unsqueeze(1).to(y.dtype), y).squeeze(1)


def run_experts(
    x: torch.Tensor,
    topk_idx: torch.Tensor,
    topk_w: torch.Tensor,
    gate_up: torch.Tensor,
    down: torch.Tensor,
    method: str,
) -> torch.Tensor:
    """x (N, H), topk_idx/topk_w (N, k), gate_up (E, 2I, H), down (E, H, I) -> (N, H)."""
    num_experts = gate_up.shape[0]
    if method == "loop":
        return _loop(x, topk_idx, topk_w, gate_up, down)
    flat = topk_idx.reshape(-1)
    sorted_ids, order = torch.sort(flat, stable=True)
    xs = x[order // topk_idx.shape[1]]
    if method == "grouped_mm":
        # Group ends straight from the sorted expert ids; bincount would read its maximum on
        # the host on CUDA.
        experts = torch.arange(num_experts, device=x.device, dtype=sorted_ids.dtype)
        offs = torch.searchsorted(sorted_ids, experts, right=True, out_int32=True)
        h = _swiglu(_grouped(xs, gate_up, offs))
        ys = _grouped(h, down, offs)
    elif method == "sorted":
        counts_host = torch.bincount(flat, minlength=num_experts).tolist()
        outs = []
        for e, seg in enumerate(torch.split(xs, counts_host)):
            if seg.shape[0]:
                outs.append(F.linear(_swiglu(F.linear(seg, gate_up[e])), down[e]))
        ys = torch.cat(outs)
    else:
        raise ValueError(f"unknown dispatch method {method!r}")
    return _combine(ys, order, topk_w)


def _loop(
    x: torch.Tensor, topk_idx: torch.Tensor, topk_w: torch.Tensor, gate_up: torch.Tensor, down: torch.Tensor
) -> torch.Tensor:
    out = torch.zeros_like(x)
    for e in range(gate_up.shape[0]):
        token, slot = torch.nonzero(topk_idx == e, as_tuple=True)
        if token.numel() == 0:
            continue
        y = F.linear(_swiglu(F.linear(x[token], gate_up[e])), down[e])
        out.index_add_(0, token, y * topk_w[token, slot, None].to(y.dtype))
    return out
