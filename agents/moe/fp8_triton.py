"""Triton kernel for decode-time FP8 products: each output row is one token (or token-expert pair)
times an FP8 weight matrix with 128x128 block scales, read at one byte per weight and scaled in
registers. Dequantising whole experts first would move three times the bytes of bf16 weights.

Used on CUDA for a few rows at a time (decode); prefill-sized inputs take the dense paths in fp8.py.
Importing this module needs triton (shipped with CUDA builds of torch).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK_K = 128  # = the scale block, so each K step multiplies by one scale per 128 output rows


@triton.jit
def _fp8_rows_kernel(
    x_ptr, w_ptr, s_ptr, e_ptr, out_ptr,
    N, K, SN, SK, SPLIT, SPLIT_ROWS,
    BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    row = tl.program_id(0)
    offs_n = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_n = offs_n < N
    expert = tl.load(e_ptr + row).to(tl.int64)
    # Scale row of each output row; a fused gate_up matrix restarts its block rows at SPLIT.
    s_row = tl.where(offs_n < SPLIT, offs_n // 128, SPLIT_ROWS + (offs_n - SPLIT) // 128)
    w_base = w_ptr + expert * N * K
    s_base = s_ptr + expert * SN * SK
    acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for kb in range(0, tl.cdiv(K, BLOCK_K)):
        offs_k = kb * BLOCK_K + tl.arange(0, BLOCK_K)
        mask_k = offs_k < K
        x = tl.load(x_ptr + row * K + offs_k, mask=mask_k, other=0.0).to(tl.float32)
        w = tl.load(
            w_base + offs_n[:, None] * K + offs_k[None, :], mask=mask_n[:, None] & mask_k[None, :], other=0.0
        ).to(tl.float32)
        scale = tl.load(s_base + s_row * SK + kb, mask=mask_n, other=0.0)
        acc += tl.sum(w * x[None, :], axis=1) * scale
    tl.store(out_ptr + row * N + offs_n, acc.to(out_ptr.dtype.element_ty), mask=mask_n)


def fp8_rows(
    x: torch.Tensor,
    weight: torch.Tensor,
    scale_inv: torch.Tensor,
    expert: torch.Tensor | None = None,
    split: int | None = None,
) -> torch.Tensor:
    """out[t] = x[t] @ dequant(weight[expert[t]]).T

    x (T, K); weight (E, N, K) or (N, K) float8_e4m3fn; scale_inv (E, SN, SK) or (SN, SK) fp32;
    expert (T,) integer expert per row (all 0 if None); split: for a fused gate_up matrix, the
    row where the up half (with its own scale block rows) starts."""
    if weight.dim() == 2:
        weight, scale_inv = weight.unsqueeze(0), scale_inv.unsqueeze(0)
    t, k = x.shape
    _, n, _ = weight.shape
    sn, sk = scale_inv.shape[1:]
    if expert is None:
        expert = torch.zeros(t, dtype=torch.int32, device=x.device)
    split = n if split is None else split
    out = torch.empty(t, n, device=x.device, dtype=x.dtype)
    block_n = 64
    _fp8_rows_kernel[(t, triton.cdiv(n, block_n))](
        x.contiguous(), weight, scale_inv.contiguous(), expert.contiguous(), out,
        n, k, sn, sk, split, -(-split // 128),
        BLOCK_N=block_n, BLOCK_K=BLOCK_K,
    )
    return out
