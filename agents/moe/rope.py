"""Rotary position embedding for MLA's decoupled rope dims: plain RoPE or YaRN (DeepSeek's long-context scaling)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def yarn_mscale(factor: float, mscale: float = 1.0) -> float:
    """YaRN's magnitude correction; DeepSeek also squares it into the softmax scale."""
    if factor <= 1:
        return 1.0
    return 0.1 * mscale * math.log(factor) + 1.0


def _yarn_inv_freq(dim: int, base: float, scaling: dict[str, Any], max_pos: int) -> tuple[torch.Tensor, float]:
    factor = float(scaling["factor"])
    original = int(scaling.get("original_max_position_embeddings", max_pos))
    beta_fast = scaling.get("beta_fast") or 32
    beta_slow = scaling.get("beta_slow") or 1
    mscale = scaling.get("mscale")
    mscale_all_dim = scaling.get("mscale_all_dim")
    attention_factor = scaling.get("attention_factor")
    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all_dim)
        else:
            attention_factor = yarn_mscale(factor)

    def correction_dim(rotations: float) -> float:
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if scaling.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001  # avoid a zero-width ramp
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    pos_freqs = base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    extrapolation = 1.0 / pos_freqs
    interpolation = 1.0 / (factor * pos_freqs)
    keep = 1 - ramp  # 1 = keep the original frequency (high-frequency dims), 0 = interpolate
    return interpolation * (1 - keep) + extrapolation * keep, float(attention_factor)


class RotaryEmbedding(nn.Module):
    """cos/sin for given positions; computed on the fly so CUDA graphs only see a positions tensor."""

    def __init__(self, dim: int, base: float, scaling: dict[str, Any] | None, max_pos: int, interleave: bool) -> None:
        super().__init__()
        if scaling:
            inv_freq, self.attention_factor = _yarn_inv_freq(dim, base, scaling, max_pos)
        else:
            inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
            self.attention_factor = 1.0
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.interleave = interleave

    def forward(
        self, positions: torch.Tensor, dtype: torch.dtype = torch.float32
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """positions (batch, seq) -> tables shaped (batch, seq, 1, dim // 2) to broadcast over heads,
        computed once per forward and shared by every layer. Interleaved: (complex64 cis, None);
        half-split: (cos, sin) in `dtype`."""
        angles = positions[..., None, None].float() * self.inv_freq
        if self.interleave:
            return torch.polar(torch.full_like(angles, self.attention_factor), angles), None
        cos, sin = angles.cos() * self.attention_factor, angles.sin() * self.attention_factor
        return cos.to(dtype), sin.to(dtype)

    def apply(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor | None) -> torch.Tensor:
        """Rotate x (batch, seq, heads, dim) with cos/sin from forward(). DeepSeek pairs dims
        (2i, 2i+1) when interleaved, (i, i + dim/2) otherwise."""
        if self.interleave:
            # Adjacent pairs are complex numbers: one complex multiply instead of six slice-wise ops.
            pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
            return torch.view_as_real(pairs * cos).flatten(-2).to(x.dtype)
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)
