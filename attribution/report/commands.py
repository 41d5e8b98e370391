"""``rootspan report``: compare baseline and candidate runs in CI and exit 1 on a regression.

Only cheap imports here (typer, the core app object): the comparison, statistics and renderers
load when the command runs, so ``rootspan --help`` stays fast and never touches torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer
from typer.core import TyperCommand

from rootspan.cli_app import app, bench_app
from rootspan.errors import UserError
from rootspan.safe_write import write_atomic
from rootspan.text import printable

FORMATS = ("md", "junit", "json")
_MULTI_VALUE = ("--baseline", "-b", "--candidate", "-c")


class _MultiValueCommand(TyperCommand):
    """Accept ``--baseline A B C`` as well as ``--baseline A --baseline B`` (click wants the latter).

    The arguments are rewritten before parsing: every bare word after a multi-value option is
    given its own copy of that option, until the next option.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        current: str | None = None
        for index, arg in enumerate(args):
            if arg == "--":
                rewritten.extend(args[index:])
                break
            if arg.startswith("-") and arg != "-":
                current = arg if arg in _MULTI_VALUE else None
                if current is not None:
                    continue  # re-emitted in front of each value below
                rewritten.append(arg)
            elif current is not None:
                rewritten.extend([current, arg])
            else:
                rewritten.append(arg)
        if current is not None and (not args or args[-1] == current):
            rewritten.append(current)  # a trailing option with no value: let click report it
        return super().parse_args(ctx, rewritten)


def _svg_path(output: Path) -> Path:
    return output.with_suffix(".svg") if output.suffix.lower() == ".md" else output.with_name(output.name + ".svg")


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)  # a symlink planted at FILE is replaced, its target never written
    except UserError:
        raise
    except OSError as exc:
        raise UserError(f"{path}: cannot write ({exc.strerror or exc})") from exc


@app.command("report", cls=_MultiValueCommand)
def report_command(
    baseline: List[Path] = typer.Option(..., "--baseline", "-b", metavar="RUN...", help="Baseline run directories or traces files."),
    candidate: List[Path] = typer.Option(..., "--candidate", "-c", metavar="RUN...", help="Candidate run directories or traces files."),
    output_format: str = typer.Option("md", "--format", "-f", help="md (GitHub summary / PR comment), junit or json."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout (md: also FILE.svg)."),
    config_path: Optional[Path] = typer.Option(
        None, "--config", help="pyproject.toml holding [tool.rootspan.report] (default: ./pyproject.toml if there is one)."
    ),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="Family-wise significance level (default 0.05)."),
    correction: Optional[str] = typer.Option(None, "--correction", help="holm (default) or none."),
    latency_ratio: Optional[float] = typer.Option(None, "--latency-ratio", help="Minimum median latency ratio (default 1.10)."),
    latency_min_ms: Optional[float] = typer.Option(None, "--latency-min-ms", help="Minimum median latency increase in ms (default 50)."),
    success_drop: Optional[float] = typer.Option(None, "--success-drop", help="Minimum success-rate drop in points (default 5)."),
    rate_rise: Optional[float] = typer.Option(None, "--rate-rise", help="Minimum error/retry/loop rate rise in points (default 5)."),
    resource_ratio: Optional[float] = typer.Option(None, "--resource-ratio", help="Minimum tokens/cost/GPU ratio (default 1.10)."),
    steps: Optional[bool] = typer.Option(None, "--steps/--no-steps", help="Check every aligned LLM/tool step (default on)."),
    bootstrap: Optional[int] = typer.Option(None, "--bootstrap", help="Resamples for latency-ratio intervals, 0 for none (default 1000)."),
    attribution: bool = typer.Option(True, "--attribution/--no-attribution", help="Name failure culprits with the attribution engine."),
) -> None:
    """Compare candidate runs with baseline runs; exit 1 on a regression, 2 on bad input.

    A check regresses when it is both significant (corrected for the number of checks) and past
    its minimum effect. Thresholds come from [tool.rootspan.report] in ./pyproject.toml; flags
    win. See docs/ci.md.
    """
    from rootspan.cli_support import load_run_for_cli, refuse_to_overwrite_inputs

    from rootspan.attribution.report.compare import compare_runs
    from rootspan.attribution.report.config import load_config
    from rootspan.attribution.report.fmt import headline

    if output_format not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {output_format!r}")
    overrides = {
        "alpha": alpha,
        "correction": correction,
        "latency_ratio": latency_ratio,
        "latency_min_ms": latency_min_ms,
        "success_drop_points": success_drop,
        "rate_rise_points": rate_rise,
        "resource_ratio": resource_ratio,
        "steps": steps,
        "bootstrap": bootstrap,
    }
    if config_path is None:
        config_path = Path("pyproject.toml")  # the project's own thresholds when run from its root
    elif not config_path.is_file():
        # Named explicitly: a typo must not silently loosen the gate to the defaults.
        what = "is a directory, not a pyproject.toml" if config_path.is_dir() else "no such file"
        raise UserError(f"{config_path}: {what} (--config)")
    config = load_config(config_path, overrides)
    baseline_runs = [load_run_for_cli(path) for path in baseline]
    candidate_runs = [load_run_for_cli(path) for path in candidate]
    if output is not None:
        if output.is_dir():
            raise UserError(f"{output}: is a directory; give -o a file name")
        for target in (output, _svg_path(output)) if output_format == "md" else (output,):
            refuse_to_overwrite_inputs(target, baseline_runs + candidate_runs)
    report = compare_runs(baseline_runs, candidate_runs, config, **({} if attribution else {"attribute": None}))
    if output_format == "md":
        from rootspan.attribution.report.render_md import render_markdown

        svg_link = None
        if output is not None:
            from rootspan.attribution.report.svg import render_svg

            svg_file = _svg_path(output)
            _write(svg_file, render_svg(report))
            svg_link = svg_file.name
        text = render_markdown(report, svg_link)
    elif output_format == "junit":
        from rootspan.attribution.report.render_junit import render_junit

        text = render_junit(report)
    else:
        from rootspan.attribution.report.render_json import render_json

        text = render_json(report)
    if output is None:
        typer.echo(text, nl=False)
    else:
        _write(output, text)
        typer.echo(f"rootspan report: {printable(headline(report))} -> {printable(output)}")
    if report.exit_code:
        raise typer.Exit(report.exit_code)


@bench_app.command("report")
def bench_report_command(
    seeds: int = typer.Option(200, "--seeds", help="Seeded comparisons per scenario."),
    runs: int = typer.Option(10, "--runs", help="Traces per side in each comparison."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """False-alarm rate on noise-only synthetic runs and detection rate on injected regressions."""
    from rootspan.cli_support import print_json

    from rootspan.attribution.report.bench import run_benchmark

    if seeds < 1 or runs < 1:
        raise UserError("--seeds and --runs must be at least 1")
    result = run_benchmark(seeds, runs)
    if as_json:
        print_json(result)
        return
    typer.echo(f"{seeds} seeds x {runs} traces per side ({result['seconds']} s)")
    for name, row in result["scenarios"].items():
        typer.echo(f"  {name:<45} {row['flagged']:>4}/{row['seeds']}  {row['rate'] * 100:5.1f}%")
