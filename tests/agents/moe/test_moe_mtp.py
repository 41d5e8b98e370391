"""MTP: the training loss learns, and self-speculative decoding equals plain greedy decoding."""

from __future__ import annotations

import torch

from rootspan.agents.moe import DeepseekMoEModel, MoEConfig, generate, load_checkpoint, save_checkpoint, training_loss


def _arithmetic_batch(g: torch.Generator, rows: int = 16, length: int = 24) -> torch.Tensor:
    """x_{t+1} = x_t + step (mod 64): learnable two tokens ahead in a few dozen steps."""
    start = torch.randint(0, 64, (rows, 1), generator=g)
    step = torch.randint(1, 4, (rows, 1), generator=g)
    return (start + step * torch.arange(length)) % 64


def test_moe_mtp_trained_speculation_matches_greedy_and_accepts(tmp_path):
    torch.manual_seed(0)
    model = DeepseekMoEModel(MoEConfig(vocab_size=64, num_hidden_layers=2, num_nextn_predict_layers=1,
                                       eos_token_id=None))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    first = None
    for _ in range(80):
        total, main, extra = training_loss(model, _arithmetic_batch(g))
        first = first if first is not None else extra.item()
        opt.zero_grad()
        total.backward()
        opt.step()
    assert extra.item() < 0.25 * first
    save_checkpoint(model, tmp_path)
    model = load_checkpoint(tmp_path)  # MTP weights survive the HF-format round trip
    model.collect_stats(True)
    prompt = _arithmetic_batch(g, rows=2)[:, :8]
    greedy = generate(model, prompt, 20)
    spec = generate(model, prompt, 20, use_mtp=True)
    assert torch.equal(greedy, spec)
    assert model.moe_stats()["mtp_acceptance"] >= 0.5


def test_moe_mtp_untrained_speculation_still_matches_greedy():
    torch.manual_seed(1)
    model = DeepseekMoEModel(MoEConfig(num_nextn_predict_layers=1, initializer_range=0.1, eos_token_id=None)).eval()
    prompt = [[5, 9, 17, 33, 2], [7, 7, 100]]
    for n in (1, 2, 13):
        assert torch.equal(generate(model, prompt, n), generate(model, prompt, n, use_mtp=True))
