"""Token generation: prefill, one-token decode steps over a static latent cache, greedy or
top-p sampling, left-padded batches, and a CUDA-graph-captured decode step on GPU."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch

from rootspan.agents.moe.cache import LatentCache
from rootspan.agents.moe.dispatch import resolve_method
from rootspan.agents.moe.model import DeepseekMoEModel
from rootspan.agents.moe.moe import MoE


def left_pad(
    input_ids: torch.Tensor | Sequence[Sequence[int]],
    attention_mask: torch.Tensor | None = None,
    lengths: Sequence[int] | torch.Tensor | None = None,
    pad_id: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalise a batch to (ids (B, S) left-padded, pad counts (B,)).

    Accepts a list of token lists of any lengths; or a tensor with an attention_mask (1 = real
    token, left or right padding); or a tensor whose rows hold lengths[b] real tokens at the start."""
    if not isinstance(input_ids, torch.Tensor):
        rows = [list(map(int, r)) for r in input_ids]
    else:
        ids = input_ids.to("cpu")
        if ids.dim() == 1:
            ids = ids.unsqueeze(0)
        if attention_mask is None and lengths is None:
            return input_ids.to(device).view(ids.shape), torch.zeros(ids.shape[0], dtype=torch.long, device=device)
        if attention_mask is not None:
            keep = attention_mask.to("cpu").bool()
            rows = [ids[b][keep[b]].tolist() for b in range(ids.shape[0])]
        else:
            rows = [ids[b, : int(n)].tolist() for b, n in enumerate(lengths)]
    if not rows or any(len(r) == 0 for r in rows):
        raise ValueError("every sequence needs at least one token")
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for b, r in enumerate(rows):
        out[b, width - len(r) :] = torch.tensor(r, dtype=torch.long)
    pad = torch.tensor([width - len(r) for r in rows], dtype=torch.long)
    return out.to(device), pad.to(device)


