"""Our DeepSeek-V2/V3 implementation against HF transformers on the same weights (CPU, fp32)."""

from __future__ import annotations

import pytest
import torch

from rootspan.agents.moe import generate, load_checkpoint

transformers = pytest.importorskip("transformers")

TOL = 1e-4


def _ids(batch: int, seq: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 128, (batch, seq), generator=g)


@pytest.mark.parametrize("kind", ["v2", "v3"])
@pytest.mark.parametrize("dispatch", ["loop", "sorted", "grouped_mm"])
@pytest.mark.parametrize("attention", ["naive", "absorbed"])
def test_moe_full_forward_matches_hf(hf_pair, kind, dispatch, attention):
    hf, path = hf_pair[kind]
    ours = load_checkpoint(path, dispatch=dispatch, attention=attention)
    ids = _ids(2, 24)
    with torch.no_grad():
        want = hf(ids).logits
        got = ours(ids)
    assert got.shape == want.shape
    assert (got - want).abs().max().item() <= TOL


@pytest.mark.parametrize("kind", ["v2-qlora-yarn", "v3-halfsplit"])
@pytest.mark.parametrize("attention", ["naive", "absorbed"])
def test_moe_variant_forward_matches_hf(hf_pair, kind, attention):
    hf, path = hf_pair[kind]
    ours = load_checkpoint(path, attention=attention)
    ids = _ids(2, 40, seed=6)
    with torch.no_grad():
        assert (ours(ids) - hf(ids).logits).abs().max().item() <= TOL


@pytest.mark.parametrize("kind", ["v2", "v3"])
@pytest.mark.parametrize("dispatch", ["loop", "sorted", "grouped_mm"])
@pytest.mark.parametrize("attention", ["naive", "absorbed"])
def test_moe_incremental_decode_matches_hf(hf_pair, kind, dispatch, attention):
    hf, path = hf_pair[kind]
    ours = load_checkpoint(path, attention=attention, dispatch=dispatch)
    ids = _ids(2, 30, seed=2)
    prompt = 6
    with torch.no_grad():
        cache = transformers.DynamicCache(config=hf.config)
        want = [hf(ids[:, :prompt], past_key_values=cache, use_cache=True).logits]
        for t in range(prompt, ids.shape[1]):
            want.append(hf(ids[:, t : t + 1], past_key_values=cache, use_cache=True).logits)
        ocache = ours.new_cache(2, ids.shape[1])
        got = [ours.lm_head(ours.step(ids[:, :prompt], ocache, 0, kv_len=prompt))]
        for t in range(prompt, ids.shape[1]):
            got.append(ours.lm_head(ours.step(ids[:, t : t + 1], ocache, t, kv_len=t + 1)))
    diff = (torch.cat(got, 1) - torch.cat(want, 1)).abs().max().item()
    assert diff <= TOL


@pytest.mark.parametrize("kind", ["v2", "v3"])
def test_moe_greedy_generation_matches_hf(hf_pair, kind):
    hf, path = hf_pair[kind]
    ours = load_checkpoint(path)
    ids = _ids(1, 10, seed=3)
    want = hf.generate(ids, max_new_tokens=20, do_sample=False, min_new_tokens=20)[:, ids.shape[1] :]
    got = generate(ours, ids, max_new_tokens=20)
    assert torch.equal(got, want)


def test_moe_left_padded_batch_matches_hf(hf_pair):
    hf, path = hf_pair["v3"]
    ours = load_checkpoint(path)
    a, b = _ids(1, 9, seed=4)[0], _ids(1, 5, seed=5)[0]
    ids = torch.zeros(2, 9, dtype=torch.long)
    mask = torch.zeros(2, 9, dtype=torch.long)
    ids[0], mask[0] = a, 1
    ids[1, 4:], mask[1, 4:] = b, 1
    want = hf.generate(ids, attention_mask=mask, max_new_tokens=12, do_sample=False, min_new_tokens=12)[:, 9:]
    got = generate(ours, ids, max_new_tokens=12, attention_mask=mask)
    assert torch.equal(got, want)
    # and each row alone, unpadded, gives the same tokens
    assert torch.equal(generate(ours, b[None], max_new_tokens=12)[0], got[1])
