"""CLI: ``rootspan export perfetto RUN -o FILE`` (cheap imports only; the work is imported on use)."""

from __future__ import annotations

from pathlib import Path

import typer

from rootspan.cli_app import export_app


@export_app.command("perfetto")
def perfetto_command(
    run: list[Path] = typer.Argument(..., metavar="RUN", help="Run directory or traces .jsonl file; several: parts of the same traces, merged by trace id."),
    output: Path = typer.Option(..., "-o", "--output", help="Chrome/Perfetto JSON file to write (open in ui.perfetto.dev)."),
    json_output: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """One timeline: agent, LLM and tool spans as tracks above kernels/ops and device counters."""
    from rootspan.cli_support import load_run_for_cli, print_json, refuse_to_overwrite_inputs, warn
    from rootspan.profilers.perfetto import export_perfetto

    loaded = load_run_for_cli(run)
    from rootspan.model import Run

    # The merged run names only the first path; every input is protected all the same.
    refuse_to_overwrite_inputs(output, [loaded] + [Run(path=path) for path in run[1:]])
    warnings_before = len(loaded.warnings)
    summary = export_perfetto(loaded, output)
    for message in loaded.warnings[warnings_before:]:
        warn(message)
    if json_output:
        print_json(summary)
    else:
        print(
            f"wrote {summary['output']}: {summary['spans']} spans in {summary['traces']} traces, "
            f"{summary['kernel_events']} kernel/op events from {summary['kernel_files']} files, "
            f"{summary['counter_samples']} counter samples"
        )
