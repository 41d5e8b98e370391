"""Multi-token prediction (DeepSeek-V3): the training loss, and self-speculative greedy decoding
whose output is token-identical to plain greedy decoding.

Depth k at position i combines the previous depth's hidden state h_i^(k-1) (depth 0 = the main
model's final-norm output) with the embedding of token i+k, runs one decoder block, and
predicts token i+k+1 through its own norm and the main model's LM head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rootspan.agents.moe.model import DeepseekMoEModel


def mtp_loss(model: DeepseekMoEModel, input_ids: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over the MTP depths; `hidden` = model.hidden_states(input_ids) if already
    computed. Multiply by DeepSeek's lambda (0.3 early in training, 0.1 later) before adding it."""
    if not len(model.mtp):
        raise ValueError("model has no MTP layers (config.num_nextn_predict_layers = 0)")
    h = model.hidden_states(input_ids) if hidden is None else hidden
    seq = input_ids.shape[1]
    embeds = model.model.embed_tokens(input_ids)
    losses = []
    for k, layer in enumerate(model.mtp, start=1):
        n = seq - k - 1  # positions i whose target i+k+1 exists
        if n < 1:
            break
        positions = torch.arange(n, device=input_ids.device).expand(input_ids.shape[0], n)
        cos, sin = model.rotary(positions, embeds.dtype)
        h = layer.forward_mtp(h[:, :n], embeds[:, k : k + n], cos, sin)
        logits = model.lm_head(layer.head_input(h))
        losses.append(F.cross_entropy(logits.flatten(0, 1).float(), input_ids[:, k + 1 : k + 1 + n].flatten()))
    if not losses:
        raise ValueError(f"sequence of {seq} tokens is too short for MTP (need at least 3)")
    return torch.stack(losses).mean()


def training_loss(
    model: DeepseekMoEModel, input_ids: torch.Tensor, mtp_weight: float = 0.3
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(total, next-token loss, MTP loss or None): one backbone pass shared by both losses."""
    model._begin_stats()
    h = model.hidden_states(input_ids)
    logits = model.lm_head(h[:, :-1])
    main = F.cross_entropy(logits.flatten(0, 1).float(), input_ids[:, 1:].flatten())
    if not len(model.mtp) or mtp_weight == 0:
        return main, main, None
    extra = mtp_loss(model, input_ids, h)
    return main + mtp_weight * extra, main, extra


def speculative_generate(
    model: DeepseekMoEModel, ids: torch.Tensor, pad: torch.Tensor, max_new_tokens: int, eos: list[int]
) -> torch.Tensor:
    """Greedy decoding where MTP depth 1 drafts the token after next and the main model checks it
    in the same forward as the next token. A draft is kept only if it equals what the main model
    would have chosen, so the output matches plain greedy decoding; the batch accepts together."""
    if not len(model.mtp):
        raise ValueError("use_mtp needs a model with MTP layers (config.num_nextn_predict_layers >= 1)")
    batch, prompt_len = ids.shape
    cache = model.new_cache(batch, prompt_len + max_new_tokens + 2)
    cache.pad.copy_(pad)
    model._note_stats(kv_cache_bytes=cache.nbytes())
    h = model.step(ids, cache, 0, kv_len=prompt_len, causal=not bool(pad.any()))
    token = model.lm_head(h[:, -1]).argmax(-1)
    # MTP over the prompt: slot i pairs h_i with token i+1 (the last pair uses the new token).
    pairs = torch.cat((ids[:, 1:], token[:, None]), dim=1)
    draft = model.mtp_step(h, pairs, cache, 0, kv_len=prompt_len)[:, -1].argmax(-1)
    out = [token]
    slot = prompt_len  # cache slot of `token`, not yet run through the main model
    proposed = accepted = 0
    eos_t = torch.tensor(eos, device=ids.device) if eos else None
    done = torch.isin(token, eos_t) if eos_t is not None else None
    while len(out) < max_new_tokens and not (done is not None and bool(done.all())):
        h2 = model.step(torch.stack((token, draft), dim=1), cache, slot, kv_len=slot + 2)
        verified = model.lm_head(h2).argmax(-1)  # (B, 2): the true tokens at slot+1 and slot+2
        proposed += 1
        take = 2 if bool((verified[:, 0] == draft).all()) and len(out) + 2 <= max_new_tokens else 1
        accepted += take == 2
        new = verified[:, :take]
        draft = model.mtp_step(h2[:, :take], new, cache, slot, kv_len=slot + take)[:, -1].argmax(-1)
        for j in range(take):
            nxt = new[:, j]
            if done is not None:
                nxt = torch.where(done, out[-1], nxt)
                done = done | torch.isin(nxt, eos_t)
            out.append(nxt)
        token = new[:, -1]
        slot += take
    model._note_stats(mtp_acceptance=accepted / proposed if proposed else None)
    return torch.stack(out, dim=1)
