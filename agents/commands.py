"""``rootspan demo``: registers the demo command; torch and the runtime load only when it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rootspan.cli_app import app


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
) -> None:
    """Run the built-in multi-agent team (planner, solver with a calculator, verifier) on the MoE model."""
    from rootspan.errors import UserError

    if fault == "list":
        _print_catalogue(as_json)
        return
    if profile not in ("sample", "auto", "off", "device", "kernels", "full"):
        raise UserError(f"unknown profile mode {profile!r}; use sample, auto, off, device, kernels or full")
    from rootspan.agents.demo import check_device, check_seed, resolve_fault

    if tasks < 1:  # checked here too so nothing is printed before the error
        raise UserError("--tasks must be at least 1")
    check_seed(seed)
    check_device(device)
    resolve_fault(fault, device)
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
        output, fault=fault, device=device, tasks=tasks, seed=seed, profile=profile, checkpoint=checkpoint, progress=progress
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
