"""Generation behaviour (sampling, EOS, padding forms), profiling counters, training paths."""

from __future__ import annotations

import pytest
import torch

from rootspan.agents.moe import DeepseekMoEModel, MoEConfig, generate, training_loss, update_routing_bias


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return DeepseekMoEModel(MoEConfig(initializer_range=0.1, eos_token_id=None)).eval()


def _prompt(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randint(2, 256, (1, n), generator=torch.Generator().manual_seed(seed))


def test_moe_sampling_is_seeded_and_top_p_tiny_is_greedy(model):
    p = _prompt()
    a = generate(model, p, 12, temperature=1.0, seed=7)
    b = generate(model, p, 12, temperature=1.0, seed=7)
    c = generate(model, p, 12, temperature=1.0, seed=8)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(generate(model, p, 12, temperature=1.0, top_p=1e-6, seed=3), generate(model, p, 12))


def test_moe_eos_stops_rows_and_pads_with_eos(model):
    p = _prompt()
    free = generate(model, p, 10)[0]
    eos = int(free[3])
    first = int((free == eos).nonzero()[0])
    got = generate(model, p, 10, eos_token_id=eos)[0]
    assert got.shape[0] == first + 1 and int(got[-1]) == eos
    both = generate(model, torch.cat((p, _prompt(seed=1))), 10, eos_token_id=eos)
    assert torch.equal(both[0, : first + 1], got)
    assert (both[0, first:] == eos).all()


def test_moe_batch_forms_agree(model):
    rows = [_prompt(7, 1)[0].tolist(), _prompt(3, 2)[0].tolist()]
    from_lists = generate(model, rows, 8)
    right = torch.zeros(2, 7, dtype=torch.long)
    right[0], right[1, :3] = torch.tensor(rows[0]), torch.tensor(rows[1])
    from_lengths = generate(model, right, 8, lengths=[7, 3])
    mask = torch.zeros(2, 7, dtype=torch.long)
    mask[0], mask[1, :3] = 1, 1
    from_mask = generate(model, right, 8, attention_mask=mask)
    assert torch.equal(from_lists, from_lengths) and torch.equal(from_lists, from_mask)
    assert torch.equal(from_lists[1], generate(model, [rows[1]], 8)[0])


def test_moe_stats_contract(model):
    assert model.moe_stats()["tokens_per_expert"] == []  # off by default: nothing collected
    model.collect_stats(True)
    try:
        generate(model, _prompt(5).expand(2, -1), 4)
        stats = model.moe_stats()
    finally:
        model.collect_stats(False)
    cfg = model.config
    assert set(stats) == {"tokens_per_expert", "imbalance", "kv_cache_bytes", "mtp_acceptance"}
    assert len(stats["tokens_per_expert"]) == cfg.num_hidden_layers - cfg.first_k_dense_replace
    # prefill 2x5 tokens + 3 decode steps x 2 rows, each routed to k experts
    assert all(sum(c) == (10 + 6) * cfg.num_experts_per_tok for c in stats["tokens_per_expert"])
    assert all(i >= 1.0 for i in stats["imbalance"])
    per_token = cfg.num_hidden_layers * (cfg.kv_lora_rank + cfg.qk_rope_head_dim) * 4
    assert stats["kv_cache_bytes"] == per_token * 2 * (5 + 4)
    assert stats["mtp_acceptance"] is None


@pytest.mark.parametrize("dispatch", ["loop", "sorted", "grouped_mm"])
def test_moe_training_gradients_agree_across_dispatch(dispatch):
    torch.manual_seed(0)
    ref = DeepseekMoEModel(MoEConfig(num_nextn_predict_layers=1, initializer_range=0.1))
    other = DeepseekMoEModel(MoEConfig(num_nextn_predict_layers=1, initializer_range=0.1))
    other.load_state_dict(ref.state_dict())
    ref.set_dispatch("loop")
    other.set_dispatch(dispatch)
    ids = torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(1))
    for m in (ref, other):
        total, main, extra = training_loss(m, ids)
        assert extra is not None and total.item() > main.item()
        total.backward()
    g_ref = dict(ref.named_parameters())
    for name, p in other.named_parameters():
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, g_ref[name].grad, atol=1e-5, rtol=1e-4)


def test_moe_routing_bias_update_moves_toward_balance():
    torch.manual_seed(0)
    m = DeepseekMoEModel(MoEConfig())
    m.collect_stats(True)
    m(torch.randint(0, 256, (2, 16)))
    counts = m.moe_stats()["tokens_per_expert"]
    update_routing_bias(m, counts, rate=0.01)
    bias = m.model.layers[1].mlp.gate.e_score_correction_bias
    c = torch.tensor(counts[0], dtype=torch.float32)
    assert torch.equal(bias, 0.01 * torch.sign(c.mean() - c))


@pytest.mark.parametrize("padded", [False, True])
def test_moe_static_shape_step_matches_trimmed_step(model, padded):
    """The step a CUDA graph captures (slot as a 0-d tensor, attention over the whole masked
    static cache) computes what the eager, trimmed step computes."""
    from rootspan.agents.moe.generation import left_pad

    rows = [[5, 6, 7, 8, 9], [10, 11, 12]] if padded else [[5, 6, 7], [10, 11, 12]]
    ids, pad = left_pad(rows)
    width = ids.shape[1]
    eager, static = model.new_cache(2, 12), model.new_cache(2, 12)
    for c in (eager, static):
        c.pad.copy_(pad)
    token = torch.tensor([[3], [4]])
    with torch.no_grad():
        model.step(ids, eager, 0, kv_len=width)
        model.step(ids, static, 0, kv_len=width)
        for i in range(4):
            want = model.lm_head(model.step(token, eager, width + i, kv_len=width + i + 1))
            got = model.lm_head(model.step(token, static, torch.tensor(width + i)))
            torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
