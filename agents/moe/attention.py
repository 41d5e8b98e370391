"""Multi-head Latent Attention (MLA): a naive path that expands the latent into per-head K/V
(prefill, training) and an absorbed path that attends in the latent space (decode).

The cache stores only the normalised latent c (kv_lora_rank) and the rotated shared rope key
(qk_rope_head_dim). The absorbed path folds kv_b_proj's key half into the query and its value
half into the output, so a decode step reads kv_lora_rank + rope dims per cached token instead of
num_heads * (nope + rope + v).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rootspan.agents.moe.cache import LatentCache
from rootspan.agents.moe.config import MoEConfig
from rootspan.agents.moe.rope import RotaryEmbedding, yarn_mscale


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in fp32, scale by the weight after casting back (HF/DeepSeek's order); one
        # fused kernel instead of six small ones, which matters for decode latency.
        if x.dtype == torch.float32 or x.is_cuda:
            # One kernel; for bf16 on GPU the weight is applied before the final rounding (HF
            # applies it after), a last-bit difference that saves three kernels per norm.
            return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)
        return self.weight * F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps).to(x.dtype)


def dense_weight(linear: nn.Module) -> torch.Tensor:
    """The weight in compute dtype, whether the module is nn.Linear or an FP8 linear. An FP8
    weight is dequantised once and kept (it is frozen), so decode does not redo it every step."""
    get = getattr(linear, "dense_weight", None)
    if get is None:
        return linear.weight
    key = (linear.weight.data_ptr(), linear.weight_scale_inv.data_ptr(), linear.compute_dtype)
    cached = linear.__dict__.get("_dense_cache")
    if cached is None or cached[0] != key:
        cached = (key, get())
        linear.__dict__["_dense_cache"] = cached
    return cached[1]


class MLA(nn.Module):
    def __init__(self, config: MoEConfig, rotary: RotaryEmbedding) -> None:
        super().__init__()
        c = config
        self.config = c
        self.rotary = [rotary]  # shared with the model; a list keeps it out of this module's state_dict
        self.num_heads = c.num_attention_heads
        h, nh = c.hidden_size, c.num_attention_heads
        if c.q_lora_rank is None:
            self.q_proj = nn.Linear(h, nh * c.qk_head_dim, bias=False)
        else:
            self.q_a_proj = nn.Linear(h, c.q_lora_rank, bias=False)
            self.q_a_layernorm = RMSNorm(c.q_lora_rank)
            self.q_b_proj = nn.Linear(c.q_lora_rank, nh * c.qk_head_dim, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(h, c.kv_lora_rank + c.qk_rope_head_dim, bias=False)
        self.kv_a_layernorm = RMSNorm(c.kv_lora_rank)
        self.kv_b_proj = nn.Linear(c.kv_lora_rank, nh * (c.qk_nope_head_dim + c.v_head_dim), bias=False)
        self.o_proj = nn.Linear(nh * c.v_head_dim, h, bias=False)
        self.scale = c.qk_head_dim**-0.5
        scaling = c.rope_scaling or {}
        if scaling.get("mscale_all_dim"):
            self.scale *= yarn_mscale(float(scaling["factor"]), float(scaling["mscale_all_dim"])) ** 2
        self.path: str | None = None  # None = config.attention

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor | None,
        cache: LatentCache | None = None,
        layer: int = 0,
        start: torch.Tensor | int = 0,
        mask: torch.Tensor | None = None,
        kv_len: int | None = None,
    ) -> torch.Tensor:
        """x (B, S, H). Without a cache: causal attention over x (mask, if given, replaces causal).
        With one: write this chunk at slot start, attend over slots [0, kv_len) under mask."""
        c = self.config
        b, s, _ = x.shape
        rotary = self.rotary[0]
        if c.q_lora_rank is None:
            q = self.q_proj(x)
        else:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(b, s, self.num_heads, c.qk_head_dim)
        q_nope, q_rope = q.split([c.qk_nope_head_dim, c.qk_rope_head_dim], dim=-1)
        latent, k_rope = self.kv_a_proj_with_mqa(x).split([c.kv_lora_rank, c.qk_rope_head_dim], dim=-1)
        latent = self.kv_a_layernorm(latent)
        # Rotate the query heads and the shared key as one tensor: half the small ops.
        rotated = rotary.apply(torch.cat((q_rope, k_rope.unsqueeze(2)), dim=2), cos, sin)
        q_rope, k_rope = rotated.split([self.num_heads, 1], dim=2)
        kv = torch.cat((latent, k_rope.squeeze(2)), dim=-1)  # (B, S, r + rope): what the cache holds
        if cache is not None:
            cache.write(layer, start, kv)
            kv = cache.read(layer, kv_len or cache.max_len)
        path = self.path or c.attention
        if path == "auto":
            path = "absorbed" if s == 1 else "naive"
        if path == "naive":
            out = self._naive(q_nope, q_rope, kv, mask)
        else:
            out = self._absorbed(q_nope, q_rope, kv, mask)
        return self.o_proj(out.reshape(b, s, -1))

    def _naive(self, q_nope: torch.Tensor, q_rope: torch.Tensor, kv: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        c = self.config
        b, t = kv.shape[:2]
        latent, k_rope = kv.split([c.kv_lora_rank, c.qk_rope_head_dim], dim=-1)
        kv = self.kv_b_proj(latent).view(b, t, self.num_heads, c.qk_nope_head_dim + c.v_head_dim)
        k_nope, v = kv.split([c.qk_nope_head_dim, c.v_head_dim], dim=-1)
        k = torch.cat((k_nope, k_rope.unsqueeze(2).expand(-1, -1, self.num_heads, -1)), dim=-1)
        q = torch.cat((q_nope, q_rope), dim=-1)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2),
            k.transpose(1, 2),
            v.transpose(1, 2),
            attn_mask=mask,
            is_causal=mask is None and q.shape[1] > 1,
            scale=self.scale,
        )
        return out.transpose(1, 2)

    def _absorbed(self, q_nope: torch.Tensor, q_rope: torch.Tensor, kv: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        c = self.config
        b, s, nh, _ = q_nope.shape
        t = kv.shape[1]
        w = dense_weight(self.kv_b_proj).view(nh, c.qk_nope_head_dim + c.v_head_dim, c.kv_lora_rank)
        w_uk, w_uv = w.split([c.qk_nope_head_dim, c.v_head_dim], dim=1)
        # (B, nh, S, nope) @ (nh, nope, r) -> (B, nh, S, r): the query in latent space.
        q_lat = torch.matmul(q_nope.transpose(1, 2), w_uk)
        q = torch.cat((q_lat, q_rope.transpose(1, 2)), dim=-1)
        # All heads share one latent key/value, so fold heads into the query rows: one
        # (nh*S) x T attention per sequence, and the cache is read once, never expanded per head.
        q = q.reshape(b, 1, nh * s, -1)
        k = kv.unsqueeze(1)  # (B, 1, T, r + rope): the cache rows as they are
        if mask is None and s > 1:
            mask = torch.ones(s, t, dtype=torch.bool, device=q.device).tril(t - s)[None, None]
        if mask is not None and s > 1:
            mask = mask.unsqueeze(2).expand(mask.shape[0], 1, nh, s, t).reshape(mask.shape[0], 1, nh * s, t)
        out_lat = F.scaled_dot_product_attention(q, k, k[..., : c.kv_lora_rank], attn_mask=mask, scale=self.scale)
        # (B, nh, S, r) @ (nh, r, v) -> (B, nh, S, v): back out of latent space per head.
        return torch.matmul(out_lat.view(b, nh, s, -1), w_uv.transpose(1, 2)).transpose(1, 2)
