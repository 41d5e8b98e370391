"""The DeepSeek-V2/V3 decoder: embeddings, MLA + (dense or MoE) blocks, final norm, LM head, MTP.

Parameter names mirror HF's (model.layers.N.self_attn.kv_b_proj.weight, ...) so checkpoints map
one to one; the only reshuffle is per-expert tensors <-> the fused 3-D expert tensors.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rootspan.agents.moe.attention import MLA, RMSNorm
from rootspan.agents.moe.cache import LatentCache
from rootspan.agents.moe.config import MoEConfig
from rootspan.agents.moe.moe import MLP, MoE
from rootspan.agents.moe.rope import RotaryEmbedding


class DecoderLayer(nn.Module):
    def __init__(self, config: MoEConfig, index: int, rotary: RotaryEmbedding) -> None:
        super().__init__()
        self.index = index
        self.self_attn = MLA(config, rotary)
        self.mlp: nn.Module = (
            MoE(config) if config.is_moe_layer(index) else MLP(config.hidden_size, config.intermediate_size)
        )
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor | None, **attn: Any) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, layer=self.index, **attn)
        return x + self.mlp(self.post_attention_layernorm(x))


class SharedHeadNorm(nn.Module):
    """Holds MTP's own output norm under DeepSeek's name (shared_head.norm); the head itself is
    the main model's lm_head."""

    def __init__(self, config: MoEConfig) -> None:
        super().__init__()
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class MTPLayer(DecoderLayer):
    """DeepSeek-V3 multi-token prediction depth: combines the main model's hidden state at
    position i with the embedding of token i+1 and predicts token i+2."""

    def __init__(self, config: MoEConfig, index: int, rotary: RotaryEmbedding) -> None:
        super().__init__(config, index, rotary)
        self.enorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.hnorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.eh_proj = nn.Linear(2 * config.hidden_size, config.hidden_size, bias=False)
        self.shared_head = SharedHeadNorm(config)

    def forward_mtp(
        self, hidden: torch.Tensor, next_embeds: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor | None, **attn: Any
    ) -> torch.Tensor:
        """Block output before the shared head's norm (the next depth's input)."""
        x = self.eh_proj(torch.cat((self.enorm(next_embeds), self.hnorm(hidden)), dim=-1))
        return super().forward(x, cos, sin, **attn)

    def head_input(self, out: torch.Tensor) -> torch.Tensor:
        return self.shared_head.norm(out)


