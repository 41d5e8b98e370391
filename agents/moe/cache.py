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
        self.kv_lora_rank = kv_lora_rank
        # Latent and rope key side by side: the absorbed attention's key is a plain slice of the
        # cache (no per-step concatenation) and its value is the latent part of the same rows.
        self.kv = torch.zeros(num_layers, batch, max_len, kv_lora_rank + rope_dim, device=device, dtype=dtype)
        self.pad = torch.zeros(batch, dtype=torch.long, device=device)
        self.slots = torch.arange(max_len, device=device)

    def nbytes(self) -> int:
        return self.kv.numel() * self.kv.element_size()

    def write(self, layer: int, start: torch.Tensor | int, entries: torch.Tensor) -> None:
        """Store (batch, seq, kv_lora_rank + rope) entries at slots start..start+seq; start may
        be a 0-d device tensor (CUDA graphs)."""
        seq = entries.shape[1]
        if isinstance(start, int):
            self.kv[layer, :, start : start + seq] = entries
        else:
            self.kv[layer].index_copy_(1, start + torch.arange(seq, device=entries.device), entries)

    def read(self, layer: int, kv_len: int) -> torch.Tensor:
        """(batch, kv_len, kv_lora_rank + rope) view of the first kv_len slots."""
        return self.kv[layer, :, :kv_len]

    def mask(self, query_slots: torch.Tensor, kv_len: int) -> torch.Tensor:
        """Boolean (batch, 1, seq, kv_len) mask: causal, no left padding; a pad query sees itself
        so its (discarded) row never becomes NaN."""
        keys = self.slots[:kv_len]
        q = query_slots[:, :, None]  # (batch, seq, 1)
        causal = (keys[None, None, :] <= q) & (keys[None, None, :] >= self.pad[:, None, None])
        return (causal | (keys[None, None, :] == q))[:, None]
