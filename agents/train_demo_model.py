"""Trains the demo team's tiny DeepSeek-V3-style MoE model on CPU and writes it to agents/assets/.

The demo must run offline on the project's own model, so the checkpoint is reproducible from
this script alone: a seeded generator of arithmetic word problems (rootspan.agents.tasks) in the
exact prompt formats the agents use, a character-level tokenizer, and a few minutes of AdamW.

    python -m rootspan.agents.train_demo_model [--steps 1500] [--out agents/assets/demo-moe]

Prints the loss every 100 steps and the per-role task accuracy at the end (greedy decoding on
held-out tasks, seed disjoint from training).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from pathlib import Path

from rootspan.agents import tasks as T
from rootspan.safe_write import write_atomic

DEFAULT_OUT = Path(__file__).resolve().parent / "assets" / "demo-moe"
TRAIN_SEED = 1234
EVAL_SEED = 987_654  # held-out tasks


def model_config():  # -> MoEConfig
    from rootspan.agents.moe import MoEConfig

    return MoEConfig(
        vocab_size=len(vocab()),
        hidden_size=128,
        intermediate_size=256,
        moe_intermediate_size=96,
        num_hidden_layers=4,
        num_attention_heads=4,
        n_shared_experts=1,
        n_routed_experts=16,
        num_experts_per_tok=2,
        first_k_dense_replace=1,
        kv_lora_rank=32,
        q_lora_rank=64,
        qk_nope_head_dim=16,
        qk_rope_head_dim=8,
        v_head_dim=16,
        n_group=2,
        topk_group=1,
        routed_scaling_factor=1.0,
        max_position_embeddings=256,
        bos_token_id=None,
        eos_token_id=1,
        pad_token_id=0,
    )


def vocab() -> dict[str, int]:
    """<pad>=0, newline (end of message)=1, then the alphabet."""
    tokens = ["<pad>", T.EOS] + list(T.ALPHABET)
    return {tok: i for i, tok in enumerate(tokens)}


def write_tokenizer(out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models

    tokenizer = Tokenizer(models.BPE(vocab=vocab(), merges=[], unk_token=None))
    tokenizer.decoder = decoders.Fuse()
    write_atomic(out / "tokenizer.json", tokenizer.to_str(pretty=True))  # never through a planted symlink


# ---- training data --------------------------------------------------------------------------

def _corrupt_plan(rng: random.Random, task: T.Task) -> str:
    """A plan that does not match its question: a changed number, a swapped operator or a lost term."""
    expr = task.expression
    for _ in range(10):
        choice = rng.random()
        if choice < 0.5:
            numbers = T.numbers_in(expr)
            target = rng.randrange(len(numbers))
            parts = re.split(r"(\d+)", expr)
            digits = [i for i, p in enumerate(parts) if p.isdigit()]
            new = max(1, numbers[target] + rng.choice((-10, -3, -1, 1, 2, 5, 11)))
            parts[digits[target]] = str(new)
            candidate = "".join(parts)
        elif choice < 0.8:
            ops = [i for i, ch in enumerate(expr) if ch in "+-*"]
            i = rng.choice(ops)
            candidate = expr[:i] + rng.choice([o for o in "+-*" if o != expr[i]]) + expr[i + 1 :]
        else:
            cut = max(i for i, ch in enumerate(expr) if ch in "+-*")
            candidate = expr[:cut]
            if not any(ch in candidate for ch in "+-*"):
                continue
        if candidate != expr:
            return candidate
    return expr + "+1"


def example(rng: random.Random) -> tuple[str, str]:
    """One (prompt, completion) pair drawn from the four agent roles."""
    task = T.make_task(rng)
    role = rng.random()
    if role < 0.4:
        return T.planner_prompt(task.question), T.planner_completion(task.expression)
    if role < 0.5:
        return T.solver_call_prompt(task.expression), T.solver_call_completion(task.expression)
    if role < 0.65:
        call = T.solver_call_completion(task.expression)
        result = rng.choice([str(task.answer)] * 8 + [T.TOOL_ERROR_RESULT, ""])
        return T.solver_answer_prompt(task.expression, call, result), T.solver_answer_completion(result)
    if rng.random() < 0.5:
        return T.verifier_prompt(task.question, task.expression, str(task.answer)), T.verifier_completion(True, str(task.answer))
    if rng.random() < 0.15:
        return T.verifier_prompt(task.question, task.expression, "?"), T.verifier_completion(False, "?")
    bad = _corrupt_plan(rng, task)
    answer = str(T.evaluate(bad))
    return T.verifier_prompt(task.question, bad, answer), T.verifier_completion(False, answer)


def encode(text: str) -> list[int]:
    table = vocab()
    return [table[ch] for ch in text]


def batch(rng: random.Random, size: int):  # -> (ids, targets) tensors
    import torch

    rows, targets = [], []
    for _ in range(size):
        prompt, completion = example(rng)
        p, c = encode(prompt), encode(completion + T.EOS)
        rows.append(p + c)
        # Loss only on what the agent writes: the prompt is given at run time.
        targets.append([-100] * len(p) + c)
    width = max(len(r) for r in rows)
    ids = torch.zeros(size, width, dtype=torch.long)
    tgt = torch.full((size, width), -100, dtype=torch.long)
    for i, (r, t) in enumerate(zip(rows, targets)):
        ids[i, : len(r)] = torch.tensor(r)
        tgt[i, : len(t)] = torch.tensor(t)
    return ids[:, :-1], tgt[:, 1:]


# ---- evaluation ---------------------------------------------------------------------------------

def evaluate_roles(model, count: int = 200, seed: int = EVAL_SEED) -> dict[str, float]:
    """Greedy exact-match accuracy per role on held-out tasks, and end-to-end pipeline accuracy."""
    from rootspan.agents.moe import generate

    table = vocab()
    inverse = {i: tok for tok, i in table.items()}
    rng = random.Random(seed)
    tasks = [T.make_task(rng) for _ in range(count)]

    def run(prompts: list[str], max_new: int) -> list[str]:
        outs = []
        for start in range(0, len(prompts), 50):
            chunk = prompts[start : start + 50]
            new = generate(model, [encode(p) for p in chunk], max_new_tokens=max_new, eos_token_id=1)
            for row in new.tolist():
                text = "".join(inverse[t] for t in row)
                outs.append(text.split(T.EOS)[0])
        return outs

    plans = run([T.planner_prompt(t.question) for t in tasks], 24)
    plan_ok = [p == T.planner_completion(t.expression) for p, t in zip(plans, tasks)]
    calls = run([T.solver_call_prompt(t.expression) for t in tasks], 24)
    call_ok = [c == T.solver_call_completion(t.expression) for c, t in zip(calls, tasks)]
    answers = run(
        [T.solver_answer_prompt(t.expression, T.solver_call_completion(t.expression), str(t.answer)) for t in tasks], 12
    )
    answer_ok = [a == T.solver_answer_completion(str(t.answer)) for a, t in zip(answers, tasks)]
    pos = run([T.verifier_prompt(t.question, t.expression, str(t.answer)) for t in tasks], 10)
    pos_ok = [v == T.verifier_completion(True, str(t.answer)) for v, t in zip(pos, tasks)]
    bad_rng = random.Random(seed + 1)
    bad_plans = [_corrupt_plan(bad_rng, t) for t in tasks]
    neg = run([T.verifier_prompt(t.question, b, str(T.evaluate(b))) for t, b in zip(tasks, bad_plans)], 10)
    neg_ok = [v == "no" for v in neg]
    pipeline = [all(flags) for flags in zip(plan_ok, call_ok, answer_ok, pos_ok)]
    mean = lambda flags: round(sum(flags) / len(flags), 3)  # noqa: E731
    return {
        "planner_exact": mean(plan_ok),
        "solver_call_exact": mean(call_ok),
        "solver_answer_exact": mean(answer_ok),
        "verifier_accepts_correct": mean(pos_ok),
        "verifier_rejects_wrong": mean(neg_ok),
        "pipeline_correct": mean(pipeline),
    }


# ---- main -----------------------------------------------------------------------------------------

def train(steps: int, batch_size: int, lr: float, out: Path, threads: int) -> dict[str, object]:
    import torch

    from rootspan.agents.moe import DeepseekMoEModel, init_weights, save_checkpoint, update_routing_bias

    torch.manual_seed(TRAIN_SEED)
    torch.set_num_threads(threads)
    config = model_config()
    model = DeepseekMoEModel(config)
    init_weights(model, std=0.02, seed=TRAIN_SEED)
    params = sum(p.numel() for p in model.parameters())
    print(f"params {params:,}  steps {steps}  batch {batch_size}  lr {lr}", flush=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))),
    )
    rng = random.Random(TRAIN_SEED)
    model.train()
    model.collect_stats(True)
    losses: list[float] = []
    started = time.perf_counter()
    for step in range(1, steps + 1):
        ids, tgt = batch(rng, batch_size)
        logits = model(ids)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=-100)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        # DeepSeek-V3's bias-based load balancing instead of an auxiliary loss.
        update_routing_bias(model, model.moe_stats()["tokens_per_expert"], rate=1e-3)
        losses.append(float(loss.detach()))
        if step % 100 == 0 or step == steps:
            recent = sum(losses[-100:]) / len(losses[-100:])
            print(f"step {step:5d}  loss {recent:.4f}  {time.perf_counter() - started:6.1f}s", flush=True)
    model.collect_stats(False)
    model.eval()
    train_s = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, out)
    write_tokenizer(out)
    accuracy = evaluate_roles(model)
    summary = {
        "params": params,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": TRAIN_SEED,
        "final_loss": round(sum(losses[-100:]) / len(losses[-100:]), 4),
        "train_seconds": round(train_s, 1),
        "accuracy": accuracy,
    }
    write_atomic(out / "training.json", json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2), flush=True)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=48)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    train(args.steps, args.batch_size, args.lr, args.out, args.threads)


if __name__ == "__main__":
    main()
