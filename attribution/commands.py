"""The attribution commands: ``attribute``, ``import whowhen``, ``eval whowhen``, ``bench attribution``.

Only cheap imports here (the CLI loads every part's commands at start): the engine, networkx and
the data readers are imported inside each command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from rootspan.cli_app import app, bench_app, eval_app, import_app
from rootspan.errors import UserError

JUDGE_HELP = "OpenAI-compatible endpoint (base URL) of an optional LLM judge; off by default."


def _make_judge(url: Optional[str], model: str) -> Any:
    if not url:
        return None
    from rootspan.attribution.judge import OpenAIJudge

    return OpenAIJudge(url, model=model)


@app.command("attribute")
def attribute_command(
    run_paths: list[Path] = typer.Argument(
        ..., metavar="RUN", help="A run directory or a traces.jsonl file; several: parts of the same traces "
        "(a client's and a model server's), merged by trace id."
    ),
    as_json: bool = typer.Option(False, "--json", help='Print {"verdicts": [...], "summary": {...}} as JSON.'),
    baseline: Optional[Path] = typer.Option(None, "--baseline", metavar="RUN", help="A baseline run to compare timings with."),
    judge: Optional[str] = typer.Option(None, "--judge", metavar="URL", help=JUDGE_HELP),
    judge_model: str = typer.Option("default", "--judge-model", help="Model name sent to the judge endpoint."),
    write: bool = typer.Option(True, "--write/--no-write", help="Write verdicts.json into RUN (the first one) when it is a directory."),
) -> None:
    """Who broke the run, at which step and why; which traces were slow and the bottleneck behind each."""
    from rootspan.attribution import attribute_run, summarize
    from rootspan.attribution.render import render_verdicts
    from rootspan.attribution.slow_traces import slow_summary
    from rootspan.cli_support import load_run_for_cli, print_json, warn
    from rootspan.rundir import write_verdicts

    run = load_run_for_cli(run_paths)
    run_path = run_paths[0]  # verdicts.json goes to the first run directory
    if not run.traces:
        raise UserError(f"{run_path}: no spans to analyse")
    baseline_run = load_run_for_cli(baseline) if baseline is not None else None
    if baseline_run is not None and not baseline_run.traces:
        raise UserError(f"{baseline}: the baseline run has no spans to compare with")
    verdicts = attribute_run(run, baseline=baseline_run, judge=_make_judge(judge, judge_model))
    summary = summarize(verdicts)
    summary.update(slow_summary(run, verdicts, baseline_run))
    written = None
    if write and run_path.is_dir():
        try:
            written = write_verdicts(run_path, verdicts, summary)
        except OSError as exc:  # a read-only run still gets its report
            warn(f"{run_path}: cannot write verdicts.json ({exc.strerror or exc}); use --no-write to skip it")
    if as_json:
        print_json({"verdicts": [verdict.model_dump(mode="json") for verdict in verdicts], "summary": summary})
        return
    typer.echo(render_verdicts(run, verdicts, summary, compared=baseline_run is not None))
    if written is not None:
        typer.echo(f"wrote {written}")


@import_app.command("whowhen")
def import_whowhen_command(
    source: Path = typer.Argument(..., metavar="DIR", help="The Who&When folder, one subset folder, or one log file."),
    out: Path = typer.Option(..., "-o", "--out", help="Folder to write one run directory per log into."),
) -> None:
    """Convert Who&When logs into run directories (OUT/<subset>/<id>/traces.jsonl + labels.json)."""
    from rootspan.attribution.whowhen import import_logs

    if source.is_dir() and out.resolve().is_relative_to(source.resolve()):
        raise UserError(f"{out}: is inside the input folder {source}; pick an -o outside it (inputs are never modified)")
    written = import_logs(source, out)
    typer.echo(f"wrote {len(written)} run directories under {out}")


@eval_app.command("whowhen")
def eval_whowhen_command(
    source: Path = typer.Argument(..., metavar="DIR", help="The Who&When folder, one subset folder, or one log file."),
    as_json: bool = typer.Option(False, "--json", help="Print accuracies (fractions) per subset as JSON."),
    no_ground_truth: bool = typer.Option(False, "--no-ground-truth", help="Hide the expected answer from the engine."),
    split: str = typer.Option("all", "--split", help="tune, holdout or all (a fixed hash split of the files)."),
    judge: Optional[str] = typer.Option(None, "--judge", metavar="URL", help=JUDGE_HELP),
    judge_model: str = typer.Option("default", "--judge-model", help="Model name sent to the judge endpoint."),
    strategy: str = typer.Option("rescore", "--strategy", help="With --judge: rescore, all-at-once, step-by-step or binary-search."),
) -> None:
    """Agent and step accuracy (exact match) of the engine on Who&When logs, per subset."""
    from rootspan.attribution.render import render_whowhen
    from rootspan.attribution.whowhen import evaluate, find_logs, trivial_baselines
    from rootspan.cli_support import print_json

    if split not in ("tune", "holdout", "all"):
        raise UserError(f"--split must be tune, holdout or all, not {split!r}")
    if strategy != "rescore" and not judge:
        raise UserError(f"--strategy {strategy} needs a judge: add --judge URL (the engine alone uses no strategy)")
    predict = None
    backend = _make_judge(judge, judge_model)
    if backend is not None:
        from rootspan.attribution.judge import strategy_predict

        predict = strategy_predict(backend, strategy)
    logs = find_logs(source)
    result = evaluate(logs, with_ground_truth=not no_ground_truth, split=split, predict=predict)
    if as_json:
        print_json(result)
        return
    typer.echo(render_whowhen(result, trivial_baselines(logs, split), not no_ground_truth, split))


@bench_app.command("attribution")
def bench_attribution_command(
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Demo runs per fault kind."),
    sizes: str = typer.Option("1000,10000,100000", "--sizes", help="Synthetic trace sizes (spans), comma-separated."),
    skip_faults: bool = typer.Option(False, "--skip-faults", help="Only time synthetic traces; no demo runs."),
    device: str = typer.Option("cpu", "--device", help="Device for the demo runs: cpu, or cuda for the GPU-only faults too."),
    tasks: int = typer.Option(4, "--tasks", min=1, help="Word problems per demo run (one trace each)."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Timed runs per synthetic size (best and median reported)."),
    faults: Optional[str] = typer.Option(None, "--faults", metavar="NAME,...", help="Only these demo faults (default: all)."),
    scenarios: Optional[Path] = typer.Option(
        None, "--scenarios", metavar="DIR", help="Scenario corpus folder (default: benchmarks/scenarios of this checkout)."
    ),
    skip_scenarios: bool = typer.Option(False, "--skip-scenarios", help="Do not run the scenario corpus."),
    whowhen: Optional[Path] = typer.Option(None, "--whowhen", metavar="DIR", help="Also evaluate on these Who&When logs."),
    fit_calibration: bool = typer.Option(
        False, "--fit-calibration", help="Only run the corpus and print the calibration parameters fitted on its tune part."
    ),
) -> None:
    """Top-1 accuracy on the scenario corpus and injected demo faults, calibration, and analysis time."""
    from rootspan.attribution.bench import render_bench, run_bench
    from rootspan.attribution.scenarios import default_dir
    from rootspan.cli_support import print_json

    corpus = None if skip_scenarios else (scenarios or default_dir())
    if corpus is not None and not corpus.is_dir():
        if scenarios is not None:
            raise UserError(f"{scenarios}: no such scenario folder")
        corpus = None  # an installed wheel has no benchmarks/ folder: the corpus is optional
    if fit_calibration:
        from rootspan.attribution.scenarios import fit_calibration as fit, run_corpus

        if corpus is None:
            raise UserError("--fit-calibration needs the scenario corpus (--scenarios DIR)")
        a, b, c = fit(run_corpus(corpus))
        print_json({"platt_a": round(a, 4), "platt_b": round(b, 4), "platt_c": round(c, 4),
                    "fitted_on": "tune part of the scenario corpus"})
        return
    try:
        size_list = [int(item) for item in sizes.split(",") if item.strip()]
    except ValueError as exc:
        raise UserError(f"--sizes must be integers separated by commas, got {sizes!r}") from exc
    if not size_list or min(size_list) <= 0:
        raise UserError("--sizes needs at least one positive size")
    if device not in ("cpu", "cuda"):
        raise UserError(f"--device must be cpu or cuda, not {device!r}")
    if device == "cuda" and not skip_faults:
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda asked for but no CUDA device is available")
    result = run_bench(
        seeds=seeds, sizes=size_list, faults=not skip_faults, progress=True, device=device, tasks=tasks, repeats=repeats,
        only=[name.strip() for name in faults.split(",") if name.strip()] if faults else None,
        scenarios=corpus, whowhen=whowhen,
    )
    if as_json:
        print_json(result)
        return
    typer.echo(render_bench(result))
