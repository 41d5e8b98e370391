"""The DeepSeekMoE feed-forward: a router, fused routed experts, shared experts, and the dense MLP."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rootspan.agents.moe.config import MoEConfig
from rootspan.agents.moe.dispatch import resolve_method, run_experts


class MLP(nn.Module):
    """SwiGLU MLP: the dense layers and the shared experts (HF parameter names)."""

    def __init__(self, hidden: int, inter: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Router(nn.Module):
    """Top-k expert choice. V2: softmax scores, greedy or group-limited (group max) top-k.
    V3: sigmoid scores; e_score_correction_bias shifts only the choice, never the weights;
    groups ranked by their top-2 sum (noaux_tc). Weights optionally renormalised, then scaled."""

    def __init__(self, config: MoEConfig) -> None:
        super().__init__()
        self.config = config
        self.weight = nn.Parameter(torch.empty(config.n_routed_experts, config.hidden_size))
        # Kept in fp32 whatever the model dtype: it is a running statistic, not a learned weight.
        self.register_buffer("e_score_correction_bias", torch.zeros(config.n_routed_experts, dtype=torch.float32))

    def _group_mask(self, scores: torch.Tensor, group_score: str) -> torch.Tensor:
        c = self.config
        grouped = scores.view(scores.shape[0], c.n_group, -1)
        if group_score == "max":
            per_group = grouped.amax(dim=-1)
        else:
            per_group = grouped.topk(2, dim=-1).values.sum(dim=-1)
        keep = torch.topk(per_group, k=c.topk_group, dim=-1, sorted=False).indices
        mask = torch.zeros_like(per_group, dtype=torch.bool).scatter_(1, keep, True)
        return mask.unsqueeze(-1).expand_as(grouped).reshape_as(scores)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (N, H) -> (topk_idx (N, k), topk_weight (N, k) fp32, scores (N, E) fp32)."""
        c = self.config
        logits = F.linear(x.float(), self.weight.float())  # no-ops for an fp32 model
        if c.scoring_func == "softmax":
            scores = logits.softmax(dim=-1)
            choice = scores
            if c.topk_method != "greedy":
                choice = scores.masked_fill(~self._group_mask(scores, "max"), 0.0)
            weights, idx = torch.topk(choice, k=c.num_experts_per_tok, dim=-1, sorted=False)
        else:
            scores = logits.sigmoid()
            choice = scores + self.e_score_correction_bias
            if c.topk_method != "greedy":
                choice = choice.masked_fill(~self._group_mask(choice, "top2"), float("-inf"))
            idx = torch.topk(choice, k=c.num_experts_per_tok, dim=-1, sorted=False).indices
            weights = scores.gather(1, idx)
        if c.norm_topk_prob:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        if c.routed_scaling_factor != 1.0:
            weights = weights * c.routed_scaling_factor
        return idx, weights, scores


class Experts(nn.Module):
    """All routed experts as two fused 3-D tensors: gate_up (E, 2I, H) and down (E, H, I)."""

    def __init__(self, config: MoEConfig) -> None:
        super().__init__()
        e, h, i = config.n_routed_experts, config.hidden_size, config.moe_intermediate_size
        self.gate_up_proj = nn.Parameter(torch.empty(e, 2 * i, h))
        self.down_proj = nn.Parameter(torch.empty(e, h, i))

    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The compute-dtype weights (fp8.py overrides this to dequantise)."""
        return self.gate_up_proj, self.down_proj

    def forward(self, x: torch.Tensor, idx: torch.Tensor, weights: torch.Tensor, method: str) -> torch.Tensor:
        """x (N, H) routed to experts idx (N, k) with weights (N, k) -> (N, H)."""
        gate_up, down = self.weights()
        return run_experts(x, idx, weights, gate_up, down, resolve_method(method, x.device, gate_up.dtype))


class MoE(nn.Module):
    """Routed experts plus always-on shared experts; optional per-call token counts for profiling."""

    def __init__(self, config: MoEConfig) -> None:
        super().__init__()
        self.config = config
        self.gate = Router(config)
        self.experts = Experts(config)
        self.shared_experts = MLP(config.hidden_size, config.moe_intermediate_size * config.n_shared_experts)
        self.dispatch: str | None = None  # None = use config.dispatch
        # Set by the model when stats are on; a list the router counts are appended to.
        self.stats: list[torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        idx, weights, _ = self.gate(flat)
        if self.stats is not None:
            self.stats.append(torch.bincount(idx.reshape(-1), minlength=self.config.n_routed_experts))
        routed = self.experts(flat, idx, weights, self.dispatch or self.config.dispatch)
        return (routed + self.shared_experts(flat)).view(shape)


@torch.no_grad()
def update_routing_bias(model: nn.Module, token_counts: list[torch.Tensor], rate: float = 1e-3) -> None:
    """DeepSeek-V3's auxiliary-loss-free balancing: after a training step, nudge each expert's
    selection bias down if it got more than the mean load, up if less (sign update of size rate).

    token_counts: one (E,) tensor per MoE layer, in layer order, e.g. from model.moe_stats()."""
    routers = [m for m in model.modules() if isinstance(m, Router)]
    if len(routers) != len(token_counts):
        raise ValueError(f"got counts for {len(token_counts)} MoE layers, model has {len(routers)}")
    for router, counts in zip(routers, token_counts):
        counts = torch.as_tensor(counts, dtype=torch.float32, device=router.e_score_correction_bias.device)
        router.e_score_correction_bias += rate * torch.sign(counts.mean() - counts)
