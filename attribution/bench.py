"""``rootspan bench attribution``: culprit accuracy on injected demo faults, and analysis time by trace size.

Accuracy: for every fault kind of the demo (CONTRACTS.md) and several seeds, run
``rootspan demo --fault NAME --seed S`` into a temporary folder, attribute the run, and compare
the top verdict with labels.json (agent, step, category; for slowdown faults the top bottleneck's
step and ``bound_by``). Speed: synthetic multi-agent traces of the requested sizes with a planted
failure (a value an LLM call invents that reaches the final answer), timed end to end through
``attribute_trace`` (graph, evidence, failure and slowdown analyses), with the planted culprit
checked too, so a fast but wrong engine does not pass.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rootspan import semconv as sc
from rootspan.errors import UserError
from rootspan.model import Span, SpanKind, StatusCode, Trace, Verdict
from rootspan.text import printable

DEMO_TIMEOUT_S = 600


# --- synthetic traces --------------------------------------------------------------------------


def _span(trace_id: str, span_id: str, parent: str | None, name: str, kind: SpanKind, start: int, end: int, attributes: dict[str, Any]) -> Span:
    # model_construct: the generator is trusted and validation would dominate the setup time
    return Span.model_construct(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        otel_kind=1,
        start_ns=start,
        end_ns=end,
        attributes=attributes,
        events=[],
        links=[],
        status_code=StatusCode.UNSET,
        status_message="",
        resource={},
        scope_name="rootspan-bench",
        kind=kind,
    )


def synthetic_trace(n_spans: int, seed: int = 0) -> tuple[Trace, int]:
    """A multi-agent trace of about ``n_spans`` spans with one planted hallucination; returns it and the culprit step.

    Turns of three agents in rotation; each turn is an agent span holding an LLM call and a tool
    call. Each LLM call reads the previous tool result (a value and the next item to look up, both
    in its input) and asks the tool for that item; at the planted turn the LLM states a total no
    input holds, and every later turn carries it along to the final answer.
    """
    rng = random.Random(seed)
    trace_id = f"{seed:08x}".rjust(32, "a")
    agents = ("planner", "researcher", "writer")
    turns = max(1, (n_spans - 1) // 3)
    fault_turn = rng.randrange(max(1, turns // 10), max(2, turns // 2))
    t = 1_700_000_000_000_000_000
    root_id = "f" * 16
    spans: list[Span] = []
    step = 1
    previous_result = f"{rng.randrange(10_000, 99_999)}"
    next_item = f"{rng.randrange(100_000, 999_999)}"
    task = f"find the total, starting from {previous_result} at item {next_item}"
    carried = ""
    culprit_step = -1
    for turn in range(turns):
        agent = agents[turn % len(agents)]
        agent_id = f"{3 * turn + 1:016x}"
        llm_id = f"{3 * turn + 2:016x}"
        tool_id = f"{3 * turn + 3:016x}"
        query = next_item
        claim = f"using {previous_result}, look up item {query}"
        if turn == fault_turn:
            carried = f"{rng.randrange(1_000_000, 9_999_999)}"
            claim += f"; the total is {carried}"
            culprit_step = step  # the agent turn: a model call's words are its agent's (as the demo labels it)
        elif carried:
            claim += f"; the total so far is {carried}"
        result = f"{rng.randrange(10_000, 99_999)}"
        next_item = f"{rng.randrange(100_000, 999_999)}"
        start = t
        spans.append(_span(trace_id, agent_id, root_id, f"invoke_agent {agent}", SpanKind.AGENT, start, start + 9_000_000,
                           {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: agent, sc.ROOTSPAN_STEP: step}))
        spans.append(_span(trace_id, llm_id, agent_id, "chat demo-moe", SpanKind.LLM, start + 100_000, start + 5_000_000,
                           {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_REQUEST_MODEL: "demo-moe", sc.ROOTSPAN_STEP: step + 1,
                            sc.GEN_AI_INPUT_MESSAGES: f"previous result {previous_result}, next item {query}",
                            sc.ROOTSPAN_OUTPUT: claim}))
        spans.append(_span(trace_id, tool_id, agent_id, "execute_tool lookup", SpanKind.TOOL, start + 5_100_000, start + 8_900_000,
                           {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "lookup", sc.ROOTSPAN_STEP: step + 2,
                            sc.GEN_AI_TOOL_CALL_ARGUMENTS: json.dumps({"item": query}),
                            sc.GEN_AI_TOOL_CALL_RESULT: f"{result}; next item {next_item}"}))
        previous_result = result
        step += 3
        t += 10_000_000
    spans.append(_span(trace_id, root_id, None, "invoke_workflow bench", SpanKind.WORKFLOW, 1_700_000_000_000_000_000 - 1, t,
                       {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.ROOTSPAN_STEP: 0, sc.ROOTSPAN_OUTCOME: "failure",
                        sc.GEN_AI_INPUT_MESSAGES: task}))
    return Trace(trace_id=trace_id, spans=spans), culprit_step


def time_synthetic(sizes: list[int], seed: int = 1, repeats: int = 3) -> list[dict[str, Any]]:
    """Seconds per ``attribute_trace`` call: the best and the median of ``repeats`` runs per size.

    The best run is the engine's cost; the median shows what sharing the machine added, and the
    process CPU time what the engine used whatever the other processes did.
    """
    from rootspan.attribution import attribute_trace
    from rootspan.attribution.whowhen import top_candidate

    rows = []
    for size in sizes:
        trace, culprit_step = synthetic_trace(size, seed)
        times = []
        cpu_times = []
        found = None
        for _ in range(max(1, repeats)):
            gc.collect()
            started, cpu_started = time.perf_counter(), time.process_time()
            verdict = attribute_trace(trace)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)
            guess = top_candidate(verdict)  # an undetermined verdict counts by its first candidate, as everywhere
            found = guess.step if guess is not None else None
        best = min(times)
        rows.append(
            {
                "spans": len(trace.spans),
                "seconds": round(best, 3),
                "median_seconds": round(statistics.median(times), 3),
                # CPU time of this process: what the engine costs, whatever else shares the machine
                "cpu_seconds": round(min(cpu_times), 3),
                "repeats": len(times),
                "spans_per_second": round(len(trace.spans) / best) if best > 0 else None,
                "planted_step": culprit_step,
                "found_step": found,
                "culprit_found": found == culprit_step,
            }
        )
    return rows


# --- demo faults -------------------------------------------------------------------------------


def _rootspan_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rootspan", *args]


def demo_faults(device: str) -> dict[str, str] | None:
    """The demo's faults that run on this device, name -> kind (from ``rootspan demo --fault list``), or None."""
    probe = subprocess.run(_rootspan_cmd("demo", "--fault", "list"), capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        return None
    faults: dict[str, str] = {}
    for line in probe.stdout.splitlines()[1:]:
        cells = line.split()
        if len(cells) >= 4 and cells[1] in ("failure", "slowdown"):
            if cells[3] == "gpu" and device != "cuda":
                continue  # GPU-only faults have no CPU analogue
            faults[cells[0]] = cells[1]
    return faults or None


def _run_demo(fault: str, seed: int, out: Path, device: str, tasks: int, profile: str) -> str | None:
    """Run one demo; None when it worked, else the one-line reason."""
    env = dict(os.environ)
    env.pop("ROOTSPAN_RUN_DIR", None)
    command = ("demo", "-o", str(out), "--fault", fault, "--seed", str(seed), "--device", device, "--tasks", str(tasks))
    process = subprocess.run(
        _rootspan_cmd(*command, "--profile", profile),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        env=env,
    )
    if not (out / "traces.jsonl").is_file() or not (out / "labels.json").is_file():
        lines = (process.stderr or process.stdout or "no output").strip().splitlines()
        return lines[-1] if lines else f"exit {process.returncode}"
    return None


def _score_run(run_dir: Path) -> dict[str, Any]:
    from rootspan.attribution import attribute_run
    from rootspan.rundir import load_run

    run = load_run(run_dir)
    label = run.labels
    if label is None:
        return {"error": "no labels.json"}
    verdicts = attribute_run(run)
    verdict = _verdict_for(verdicts, label.trace_id)
    if verdict is None:
        return {"error": "no verdict"}
    if label.kind == "slowdown":
        top = verdict.bottlenecks[0] if verdict.bottlenecks else None
        trace = run.traces.get(verdict.trace_id)
        span = trace.get(top.span_id) if (top is not None and trace is not None) else None
        predicted = {
            "agent": trace.agent_of(span) if (span is not None and trace is not None) else None,
            "step": span.step if span is not None else None,
            "category": top.bound_by if top is not None else None,
        }
    else:
        culprit = verdict.culprit
        predicted = {
            "agent": culprit.agent if culprit else None,
            "step": culprit.step if culprit else None,
            "category": verdict.category,
        }
    expected = {"agent": label.culprit.agent, "step": label.culprit.step, "category": label.category}
    return {
        "kind": label.kind,
        "predicted": predicted,
        "expected": expected,
        "hit": {key: predicted[key] == expected[key] and expected[key] is not None for key in ("agent", "step", "category")},
    }


def _verdict_for(verdicts: list[Verdict], trace_id: str | None) -> Verdict | None:
    if trace_id is not None:
        for verdict in verdicts:
            if verdict.trace_id == trace_id:
                return verdict
    failing = [verdict for verdict in verdicts if verdict.outcome == "failure"]
    return (failing or verdicts or [None])[0]


def fault_accuracy(
    seeds: int, faults: dict[str, str], device: str = "cpu", tasks: int = 4, progress: bool = True
) -> dict[str, Any]:
    """Run every fault ``seeds`` times and score the top verdict against labels.json.

    Failure faults run unprofiled (profiles play no part in failure attribution and cost time);
    slowdown faults run with the default profiling, which their ``bound_by`` needs.
    """
    per_fault: dict[str, Any] = {}
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rootspan-bench-") as tmp:
        for fault, kind in faults.items():
            profile = "off" if kind == "failure" else "auto"
            rows = []
            for seed in range(seeds):
                out = Path(tmp) / f"{fault}-{seed}"
                if progress:
                    print(f"demo --fault {fault} --seed {seed} ...", file=sys.stderr, flush=True)
                try:
                    problem = _run_demo(fault, seed, out, device, tasks, profile)
                except subprocess.TimeoutExpired:
                    problem = f"timed out after {DEMO_TIMEOUT_S}s"
                if problem is not None:
                    errors.append(f"{fault} seed {seed}: {problem}")
                    continue
                rows.append(_score_run(out))
            scored = [row for row in rows if "hit" in row]
            per_fault[fault] = {
                "n": len(scored),
                "kind": scored[0]["kind"] if scored else None,
                **{key: _mean(row["hit"][key] for row in scored) for key in ("agent", "step", "category")},
                "misses": [
                    {"predicted": row["predicted"], "expected": row["expected"]}
                    for row in scored
                    if not all(row["hit"].values())
                ][:3],
            }
    return {"per_fault": per_fault, "errors": errors}


def _mean(values: Any) -> float | None:
    items = [float(value) for value in values]
    return round(sum(items) / len(items), 3) if items else None


def _pooled(per_fault: dict[str, Any], kind: str | None) -> dict[str, Any]:
    chosen = [entry for entry in per_fault.values() if entry["n"] and (kind is None or entry["kind"] == kind)]
    n = sum(entry["n"] for entry in chosen)
    if not n:
        return {"agent": None, "step": None, "category": None, "n": 0}
    return {
        key: round(sum(entry[key] * entry["n"] for entry in chosen) / n, 3) for key in ("agent", "step", "category")
    } | {"n": n}


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def run_bench(
    seeds: int = 3,
    sizes: list[int] | None = None,
    faults: bool = True,
    progress: bool = True,
    device: str = "cpu",
    tasks: int = 4,
    repeats: int = 3,
    only: list[str] | None = None,
    scenarios: Path | None = None,
    whowhen: Path | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine()}
    if scenarios is not None:
        from rootspan.attribution.scenarios import run_corpus, summarize_corpus

        result["scenarios"] = summarize_corpus(run_corpus(scenarios, progress=progress))
    if whowhen is not None:
        from rootspan.attribution.whowhen import evaluate, find_logs, trivial_baselines

        logs = find_logs(whowhen)
        result["whowhen"] = {
            "with_ground_truth": evaluate(logs, with_ground_truth=True),
            "without_ground_truth": evaluate(logs, with_ground_truth=False),
            "trivial_baselines": trivial_baselines(logs),
        }
    names = demo_faults(device) if faults else None
    if names and only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise UserError(f"unknown or unavailable fault(s) on {device}: {', '.join(unknown)}")
        names = {name: kind for name, kind in names.items() if name in only}
    if names:
        accuracy = fault_accuracy(seeds, names, device, tasks, progress)
        per_fault = accuracy["per_fault"]
        overall = _pooled(per_fault, None)
        result["top1_accuracy"] = {key: overall[key] for key in ("agent", "step", "category")}
        result["n"] = overall["n"]
        result["top1_accuracy_failure"] = _pooled(per_fault, "failure")
        result["top1_accuracy_slowdown"] = _pooled(per_fault, "slowdown")
        result["per_fault"] = per_fault
        result["seeds"] = seeds
        result["tasks_per_run"] = tasks
        result["device"] = device
        result["demo_errors"] = accuracy["errors"]
    else:
        result["top1_accuracy"] = {"agent": None, "step": None, "category": None}
        result["n"] = 0
        result["per_fault"] = {}
        result["faults_pending"] = "the demo command is not available in this installation" if faults else "skipped"
    result["timing"] = time_synthetic(sizes or [1000, 10000, 100000], repeats=repeats)
    rows = result["timing"]
    if len(rows) >= 2 and rows[0]["seconds"] > 0:
        # growth exponent between the smallest and largest size: 1.0 is linear
        import math

        first, last = rows[0], rows[-1]
        if last["spans"] != first["spans"] and last["seconds"] > 0:
            result["scaling_exponent"] = round(
                math.log(last["seconds"] / first["seconds"]) / math.log(last["spans"] / first["spans"]), 2
            )
    return result


def _render_scenarios(corpus: dict[str, Any]) -> list[str]:
    lines = [f"scenario corpus: {corpus['n']} failing apps"]
    for klass, entry in corpus["per_class"].items():
        lines.append(f"  {klass:<12} n={entry['n']:<3} top-1 agent {entry['agent']:.2f}  step {entry['step']:.2f}")
    for split in ("tune", "holdout", "all"):
        entry = corpus[split]
        if entry["n"]:
            lines.append(
                f"  {split:<12} n={entry['n']:<3} agent {entry['agent']:.2f}  step {entry['step']:.2f}  undetermined {entry['undetermined']:.2f}"
                f"  ECE {entry['ece']:.3f}  confident-and-wrong {entry['confident_and_wrong']:.2f}"
            )
    slow = corpus["slowdown"]
    if slow["n"]:
        lines.append(f"  slowdown pairs n={slow['n']}  span {slow['span']:.2f}  bound_by {slow['bound_by']:.2f}")
    for problem in corpus["errors"]:
        lines.append(f"  scenario failed to run: {printable(problem)}")
    return lines


def _render_whowhen(entry: dict[str, Any]) -> list[str]:
    lines = ["Who&When (exact match, top candidate):"]
    for mode in ("with_ground_truth", "without_ground_truth"):
        for subset, scores in entry[mode].items():
            if scores["n"]:
                lines.append(
                    f"  {mode.replace('_', ' '):<22} {subset:<20} n={scores['n']:<3} agent {scores['agent_accuracy']:.3f}  step {scores['step_accuracy']:.3f}"
                )
    for name, subsets in entry["trivial_baselines"].items():
        lines.append(f"  prior {name:<26} " + ", ".join(f"{subset} {value:.1f}%" for subset, value in subsets.items()))
    return lines


def render_bench(result: dict[str, Any]) -> str:
    lines = []
    if "scenarios" in result:
        lines.extend(_render_scenarios(result["scenarios"]))
    if "whowhen" in result:
        lines.extend(_render_whowhen(result["whowhen"]))
    top = result.get("top1_accuracy", {})
    if result.get("n"):
        lines.append(
            f"injected faults: n={result['n']}  top-1 agent {top['agent']:.3f}  step {top['step']:.3f}  category {top['category']:.3f}"
        )
        for fault, entry in result["per_fault"].items():
            if not entry["n"]:
                lines.append(f"  {fault:<22} no runs")
                continue
            lines.append(
                f"  {fault:<22} n={entry['n']}  agent {entry['agent']:.2f}  step {entry['step']:.2f}  category {entry['category']:.2f}"
            )
        for problem in result.get("demo_errors", []):
            lines.append(f"  demo failed: {printable(problem)}")
    else:
        errors = result.get("demo_errors") or []
        reason = result.get("faults_pending") or (f"every demo run failed, e.g. {errors[0]}" if errors else "no runs")
        lines.append(f"injected faults: pending ({printable(reason)})")
    lines.append("analysis time (attribute_trace, synthetic traces with a planted hallucination):")
    for row in result["timing"]:
        lines.append(
            f"  {row['spans']:>7} spans  best {row['seconds']:8.3f} s  median {row['median_seconds']:8.3f} s"
            f"  cpu {row['cpu_seconds']:8.3f} s"
            f"  culprit {'found' if row['culprit_found'] else 'MISSED'}"
        )
    if "scaling_exponent" in result:
        lines.append(f"  growth exponent {result['scaling_exponent']} (1.0 = linear)")
    return "\n".join(lines)