def sample(
    logits: torch.Tensor, temperature: float = 0.0, top_p: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """logits (B, V) -> next tokens (B,). temperature 0 = greedy."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, sorted_idx = probs.sort(dim=-1, descending=True)
        # Drop a token when the tokens ranked above it already cover top_p (the top one always stays).
        drop = sorted_probs.cumsum(dim=-1) - sorted_probs > top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, sorted_idx, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class GraphedDecode:
    """One decode step (embed -> layers -> head) captured as a CUDA graph over a static cache.

    The graph reads the token and the slot from fixed tensors, so a replay costs one launch
    instead of thousands; attention covers the whole cache under a mask, keeping shapes fixed."""

    def __init__(self, model: DeepseekMoEModel, batch: int, max_len: int) -> None:
        self.model = model
        self.cache = model.new_cache(batch, max_len)
        dev = model.device
        self.token = torch.zeros(batch, 1, dtype=torch.long, device=dev)
        self.slot = torch.zeros((), dtype=torch.long, device=dev)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.logits: torch.Tensor | None = None

    def _run(self) -> torch.Tensor:
        return self.model.lm_head(self.model.step(self.token, self.cache, self.slot)[:, -1])

    def capture(self) -> None:
        # Warm-up and capture really write the cache: aim them at the last slot, which holds the
        # final new token's place; that token is never fed back, so no query ever attends it.
        self.slot.fill_(self.cache.max_len - 1)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm up allocator and lazy inits outside the graph
                self._run()
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.logits = self._run()

    def __call__(self, token: torch.Tensor, slot: int) -> torch.Tensor:
        self.token.copy_(token.view_as(self.token))
        self.slot.fill_(slot)
        assert self.graph is not None and self.logits is not None
        self.graph.replay()
        return self.logits


def graphs_usable(model: DeepseekMoEModel) -> bool:
    """CUDA graphs need CUDA, no host-side counters, and a dispatch method without host sync."""
    if model.device.type != "cuda" or model._stats_on or model.__dict__.get("_graph_failure"):
        return False
    for m in model.modules():
        if isinstance(m, MoE):
            dtype = getattr(m.experts, "compute_dtype", m.experts.gate_up_proj.dtype)
            if resolve_method(m.dispatch or m.config.dispatch, model.device, dtype) != "grouped_mm":
                return False
    return True


GRAPH_LEN_BUCKET = 256  # cache lengths round up to this, so prompts of similar length share a graph
MAX_GRAPHS = 4  # each graph owns a cache; keep the most recently used few


def _graph_for(model: DeepseekMoEModel, batch: int, max_len: int) -> GraphedDecode:
    graphs: dict[tuple[int, int], GraphedDecode] = model.__dict__.setdefault("_graphs", {})
    key = (batch, -(-max_len // GRAPH_LEN_BUCKET) * GRAPH_LEN_BUCKET)
    graph = graphs.pop(key, None) or GraphedDecode(model, *key)
    graphs[key] = graph  # re-insert: dict order is least- to most-recently used
    while len(graphs) > MAX_GRAPHS:
        graphs.pop(next(iter(graphs)))
    return graph


@torch.inference_mode()
def generate(
    model: DeepseekMoEModel,
    input_ids: torch.Tensor | Sequence[Sequence[int]],
    max_new_tokens: int = 16,
    *,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    eos_token_id: int | Sequence[int] | None = None,
    attention_mask: torch.Tensor | None = None,
    lengths: Sequence[int] | torch.Tensor | None = None,
    use_mtp: bool = False,
    cuda_graph: bool | None = None,
) -> torch.Tensor:
    """New token ids (B, n), n <= max_new_tokens (fewer only if every row hit EOS); after a row's
    EOS its remaining entries repeat that EOS id. Greedy unless temperature > 0."""
    if max_new_tokens < 1:
        raise ValueError("max_new_tokens must be at least 1")
    dev = model.device
    pad_id = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    ids, pad = left_pad(input_ids, attention_mask, lengths, pad_id, dev)
    eos = [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id or [])
    model._begin_stats()
    if ids.shape[1] + max_new_tokens > model.config.max_position_embeddings:
        raise ValueError(f"prompt + new tokens exceeds max_position_embeddings={model.config.max_position_embeddings}")
    if use_mtp:
        from rootspan.agents.moe.mtp import speculative_generate

        if temperature > 0:
            raise ValueError("MTP speculative decoding is greedy only (temperature=0)")
        return speculative_generate(model, ids, pad, max_new_tokens, eos)
    batch, prompt_len = ids.shape
    max_len = prompt_len + max_new_tokens
    use_graph = graphs_usable(model) if cuda_graph is None else (cuda_graph and graphs_usable(model))
    graphed = _graph_for(model, batch, max_len) if use_graph else None
    cache: LatentCache = graphed.cache if graphed is not None else model.new_cache(batch, max_len)
    cache.pad.copy_(pad)
    model._note_stats(kv_cache_bytes=cache.nbytes())
    generator = None
    if temperature > 0:
        generator = torch.Generator(device=dev)
        if seed is None:
            generator.seed()  # fresh entropy for this call only; the global RNG is left alone
        else:
            generator.manual_seed(seed)

    unpadded = not bool(pad.any())
    logits = model.lm_head(model.step(ids, cache, 0, kv_len=prompt_len, causal=unpadded)[:, -1])
    token = sample(logits, temperature, top_p, generator)
    out = [token]
    eos_t = torch.tensor(eos, device=dev) if eos else None
    done = torch.isin(token, eos_t) if eos_t is not None else None
    if graphed is not None and graphed.graph is None:
        try:
            graphed.capture()
        except RuntimeError as exc:
            # A kernel that syncs with the host cannot be captured (torch builds differ): decode
            # eagerly from now on, on the same cache, and say why once.
            model.__dict__["_graph_failure"] = (str(exc).splitlines() or [type(exc).__name__])[0]
            model.__dict__.pop("_graphs", None)
            warnings.warn(f"CUDA graph capture failed, decoding eagerly: {model.__dict__['_graph_failure']}")
            graphed = None
    for i in range(1, max_new_tokens):
        slot = prompt_len + i - 1
        if graphed is not None:
            logits = graphed(token, slot)
        else:
            step = model.step(token[:, None], cache, slot, kv_len=slot + 1, causal=unpadded)
            logits = model.lm_head(step[:, -1])
        nxt = sample(logits, temperature, top_p, generator)
        if done is not None:
            # A finished row keeps emitting the token it stopped on.
            nxt = torch.where(done, token, nxt)
            done = done | torch.isin(nxt, eos_t)
        token = nxt
        out.append(token)
        if done is not None and bool(done.all()):
            break
    return torch.stack(out, dim=1)
