"""The scenario corpus as a benchmark: run each instrumented app, attribute its run, score the verdict.

benchmarks/scenarios/<class>/<name>.py are real multi-agent programs (rootspan.tracer or
OpenInference spans, content on) that fail the way apps fail for users; each records its own ground
truth in labels.json (the span where the failure entered; the engine never reads the file). Slowdown
scenarios run twice, ``--variant baseline`` and ``--variant candidate``, and the candidate is
attributed against the baseline.

The corpus is split by ``benchmarks/scenarios/holdout.txt``: the scenarios it lists (written by
authors who never saw the engine, and never opened while changing rules) are the *holdout*; all
others are *tune*, the only part calibration is fitted on and a developer may look at. A corpus
folder without the file is split by a hash of ``<class>/<file>`` instead. Accuracy counts the top candidate of undetermined
verdicts too, so abstaining never inflates it; confidence and calibration are reported on all.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rootspan.attribution.calibration import expected_calibration_error, fit_platt
from rootspan.errors import UserError
from rootspan.model import Run, Verdict

FAILURE_CLASSES = ("structural", "provenance", "process", "constraint")
SLOWDOWN_CLASS = "slowdown"
SCENARIO_TIMEOUT_S = 120
CONFIDENT = 0.8


def default_dir() -> Path:
    """benchmarks/scenarios of the source tree this package runs from (an editable install)."""
    return Path(__file__).resolve().parents[1] / "benchmarks" / "scenarios"


HOLDOUT_FILE = "holdout.txt"


def holdout_keys(root: Path) -> set[str] | None:
    """``<class>/<file>`` keys listed in the corpus' holdout file (comments after #), or None."""
    path = root / HOLDOUT_FILE
    if not path.is_file():
        return None
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line}


def split_of(key: str, holdout: set[str] | None = None) -> str:
    if holdout is not None:
        return "holdout" if key in holdout else "tune"
    digest = int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16)
    return "tune" if digest % 2 == 0 else "holdout"


def discover(root: Path) -> list[tuple[str, Path]]:
    """(class, file) of every scenario program under root, in a stable order."""
    if not root.is_dir():
        raise UserError(f"{root}: no scenario folder (give one with --scenarios DIR)")
    found = []
    for klass in FAILURE_CLASSES + (SLOWDOWN_CLASS,):
        folder = root / klass
        if folder.is_dir():
            found.extend((klass, path) for path in sorted(folder.glob("*.py")) if not path.name.startswith("_"))
    if not found:
        raise UserError(f"{root}: no scenario programs (<class>/<name>.py)")
    return found


def _run_program(path: Path, out: Path, variant: str | None = None) -> str | None:
    command = [sys.executable, str(path), "--out", str(out)] + (["--variant", variant] if variant else [])
    try:
        process = subprocess.run(command, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"timed out after {SCENARIO_TIMEOUT_S}s"
    if process.returncode != 0 or not (out / "labels.json").is_file():
        lines = (process.stderr or process.stdout or "no output").strip().splitlines()
        return lines[-1] if lines else f"exit {process.returncode}"
    return None


def _label(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "labels.json").read_text(encoding="utf-8"))


def _truth(run: Run, label: dict[str, Any]) -> tuple[Verdict | None, dict[str, Any]] | None:
    span_id = (label.get("culprit") or {}).get("span_id")
    for trace in run.trace_list():
        span = trace.get(span_id) if span_id else None
        if span is not None:
            return None, {"trace": trace, "span": span, "agent": trace.agent_of(span), "step": span.step}
    return None


def turn_step(trace: Any, span: Any) -> int | None:
    """The step of the agent turn a model call belongs to; any other span's own step.

    Ground truth and verdicts may name either the model call that produced a wrong value or the
    agent turn around it (the engine reports turns: a call's words are its turn's); both name the
    same step of the run, so steps are compared at turn level.
    """
    from rootspan.model import SpanKind

    if span.kind is SpanKind.LLM:
        for ancestor in trace.ancestors(span):
            if ancestor.kind is SpanKind.AGENT:
                return ancestor.step
    return span.step


def score_failure(run_dir: Path) -> dict[str, Any]:
    """The verdict of one failing scenario against its ground truth."""
    from rootspan.attribution import attribute_run
    from rootspan.attribution.whowhen import top_candidate
    from rootspan.rundir import load_run

    run = load_run(run_dir)
    label = _label(run_dir)
    truth = _truth(run, label)
    if truth is None:
        return {"error": "the scenario marked no culprit span that is in its trace"}
    expected = truth[1]
    verdicts = attribute_run(run)
    verdict = next((v for v in verdicts if v.trace_id == expected["trace"].trace_id), None)
    if verdict is None or verdict.outcome != "failure":
        return {"error": "the run did not fail", "succeeded": label.get("succeeded")}
    guess = top_candidate(verdict)
    trace = expected["trace"]
    guessed_span = trace.get(guess.span_id) if guess is not None else None
    agent_ok = guess is not None and guess.agent == expected["agent"]
    step_ok = guessed_span is not None and turn_step(trace, guessed_span) == turn_step(trace, expected["span"])
    return {
        "predicted": {"agent": getattr(guess, "agent", None), "step": getattr(guess, "step", None), "category": verdict.category},
        "expected": {"agent": expected["agent"], "step": expected["step"], "category": label.get("category")},
        "agent": agent_ok,
        "step": step_ok,
        "confidence": verdict.confidence,
        "determined": verdict.determined,
        "raw_share": verdict.evidence_share,
        "direct": verdict.direct_evidence,
    }