class Backbone(nn.Module):
    def __init__(self, config: MoEConfig, rotary: RotaryEmbedding) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config, i, rotary) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class DeepseekMoEModel(nn.Module):
    """model(input_ids) -> logits (batch, seq, vocab): a plain causal forward, differentiable.

    Cached inference goes through ``step`` (see generation.py). Profiling counters are off by
    default and cost nothing then; ``collect_stats(True)`` turns them on, ``moe_stats()`` reads them.
    """

    def __init__(self, config: MoEConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.rotary = RotaryEmbedding(
            c.qk_rope_head_dim, c.rope_theta, c.rope_scaling, c.max_position_embeddings, c.rope_interleave
        )
        self.model = Backbone(c, self.rotary)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.mtp = nn.ModuleList(
            MTPLayer(c, c.num_hidden_layers + k, self.rotary) for k in range(c.num_nextn_predict_layers)
        )
        self._stats_on = False
        self._stats: dict[str, Any] = {}
        if not self.lm_head.weight.is_meta:  # the loader builds on meta and fills weights itself
            init_weights(self, std=c.initializer_range)

    # ---- forward paths -------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Causal forward without a cache. attention_mask (batch, seq) of 1/0 marks left padding."""
        self._begin_stats()
        return self.lm_head(self.hidden_states(input_ids, attention_mask))

    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Final-norm hidden states (batch, seq, hidden): the input of the LM head and of MTP."""
        positions, mask = _positions_and_mask(input_ids, attention_mask)
        cos, sin = self.rotary(positions, self.model.embed_tokens.weight.dtype)
        x = self.model.embed_tokens(input_ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask=mask)
        return self.model.norm(x)

    def step(
        self,
        input_ids: torch.Tensor,
        cache: LatentCache,
        start: torch.Tensor | int,
        kv_len: int | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """Run tokens at cache slots start..start+seq, return final hidden states (B, S, H).

        kv_len=None attends over the whole static cache (fixed shapes, for CUDA graphs);
        an int trims the attention to the slots filled so far (faster in eager mode).
        causal=True promises no left padding and kv_len = start + seq (every filled slot, no
        more): attention then needs no mask tensor (plain causal for a chunk from slot 0, which is
        flash-attention eligible on GPU; all keys for a one-token step)."""
        slots = start + torch.arange(input_ids.shape[1], device=input_ids.device)
        slots = slots.unsqueeze(0).expand(input_ids.shape[0], -1)
        positions = (slots - cache.pad[:, None]).clamp(min=0)
        # sdpa's is_causal aligns queries to the first keys, so a multi-token chunk after slot 0
        # still needs the explicit mask.
        maskless = causal and (input_ids.shape[1] == 1 or (isinstance(start, int) and start == 0))
        mask = None if maskless else cache.mask(slots, kv_len or cache.max_len)
        cos, sin = self.rotary(positions, self.model.embed_tokens.weight.dtype)
        x = self.model.embed_tokens(input_ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, cache=cache, start=start, mask=mask, kv_len=kv_len)
        return self.model.norm(x)

    def mtp_step(
        self,
        hidden: torch.Tensor,
        next_ids: torch.Tensor,
        cache: LatentCache,
        start: torch.Tensor | int,
        kv_len: int | None = None,
        depth: int = 0,
    ) -> torch.Tensor:
        """MTP depth `depth` on (hidden at slot i, token at slot i+1) pairs stored at slot i:
        returns logits for the token at slot i+2."""
        slots = start + torch.arange(next_ids.shape[1], device=next_ids.device)
        slots = slots.unsqueeze(0).expand(next_ids.shape[0], -1)
        positions = (slots - cache.pad[:, None]).clamp(min=0)
        mask = cache.mask(slots, kv_len or cache.max_len)
        cos, sin = self.rotary(positions, self.model.embed_tokens.weight.dtype)
        layer = self.mtp[depth]
        out = layer.forward_mtp(
            hidden, self.model.embed_tokens(next_ids), cos, sin, cache=cache, start=start, mask=mask, kv_len=kv_len
        )
        return self.lm_head(layer.head_input(out))

    def new_cache(self, batch: int, max_len: int) -> LatentCache:
        p = self.lm_head.weight
        dtype = p.dtype if p.dtype.is_floating_point and p.element_size() >= 2 else torch.bfloat16
        c = self.config
        return LatentCache(
            c.num_hidden_layers + c.num_nextn_predict_layers, batch, max_len,
            c.kv_lora_rank, c.qk_rope_head_dim, p.device, dtype,
        )

    # ---- runtime knobs ---------------------------------------------------------------------
    def set_dispatch(self, method: str) -> None:
        """Override the expert dispatch method for every MoE layer (auto/grouped_mm/sorted/loop)."""
        MoEConfig(dispatch=method)  # validates the name
        for m in self.modules():
            if isinstance(m, MoE):
                m.dispatch = method

    def set_attention(self, path: str) -> None:
        """Force the MLA path for every layer: auto (naive prefill, absorbed decode), naive, absorbed."""
        MoEConfig(attention=path)
        for m in self.modules():
            if isinstance(m, MLA):
                m.path = path

    # ---- profiling hooks ---------------------------------------------------------------------
    def collect_stats(self, enabled: bool = True) -> None:
        """Turn router/KV/MTP counters on or off (off by default; when off nothing extra runs)."""
        self._stats_on = enabled
        if not enabled:
            for m in self.model.layers:
                if isinstance(m.mlp, MoE):
                    m.mlp.stats = None

    def _begin_stats(self) -> None:
        if not self._stats_on:
            return
        self._stats = {"kv_cache_bytes": 0, "mtp_acceptance": None}
        for layer in self.model.layers:
            if isinstance(layer.mlp, MoE):
                layer.mlp.stats = []

    def _note_stats(self, **values: Any) -> None:
        if self._stats_on:
            self._stats.update(values)

    def moe_stats(self) -> dict[str, Any]:
        """Counters of the most recent forward/generate with stats on (host sync happens here)."""
        per_layer: list[list[int]] = []
        for layer in self.model.layers:
            if isinstance(layer.mlp, MoE) and layer.mlp.stats is not None:
                counts = (
                    torch.stack(layer.mlp.stats).sum(0).tolist()
                    if layer.mlp.stats
                    else [0] * self.config.n_routed_experts
                )
                per_layer.append([int(v) for v in counts])
        imbalance = [max(c) / (sum(c) / len(c)) if sum(c) else 0.0 for c in per_layer]
        return {
            "tokens_per_expert": per_layer,
            "imbalance": imbalance,
            "kv_cache_bytes": int(self._stats.get("kv_cache_bytes", 0)),
            "mtp_acceptance": self._stats.get("mtp_acceptance"),
        }

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device


def _positions_and_mask(
    input_ids: torch.Tensor, attention_mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Positions count only real tokens (HF's convention for left padding); the boolean mask is
    causal over real keys, and a pad query sees itself so its row stays finite."""
    b, s = input_ids.shape
    if attention_mask is None:
        return torch.arange(s, device=input_ids.device).expand(b, s), None
    real = attention_mask.to(torch.bool)
    positions = (real.long().cumsum(-1) - 1).clamp(min=0)
    idx = torch.arange(s, device=input_ids.device)
    causal = idx[None, :] <= idx[:, None]
    mask = (causal[None] & real[:, None, :]) | torch.eye(s, dtype=torch.bool, device=input_ids.device)[None]
    return positions, mask[:, None]


def init_weights(model: DeepseekMoEModel, std: float = 0.02, seed: int | None = None) -> None:
    """HF's initialisation: normal(0, std) for projections, embeddings and experts; ones for norms;
    zeros for the routing bias."""
    device = model.lm_head.weight.device
    gen = torch.Generator(device=device)  # draw on the weights' device: no host pass over big models
    gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, ()).item()))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32, device=device) * std)
        for name, buf in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                buf.zero_()
