"""The core's own commands: ``rootspan spans`` lists the spans of a run as a plain table."""

from __future__ import annotations

from pathlib import Path

import typer

from rootspan.cli_app import app
from rootspan.model import Run, Span, SpanKind, Trace
from rootspan.text import format_duration, printable, shorten
from rootspan.tokens import input_tokens, output_tokens

_STATUS = {0: "unset", 1: "ok", 2: "error"}


def span_rows(run: Run) -> list[dict[str, object]]:
    """One row per span, traces in start order and spans in step order."""
    rows: list[dict[str, object]] = []
    for trace in run.trace_list():
        for span in trace.steps():
            rows.append(_row(trace, span))
    return rows


def _row(trace: Trace, span: Span) -> dict[str, object]:
    """A span's row; every row has the token keys (None off LLM spans) so the schema never varies."""
    llm = span.kind is SpanKind.LLM
    return {
        "trace_id": trace.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "step": span.step,
        "agent": trace.agent_of(span),
        "kind": span.kind.value if span.kind else "other",
        "name": span.name,
        "duration_ms": round(span.duration_ns / 1e6, 3),
        "status": _STATUS.get(int(span.status_code), "unset"),
        "input_tokens": input_tokens(span) if llm else None,
        "output_tokens": output_tokens(span) if llm else None,
    }


def outcome_text(trace: Trace) -> str:
    """A trace's outcome under the shared definition (``Trace.failed``), and where it comes from."""
    if trace.failed:
        reason = trace.failure_reason
        source = "" if trace.recorded_outcome is not None else " (root span status ERROR)"
        return f"failure{source}" + (f": {reason}" if reason else "")
    if trace.recorded_outcome is not None:
        return "success"
    return "success (none recorded, root span not in error)"


@app.command("spans")
def spans_command(
    run_paths: list[Path] = typer.Argument(
        ..., metavar="RUN", help="A run directory or a traces.jsonl file; several: parts of the same traces, merged by trace id."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """A plain table of the spans (step, agent, kind, name, duration, status) under each trace's outcome."""
    from rootspan.cli_support import load_run_for_cli, print_json

    run = load_run_for_cli(run_paths)
    rows = span_rows(run)
    if as_json:
        print_json(rows)
        return
    header = f"{'step':>5}  {'agent':<18} {'kind':<8} {'name':<44} {'duration':>9}  status"
    traces = {trace.trace_id: trace for trace in run.trace_list()}
    current_trace = None
    for row in rows:
        if row["trace_id"] != current_trace:
            current_trace = row["trace_id"]
            outcome = shorten(printable(outcome_text(traces[str(current_trace)])), 100)
            typer.echo(f"trace {current_trace}  outcome {outcome}")
            typer.echo(header)
        step = "" if row["step"] is None else str(row["step"])
        agent = shorten(printable(row["agent"] or "-"), 18)
        name = shorten(printable(row["name"]), 44)
        duration = format_duration(int(float(row["duration_ms"]) * 1e6))
        typer.echo(f"{step:>5}  {agent:<18} {row['kind']:<8} {name:<44} {duration:>9}  {row['status']}")
    if not rows:
        typer.echo("no spans")