def score_slowdown(baseline_dir: Path, candidate_dir: Path) -> dict[str, Any]:
    """The top bottleneck of the candidate against the baseline, against the slowed span."""
    from rootspan.attribution import attribute_run
    from rootspan.rundir import load_run

    candidate = load_run(candidate_dir)
    baseline = load_run(baseline_dir)
    label = _label(candidate_dir)
    truth = _truth(candidate, label)
    if truth is None:
        return {"error": "the scenario marked no slowed span that is in its trace"}
    expected = truth[1]
    verdicts = attribute_run(candidate, baseline=baseline)
    verdict = next((v for v in verdicts if v.trace_id == expected["trace"].trace_id), verdicts[0] if verdicts else None)
    top = verdict.bottlenecks[0] if verdict is not None and verdict.bottlenecks else None
    span = expected["trace"].get(top.span_id) if top is not None else None
    return {
        "predicted": {"span": span.name if span else None, "step": span.step if span else None, "bound_by": top.bound_by if top else None},
        "expected": {"span": expected["span"].name, "step": expected["step"], "bound_by": label.get("bound_by")},
        "span": span is not None and span.span_id == expected["span"].span_id,
        "bound_by": top is not None and top.bound_by == label.get("bound_by"),
    }


def _run_one(klass: str, path: Path, root: Path, tmp: Path) -> dict[str, Any]:
    key = f"{klass}/{path.name}"
    row: dict[str, Any] = {"scenario": key, "class": klass, "split": split_of(key, holdout_keys(root))}
    out = tmp / key.replace("/", "__").removesuffix(".py")
    if klass == SLOWDOWN_CLASS:
        problems = [_run_program(path, out / variant, variant) for variant in ("baseline", "candidate")]
        problem = next((p for p in problems if p), None)
        row.update({"error": problem} if problem else score_slowdown(out / "baseline", out / "candidate"))
    else:
        problem = _run_program(path, out)
        row.update({"error": problem} if problem else score_failure(out))
    return row


def run_corpus(root: Path | None = None, workers: int = 2, progress: bool = True) -> list[dict[str, Any]]:
    """Run and score every scenario (two at a time: each is a short subprocess)."""
    root = root or default_dir()
    programs = discover(root)
    with tempfile.TemporaryDirectory(prefix="rootspan-scenarios-") as tmp:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(_run_one, klass, path, root, Path(tmp)) for klass, path in programs]
            rows = []
            for index, future in enumerate(futures, 1):
                rows.append(future.result())
                if progress:
                    print(f"scenario {index}/{len(futures)} {rows[-1]['scenario']}", file=sys.stderr, flush=True)
    return rows


def _rate(rows: list[dict[str, Any]], key: str) -> float | None:
    return round(sum(bool(row[key]) for row in rows) / len(rows), 3) if rows else None


def summarize_corpus(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per class and per split: top-1 agent and step, abstention, calibration, confident mistakes."""
    failures = [row for row in rows if row["class"] != SLOWDOWN_CLASS and "error" not in row]
    slowdowns = [row for row in rows if row["class"] == SLOWDOWN_CLASS and "error" not in row]
    result: dict[str, Any] = {"n": len(failures), "errors": [f"{row['scenario']}: {row['error']}" for row in rows if "error" in row]}
    result["per_class"] = {
        klass: {"n": len(members), "agent": _rate(members, "agent"), "step": _rate(members, "step")}
        for klass in FAILURE_CLASSES
        if (members := [row for row in failures if row["class"] == klass])
    }
    for split in ("tune", "holdout", "all"):
        members = [row for row in failures if split == "all" or row["split"] == split]
        confidences = [row["confidence"] for row in members]
        correct = [bool(row["step"]) for row in members]
        ece = expected_calibration_error(confidences, correct)
        result[split] = {
            "n": len(members),
            "agent": _rate(members, "agent"),
            "step": _rate(members, "step"),
            "undetermined": _rate([{"u": not row["determined"]} for row in members], "u"),
            "ece": round(ece, 3) if ece is not None else None,
            "confident_and_wrong": _rate([{"w": row["confidence"] >= CONFIDENT and not row["step"]} for row in members], "w"),
        }
    result["slowdown"] = {"n": len(slowdowns), "span": _rate(slowdowns, "span"), "bound_by": _rate(slowdowns, "bound_by")}
    result["misses"] = [
        {"scenario": row["scenario"], "predicted": row["predicted"], "expected": row["expected"]}
        for row in failures + slowdowns
        if not (row.get("step", True) and row.get("span", True) and row.get("bound_by", True))
    ]
    return result


def fit_calibration(rows: list[dict[str, Any]]) -> tuple[float, float, float]:
    """Calibration parameters from the tune part's failure scenarios (raw shares, direct backing,
    step correctness)."""
    members = [row for row in rows if row["class"] != SLOWDOWN_CLASS and "error" not in row and row["split"] == "tune"]
    return fit_platt([row["raw_share"] for row in members], [bool(row["step"]) for row in members],
                     [bool(row.get("direct")) for row in members])
