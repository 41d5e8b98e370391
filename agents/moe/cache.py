"""MLA's static latent KV cache: kv_lora_rank + qk_rope_head_dim values per token per layer, preallocated."""

from __future__ import annotations

import torch


class LatentCache:
    """Fixed-size cache so decode shapes never change (what CUDA graphs need).

    Slot t of sequence b holds the compressed latent and the rotated rope key of the token that
    sits at column t of the (left-padded) batch. ``pad`` is the number of left-pad slots per
    sequence: those slots are never attended and rope positions start after them.
    """

    def __init__(
        self,
        num_layers: int,
        batch: int,
        max_len: int,
        kv_lora_rank: int,
        rope_dim: int,
        device: torch.device | str,
        dtype: torch.dtype,
    ) -> None:
        self.max_len = max_len
        self.latent = torch.zeros(num_layers, batch, max_len, kv_lora_rank, device=device, dtype=dtype)
        self.rope = torch.zeros(num_layers, batch, max_len, rope_dim, device=device, dtype=dtype)
        self.pad = torch.zeros(batch, dtype=torch.long, device=device)
        self.slots = torch.arange(max_len, device=device)

    @property
    def batch(self) -> int:
        return self.latent.shape[1]

    def nbytes(self) -> int:
        return self.latent.numel() * self.latent.element_size() + self.rope.numel() * self.rope.element_size()

    def write(self, layer: int, start: torch.Tensor | int, latent: torch.Tensor, rope: torch.Tensor) -> None:
        """Store (batch, seq, ...) entries at slots start..start+seq; start may be a 0-d device tensor."""
        seq = latent.shape[1]
        if isinstance(start, int):
            self.latent[layer, :, start : start + seq] = latent
            self.rope[layer, :, start : start + seq] = rope
        else:
            idx = start + torch.arange(seq, device=latent.device)
            self.latent[layer].index_copy_(1, idx, latent)
            self.rope[layer].index_copy_(1, idx, rope)

    def mask(self, query_slots: torch.Tensor, kv_len: int) -> torch.Tensor:
        """Boolean (batch, 1, seq, kv_len) mask: causal, no left padding; a pad query sees itself
        so its (discarded) row never becomes NaN."""
        keys = self.slots[:kv_len]
        q = query_slots[:, :, None]  # (batch, seq, 1)
        causal = (keys[None, None, :] <= q) & (keys[None, None, :] >= self.pad[:, None, None])
        return (causal | (keys[None, None, :] == q))[:, None]
