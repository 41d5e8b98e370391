"""CLI for the MoE backend: `rootspan bench moe` and `rootspan moe quantize|random|generate`.

Only cheap imports at module level: torch and the model load inside each command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from rootspan.cli_app import app, bench_app
from rootspan.errors import UserError

moe_app = typer.Typer(help="DeepSeek-style MoE backend tools: quantise, write random checkpoints, generate.",
                      no_args_is_help=True)
app.add_typer(moe_app, name="moe")

_DTYPES = ("float32", "bfloat16", "float16")


def _dtype(name: str):
    import torch

    if name not in _DTYPES:
        raise UserError(f"unknown dtype {name!r}; use one of {', '.join(_DTYPES)}")
    return getattr(torch, name)


def _check_device(device: str) -> None:
    import torch

    if device not in ("cpu", "cuda"):
        raise UserError(f"unknown device {device!r}; use cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda asked for but no CUDA device is available")


@moe_app.command("quantize")
def quantize(
    src: Path = typer.Argument(..., help="HF-format checkpoint directory (bf16/fp16/fp32)."),
    out: Path = typer.Option(..., "-o", "--output", help="Directory to write the FP8 checkpoint to."),
) -> None:
    """Quantise a checkpoint to FP8 e4m3 with 128x128 block scales (DeepSeek-V3's format)."""
    from rootspan.agents.moe.fp8 import quantize_checkpoint

    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a directory")
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not empty")
    quantize_checkpoint(src, out)
    print(f"wrote FP8 checkpoint to {out}")


@moe_app.command("random")
def random_checkpoint(
    out: Path = typer.Option(..., "-o", "--output", help="Directory to write the checkpoint to."),
    preset: str = typer.Option("tiny-v3", help="tiny-v3, tiny-v2, bench-cpu or v2-lite."),
    dtype: str = typer.Option("float32", help="float32, bfloat16 or float16."),
    seed: int = typer.Option(0, help="Random seed."),
    mtp: int = typer.Option(0, help="Number of MTP layers (V3 presets)."),
) -> None:
    """Write a checkpoint with random weights in the HF/DeepSeek format (tests, benchmarks)."""
    from rootspan.agents.moe.checkpoint import write_random_checkpoint
    from rootspan.agents.moe.presets import preset_config

    if not -(2**63) <= seed < 2**63:
        raise UserError(f"--seed must fit in 64 bits, got {seed}")
    if mtp < 0:
        raise UserError(f"--mtp must be 0 or more, got {mtp}")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a directory")
    if out.is_dir() and any(out.iterdir()):  # like quantize: never overwrite a (maybe trained) checkpoint
        raise UserError(f"{out} exists and is not empty")
    config = preset_config(preset)
    if mtp:
        config.num_nextn_predict_layers = mtp
    write_random_checkpoint(out, config, seed=seed, dtype=_dtype(dtype))
    print(f"wrote {preset} checkpoint to {out}")


@moe_app.command("generate")
def generate_cmd(
    checkpoint: Path = typer.Argument(..., help="HF-format checkpoint directory."),
    prompt: str = typer.Option(None, help="Prompt text (needs tokenizer.json in the checkpoint)."),
    ids: str = typer.Option(None, help="Prompt as comma-separated token ids instead of text."),
    max_new_tokens: int = typer.Option(16, "-n", "--max-new-tokens", help="Tokens to generate (at least 1)."),
    temperature: float = typer.Option(0.0, help="0 = greedy; above 0 samples."),
    top_p: float = typer.Option(1.0, help="Nucleus sampling mass, in (0, 1]; used when --temperature > 0."),
    seed: int = typer.Option(None, help="Seed for sampling (unseeded leaves the global RNG alone)."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    dtype: str = typer.Option("float32", help="float32, bfloat16 or float16."),
    use_mtp: bool = typer.Option(False, "--mtp", help="Self-speculative decoding with the MTP layer."),
    stats: bool = typer.Option(False, "--stats", help="Print router/KV/MTP statistics to stderr."),
) -> None:
    """Generate tokens from a checkpoint (token ids, or text when a tokenizer is present)."""
    import json

    import torch

    from rootspan.agents.moe.checkpoint import load_checkpoint
    from rootspan.agents.moe.generation import generate
    from rootspan.agents.moe.tokenizer import load_tokenizer

    _check_device(device)
    _dtype(dtype)
    if (prompt is None) == (ids is None):
        raise UserError("give exactly one of --prompt or --ids")
    if seed is not None and not -(2**63) <= seed < 2**63:
        raise UserError(f"--seed must fit in 64 bits, got {seed}")
    if max_new_tokens < 1:
        raise UserError(f"--max-new-tokens must be at least 1, got {max_new_tokens}")
    if temperature < 0:
        raise UserError(f"--temperature must be 0 (greedy) or more, got {temperature}")
    if not 0 < top_p <= 1:
        raise UserError(f"--top-p must be in (0, 1], got {top_p}")
    if use_mtp and temperature > 0:
        raise UserError("--mtp decodes greedily; drop --temperature")
    tokenizer = load_tokenizer(checkpoint) if prompt is not None else None
    if tokenizer is not None:
        prompt_ids = tokenizer.encode(prompt).ids
    else:
        try:
            prompt_ids = [int(t) for t in ids.split(",") if t.strip()]
        except ValueError:
            raise UserError(f"--ids must be comma-separated integers, got {ids!r}") from None
    model = load_checkpoint(checkpoint, device=device, dtype=_dtype(dtype))
    if not prompt_ids or max(prompt_ids) >= model.config.vocab_size or min(prompt_ids) < 0:
        raise UserError(f"prompt ids must be non-empty and within [0, {model.config.vocab_size})")
    if use_mtp and not model.config.num_nextn_predict_layers:
        raise UserError(f"--mtp needs a checkpoint with MTP layers; {checkpoint} has none")
    limit = model.config.max_position_embeddings
    if len(prompt_ids) + max_new_tokens > limit:
        raise UserError(f"prompt ({len(prompt_ids)} tokens) + --max-new-tokens ({max_new_tokens}) exceeds the model's {limit} positions")
    model.collect_stats(stats)
    out = generate(
        model, torch.tensor([prompt_ids]), max_new_tokens, temperature=temperature, top_p=top_p, seed=seed,
        eos_token_id=model.config.eos_ids or None, use_mtp=use_mtp,
    )[0].tolist()
    from rootspan.text import printable

    # model output through the checkpoint's own tokenizer: escapes and bidi controls shown, not run
    print(printable(tokenizer.decode(out), keep_newlines=True) if tokenizer is not None else " ".join(map(str, out)))
    if stats:
        print(json.dumps(model.moe_stats()), file=sys.stderr)


@bench_app.command("moe")
def bench_moe(
    device: str = typer.Option("cpu", help="cpu or cuda."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    preset: str = typer.Option(None, help="Model dims: bench-cpu (CPU default) or v2-lite (CUDA default)."),
    prefill_len: int = typer.Option(None, help="Prefill tokens (default 2048 on CUDA, 128 on CPU)."),
    prompt_len: int = typer.Option(None, help="Decode prompt length (default 512 on CUDA, 64 on CPU)."),
    new_tokens: int = typer.Option(None, help="Decode tokens (default 128 on CUDA, 16 on CPU)."),
    batches: str = typer.Option("1,16", help="Decode batch sizes, comma-separated."),
    no_hf: bool = typer.Option(False, "--no-hf", help="Skip the HF transformers comparison."),
    fp8: bool = typer.Option(False, "--fp8", help="Also measure FP8 weights (CUDA)."),
    threads: int = typer.Option(None, help="torch CPU threads (default 1 on CPU: repeatable on shared machines)."),
    rounds: int = typer.Option(None, help="Interleaved measurement rounds, best kept (default 5 CPU, 2 CUDA)."),
    clock: str = typer.Option("wall", help="wall, or cpu (process CPU time; CPU device, steadier on a busy box)."),
    dtype: str = typer.Option(None, help="float32 or bfloat16 (default: bfloat16 on CUDA, float32 on CPU)."),
) -> None:
    """Our MoE backend against HF transformers on identical random weights: prefill and decode
    tokens/s, peak memory and the fraction of the hardware limit."""
    _check_device(device)
    if clock not in ("wall", "cpu") or (clock == "cpu" and device != "cpu"):
        raise UserError("--clock must be wall, or cpu with --device cpu")
    if dtype is not None:
        _dtype(dtype)  # validates the name
    try:
        batch_sizes = [int(b) for b in batches.split(",") if b.strip()]
    except ValueError:
        raise UserError(f"--batches must be comma-separated integers, got {batches!r}") from None
    if not batch_sizes or min(batch_sizes) < 1:
        raise UserError(f"--batches must be positive integers, got {batches!r}")
    # 0 or less used to fall back to the defaults silently, or crash inside torch.
    given = {"--prefill-len": prefill_len, "--prompt-len": prompt_len, "--new-tokens": new_tokens,
             "--threads": threads, "--rounds": rounds}
    for flag, value in given.items():
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    import importlib.util

    root = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_moe.py"
    if not root.is_file():
        raise UserError(f"benchmark script not found at {root} (run from a source checkout)")
    spec = importlib.util.spec_from_file_location("rootspan_bench_moe", root)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(
        device=device, preset=preset, prefill_len=prefill_len, prompt_len=prompt_len, new_tokens=new_tokens,
        batch_sizes=batch_sizes, with_hf=not no_hf, fp8=fp8, progress=not json_out, threads=threads,
        rounds=rounds, clock=clock, dtype_name=dtype,
    )
    if json_out:
        import json

        print(json.dumps(result, indent=2))
    else:
        print(module.format_table(result))
