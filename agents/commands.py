"""``rootspan demo``: registers the demo command; torch and the runtime load only when it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rootspan.cli_app import app, bench_app


def _print_catalogue(as_json: bool) -> None:
    from rootspan.agents.faults import catalogue_rows
    from rootspan.cli_support import print_json

    rows = catalogue_rows()
    if as_json:
        print_json(rows)
        return
    typer.echo(f"{'fault':<22} {'kind':<9} {'category':<22} {'where':<6} description")
    for row in rows:
        where = "gpu" if row["gpu_only"] else "any"
        typer.echo(f"{row['name']:<22} {row['kind']:<9} {row['category']:<22} {where:<6} {row['description']}")


@app.command("demo")
def demo_command(
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Run directory to write (default runs/demo-<utc time>)."),
    fault: Optional[str] = typer.Option(None, "--fault", help="Inject one fault (NAME), or 'list' to show the catalogue."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    tasks: int = typer.Option(10, "--tasks", help="Number of word problems (one trace each)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the problems and for where the fault fires."),
    profile: str = typer.Option(
        "sample", "--profile",
        help="Profiling mode: sample (default: kernel profiles of each agent's first LLM call; "
        "ROOTSPAN_PROFILE_FIRST=N for the first N), auto, off, device, kernels or full.",
    ),
    checkpoint: Optional[Path] = typer.Option(
        None, "--checkpoint", help="Another MoE checkpoint directory (default: the shipped demo model)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of text."),
    backend: str = typer.Option("moe", "--backend", help="moe (the model in this process) or openai (an OpenAI-compatible server)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="With --backend openai: the server's URL, e.g. http://127.0.0.1:8000/v1 (rootspan serve)."),
    model_name: str = typer.Option("demo-moe", "--model-name", help="With --backend openai: the model name to ask the server for."),
) -> None:
    """Run the built-in multi-agent team (planner, solver with a calculator, verifier) on the MoE model."""
    from rootspan.errors import UserError

    if fault == "list":
        _print_catalogue(as_json)
        return
    if profile not in ("sample", "auto", "off", "device", "kernels", "full"):
        raise UserError(f"unknown profile mode {profile!r}; use sample, auto, off, device, kernels or full")
    from rootspan.agents.demo import check_backend, check_device, check_seed, resolve_fault

    if tasks < 1:  # checked here too so nothing is printed before the error
        raise UserError("--tasks must be at least 1")
    check_seed(seed)
    check_device(device)
    check_backend(backend, base_url, resolve_fault(fault, device))
    if checkpoint is not None and not checkpoint.is_dir():  # checked before the header is printed
        if checkpoint.exists():
            raise UserError(f"{checkpoint} is a file; a checkpoint is a directory (config.json + safetensors)")
        raise UserError(f"checkpoint directory {checkpoint} does not exist")
    if output is not None and output.exists() and not output.is_dir():
        raise UserError(f"{output} is a file, not a directory; pick a run directory with -o")

    from rootspan.agents.demo import run_demo
    from rootspan.cli_support import print_json
    from rootspan.text import printable

    def progress(outcome) -> None:  # noqa: ANN001 - TaskOutcome, imported lazily
        if as_json:
            return
        mark = "ok  " if outcome.success else "FAIL"
        answer = printable(outcome.answer or "-")
        why = "" if outcome.success else f"  ({printable(outcome.reason)})"
        typer.echo(f"  task {outcome.index:>3}  {mark}  answer {answer:>6}  expected {outcome.expected:>6}  "
                   f"{outcome.seconds:6.2f}s{why}")

    if not as_json:
        typer.echo(f"rootspan demo: {tasks} task(s) on {device}" + (f", fault {fault}" if fault else ""))
    result = run_demo(
        output, fault=fault, device=device, tasks=tasks, seed=seed, profile=profile, checkpoint=checkpoint, progress=progress,
        backend_kind=backend, base_url=base_url, model_name=model_name,
    )
    if as_json:
        print_json(result.summary())
        return
    typer.echo(f"{result.successes}/{len(result.outcomes)} tasks solved in {result.seconds:.1f}s")
    if result.label is not None:
        c = result.label.culprit
        typer.echo(f"injected {result.label.fault} ({result.label.kind}, {result.label.category}) at step {c.step} "
                   f"of trace {result.label.trace_id}, agent {c.agent}, span {c.span_id}")
    typer.echo(f"run written to {result.run_dir}")
    typer.echo(f"  view it:       rootspan view {result.run_dir}")
    typer.echo(f"  attribute it:  rootspan attribute {result.run_dir}")
    typer.echo(f"  list spans:    rootspan spans {result.run_dir}")


@app.command("serve")
def serve_command(
    model: Optional[Path] = typer.Option(
        None, "--model",
        help="An HF-format DeepSeek-V2/V3 checkpoint directory (config.json, *.safetensors, tokenizer.json); "
             "default: the shipped demo model.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Run directory for the server's spans (default runs/serve-<utc time>)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    served_name: Optional[str] = typer.Option(None, "--served-model-name", help="Model name clients ask for (default: the checkpoint directory's name)."),
    max_batch: int = typer.Option(16, "--max-batch", help="Requests decoded together in one batch."),
    max_queue: int = typer.Option(64, "--max-queue", help="Requests allowed to wait for a batch slot; more get HTTP 503."),
    profile: str = typer.Option("auto", "--profile", help="Profiling mode: auto, off, device, kernels or full."),
) -> None:
    """Serve the MoE model over an OpenAI-compatible API (/v1/models, /v1/chat/completions).

    A client's W3C traceparent header makes the server's spans (request, queue_wait, prefill,
    decode, with profiles) part of the client's trace: name both run directories to see one
    tree, e.g. `rootspan spans CLIENT_RUN SERVER_RUN` (docs/agents.md). Any HF-format
    DeepSeek-V2/V3 checkpoint serves with --model DIR (e.g. a downloaded
    deepseek-ai/DeepSeek-V2-Lite folder); its directory name is the model name unless
    --served-model-name says otherwise. Requests with `tools` get `tool_calls` back when the
    checkpoint's chat template writes DeepSeek-V3 or Hermes/Qwen tool-call markup.
    """
    import time as _time

    from rootspan.errors import UserError

    if profile not in ("auto", "off", "device", "kernels", "full"):
        raise UserError(f"unknown profile mode {profile!r}; use auto, off, device, kernels or full")
    if not 0 < port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {port}")
    if max_batch < 1 or max_queue < 1:
        raise UserError("--max-batch and --max-queue must be at least 1")
    if model is not None and not (model / "config.json").is_file():
        raise UserError(f"{model}: not a checkpoint directory (no config.json)")
    if output is not None and output.exists() and not output.is_dir():
        raise UserError(f"{output} is a file, not a directory; pick a run directory with -o")
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UserError("rootspan serve needs the serve extra: pip install 'rootspan[serve]'") from None
    from rootspan.agents.demo import check_device
    from rootspan.agents.serve import serve_forever

    check_device(device)
    run_dir = output or Path("runs") / f"serve-{_time.strftime('%Y%m%d-%H%M%S', _time.gmtime())}"
    serve_forever(model, host, port, run_dir, device, served_name, max_batch, max_queue, profile, announce=typer.echo)


@bench_app.command("serve")
def bench_serve_command(
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    requests: int = typer.Option(16, "--requests", help="Requests per concurrency level."),
    max_tokens: int = typer.Option(64, "--max-tokens", help="Output tokens per request (EOS ignored)."),
    clients: str = typer.Option("1,4,16", "--clients", help="Concurrent clients, comma-separated."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    rounds: int = typer.Option(3, "--rounds", help="Alternating measurement rounds; the median is reported."),
) -> None:
    """rootspan serve under 1/4/16 concurrent clients: tokens/s and p50/p99 latency, against one-at-a-time serving."""
    from rootspan.errors import UserError

    try:
        levels = tuple(int(c) for c in clients.split(",") if c.strip())
    except ValueError:
        raise UserError(f"--clients must be comma-separated integers, got {clients!r}") from None
    if not levels or min(levels) < 1 or requests < 1 or max_tokens < 1 or rounds < 1:
        raise UserError("--clients, --requests, --max-tokens and --rounds must be positive")
    from rootspan.agents.demo import check_device
    from rootspan.agents.serve_bench import bench_serve
    from rootspan.cli_support import print_json

    check_device(device)
    result = bench_serve(requests=requests, max_tokens=max_tokens, levels=levels, device=device, rounds=rounds)
    if as_json:
        print_json(result)
        return
    for level in result["levels"]:
        for label in ("batched", "one_at_a_time"):
            row = level[label]
            typer.echo(f"{label:<14} {level['clients']:>3} clients  {row['tokens_per_s']:8.1f} tok/s  "
                       f"p50 {row['latency_p50_s']:.3f}s  p99 {row['latency_p99_s']:.3f}s")
    key = next(k for k in result if k.startswith("speedup_at_"))
    typer.echo(f"{key}: {result[key]}x")
