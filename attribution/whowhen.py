"""Who&When logs as rootspan traces, and the exact-match evaluation of the engine on them.

Who&When (Zhang, Yin et al., ICML 2025) labels failed multi-agent runs with the agent and the
step that caused the failure. Each log becomes one trace: a workflow root holding the question
(and, unless told not to, the ground-truth answer as ``rootspan.expected``), then one span per
history entry with ``rootspan.step`` = the history index, the speaker as the agent and the
message as the span's output. Terminal entries become tool spans. Timestamps are synthetic
(one second per entry) but monotone, so time order is history order.

``mistake_reason`` (the annotators' explanation) is never read: the converter copies only the
fields it names, and labels hold only the agent and step.

Honesty: the development data is split deterministically by a hash of ``<subset>/<file>`` into a
*tune* part (the only part heuristics were tuned on) and a *holdout* part; eval reports both.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from rootspan import semconv as sc
from rootspan.errors import UserError
from rootspan.model import Label, LabelCulprit, Span, StatusCode, Trace, Verdict

SUBSETS = ("Algorithm-Generated", "Hand-Crafted")
ANSWER_KEY = "ground_truth"
TERMINAL_AGENTS = {"Computer_terminal", "ComputerTerminal"}
HUMAN_ROLES = {"human", "user"}
ROLE_ATTRIBUTE = "rootspan.whowhen.role"
BASE_TIME_NS = 1_700_000_000_000_000_000
STEP_NS = 1_000_000_000

_ROLE_SUFFIX = re.compile(r"\s*\([^()]*\)\s*$")
# The source formats' own signals, lowered here into rootspan's generic attributes so that the
# engine reads them from any producer: Magentic-One's progress ledger, AutoGen's code runner and
# its TERMINATE convention. Nothing outside this importer knows these strings.
_LEDGER = {
    sc.ROOTSPAN_PROGRESS: (re.compile(r'"is_progress_being_made"\s*:\s*\{[^{}]*"answer"\s*:\s*(true|false)', re.S), "false", False),
    sc.ROOTSPAN_LOOP: (re.compile(r'"is_in_loop"\s*:\s*\{[^{}]*"answer"\s*:\s*(true|false)', re.S), "true", True),
    sc.ROOTSPAN_DONE_CLAIMED: (re.compile(r'"is_request_satisfied"\s*:\s*\{[^{}]*"answer"\s*:\s*(true|false)', re.S), "true", True),
}
_EXIT_CODE = re.compile(r"^\s*exitcode:\s*(-?\d+)")
_CODE_OUTPUT = re.compile(r"Code output:(.*)\Z", re.S)
_TERMINATE = re.compile(r"\bTERMINATE\b")


def source_signals(content: str) -> dict[str, Any]:
    """Generic rootspan attributes for what a Who&When entry signals in its own format."""
    attributes: dict[str, Any] = {}
    for key, (pattern, flagged, value) in _LEDGER.items():
        match = pattern.search(content)
        if match and match.group(1) == flagged:
            attributes[key] = value
    exit_code = _EXIT_CODE.match(content)
    if exit_code:
        attributes[sc.ROOTSPAN_CODE_EXIT] = int(exit_code.group(1))
        printed = _CODE_OUTPUT.search(content)
        attributes[sc.ROOTSPAN_CODE_OUTPUT] = printed.group(1).strip() if printed else ""
    if _TERMINATE.search(content):
        attributes[sc.ROOTSPAN_STOP] = True
    return attributes
_HANDOFF = re.compile(r"\(->\s*([^)]+)\)")


def normalise_agent(name: str) -> str:
    """'Orchestrator (thought)' / 'Orchestrator (-> WebSurfer)' / '... (termination condition)' -> 'Orchestrator'."""
    return _ROLE_SUFFIX.sub("", name).strip()


@dataclass
class Log:
    """One Who&When log file, reduced to the fields rootspan uses (never ``mistake_reason``)."""

    subset: str
    log_id: str
    path: Path
    question: str
    ground_truth: str | None
    history: list[dict[str, str]]
    mistake_agent: str | None
    mistake_step: int | None

    @property
    def key(self) -> str:
        return f"{self.subset}/{self.path.name}"


def split_of(key: str) -> str:
    """Deterministic tune/holdout assignment from a hash of ``<subset>/<file name>`` (half each)."""
    digest = int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16)
    return "tune" if digest % 2 == 0 else "holdout"


def _subset_of(path: Path, fallback: str | None) -> str:
    for part in reversed(path.parts):
        if part in SUBSETS:
            return part
    if fallback:
        return fallback
    raise UserError(f"{path}: cannot tell the Who&When subset (put it under Algorithm-Generated/ or Hand-Crafted/)")


def read_log(path: Path, subset: str | None = None) -> Log:
    """Parse one log file; a file that is not a Who&When log raises UserError."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a JSON Who&When log ({exc})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("history"), list):
        raise UserError(f"{path}: not a Who&When log (no 'history' list)")
    history: list[dict[str, str]] = []
    for entry in raw["history"]:
        if not isinstance(entry, dict):
            raise UserError(f"{path}: history entries must be objects")
        history.append(
            {
                "content": str(entry.get("content") or ""),
                "role": str(entry.get("role") or ""),
                "name": str(entry.get("name") or ""),
            }
        )
    if subset is None:
        # AG logs name the speaker in `name`; HC logs only have a `role`
        subset = _subset_of(path, "Algorithm-Generated" if any(h["name"] for h in history) else "Hand-Crafted")
    step = raw.get("mistake_step")
    try:
        mistake_step = int(step) if step is not None and str(step).strip() != "" else None
    except ValueError:
        mistake_step = None
    agent = raw.get("mistake_agent")
    truth = raw.get(ANSWER_KEY)
    return Log(
        subset=subset,
        log_id=path.stem,
        path=path,
        question=str(raw.get("question") or ""),
        ground_truth=None if truth is None else str(truth),
        history=history,
        mistake_agent=normalise_agent(str(agent)) if agent else None,
        mistake_step=mistake_step,
    )


def _sort_key(path: Path) -> tuple[int, str]:
    return (int(path.stem), path.name) if path.stem.isdigit() else (1 << 30, path.name)


def find_logs(source: Path) -> list[Log]:
    """The Who&When root, one subset folder, or one file -> logs in a stable order."""
    if not source.exists():
        raise UserError(f"{source}: no such file or directory")
    if source.is_file():
        return [read_log(source)]
    logs: list[Log] = []
    subset_dirs = [source / name for name in SUBSETS if (source / name).is_dir()]
    if subset_dirs:
        for folder in subset_dirs:
            logs.extend(read_log(path, folder.name) for path in sorted(folder.glob("*.json"), key=_sort_key))
    else:
        files = sorted(source.glob("*.json"), key=_sort_key)
        logs.extend(read_log(path) for path in files)
    if not logs:
        raise UserError(f"{source}: no Who&When logs (*.json) found")
    return logs


def _agent_of_entry(entry: dict[str, str]) -> str:
    return normalise_agent(entry["name"] or entry["role"]) or "unknown"


def _trace_id(log: Log) -> str:
    return hashlib.sha256(log.key.encode("utf-8")).hexdigest()[:32]


def _span_id(log: Log, index: int) -> str:
    return hashlib.sha256(f"{log.key}#{index}".encode("utf-8")).hexdigest()[:16]


def log_to_spans(log: Log, with_ground_truth: bool = True) -> list[Span]:
    """One workflow root plus one span per history entry, in history order."""
    trace_id = _trace_id(log)
    root_id = _span_id(log, -1)
    n = len(log.history)
    root_attributes: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
        sc.GEN_AI_WORKFLOW_NAME: f"whowhen {log.subset} {log.log_id}",
        sc.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "parts": [{"type": "text", "content": log.question}]}]),
        sc.ROOTSPAN_OUTCOME: "failure",
    }
    if with_ground_truth and log.ground_truth is not None:
        root_attributes[sc.ROOTSPAN_EXPECTED] = log.ground_truth
    spans = [
        Span(
            trace_id=trace_id,
            span_id=root_id,
            name=f"invoke_workflow whowhen-{log.log_id}",
            start_ns=BASE_TIME_NS,
            end_ns=BASE_TIME_NS + (n + 1) * STEP_NS,
            attributes=root_attributes,
            status_code=StatusCode.ERROR,
            status_message="wrong final answer",
        )
    ]
    for index, entry in enumerate(log.history):
        agent = _agent_of_entry(entry)
        start = BASE_TIME_NS + (index + 1) * STEP_NS
        attributes: dict[str, Any] = {
            sc.GEN_AI_AGENT_NAME: agent,
            sc.ROOTSPAN_STEP: index,
            sc.ROOTSPAN_OUTPUT: entry["content"],
            ROLE_ATTRIBUTE: entry["role"] if not entry["name"] else f"{entry['role']}:{entry['name']}",
            **source_signals(entry["content"]),
        }
        if agent in TERMINAL_AGENTS:
            attributes[sc.GEN_AI_OPERATION_NAME] = sc.OP_EXECUTE_TOOL
            attributes[sc.GEN_AI_TOOL_NAME] = agent
            name = f"execute_tool {agent}"
        else:
            attributes[sc.GEN_AI_OPERATION_NAME] = sc.OP_INVOKE_AGENT
            name = f"invoke_agent {agent}"
        handoff = _HANDOFF.search(entry["role"])
        if handoff:
            attributes[sc.ROOTSPAN_HANDOFF_TO] = handoff.group(1).strip()
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=_span_id(log, index),
                parent_span_id=root_id,
                name=name,
                start_ns=start,
                end_ns=start + STEP_NS - 1,
                attributes=attributes,
            )
        )
    return spans


def log_to_trace(log: Log, with_ground_truth: bool = True) -> Trace:
    return Trace(trace_id=_trace_id(log), spans=log_to_spans(log, with_ground_truth))


def log_label(log: Log) -> Label:
    """labels.json for an imported log: the annotated agent and step as the culprit."""
    span_id = _span_id(log, log.mistake_step) if log.mistake_step is not None else None
    return Label(
        fault=f"whowhen:{log.subset}",
        kind="failure",
        culprit=LabelCulprit(span_id=span_id, agent=log.mistake_agent, step=log.mistake_step),
        category=None,
        trace_id=_trace_id(log),
    )


def import_logs(source: Path, out: Path) -> list[Path]:
    """Write one run directory per log: OUT/<subset>/<id>/{traces.jsonl,labels.json}."""
    from rootspan.rundir import write_labels, write_traces
    from rootspan.safe_write import ensure_dir

    written: list[Path] = []
    for log in find_logs(source):
        run_dir = out / log.subset / log.log_id
        try:
            # OUT/<subset>/<id> made without following a symlinked folder planted below OUT;
            # re-import replaces the files whole (atomically), never appends a second copy
            ensure_dir(run_dir, root=out)
            write_traces(run_dir, log_to_spans(log), replace=True)
            write_labels(run_dir, log_label(log))
        except OSError as exc:
            raise UserError(f"{run_dir}: cannot write the run directory ({exc.strerror or exc})") from exc
        written.append(run_dir)
    return written


# --- evaluation ---------------------------------------------------------------------------------

Predict = Callable[[Trace], Verdict]


def _default_predict(trace: Trace) -> Verdict:
    from rootspan.attribution import attribute_trace

    return attribute_trace(trace)


def evaluate(
    logs: Iterable[Log],
    with_ground_truth: bool = True,
    split: str = "all",
    predict: Predict | None = None,
) -> dict[str, Any]:
    """Exact-match agent and step accuracy per subset, plus the tune/holdout breakdown."""
    predict = predict or _default_predict
    per: dict[str, dict[str, dict[str, int]]] = {}
    for log in logs:
        part = split_of(log.key)
        if split != "all" and part != split:
            continue
        verdict = predict(log_to_trace(log, with_ground_truth))
        culprit = top_candidate(verdict)
        agent_ok = culprit is not None and log.mistake_agent is not None and culprit.agent == log.mistake_agent
        step_ok = culprit is not None and log.mistake_step is not None and culprit.step == log.mistake_step
        for bucket in (part, "all"):
            counts = per.setdefault(log.subset, {}).setdefault(bucket, {"n": 0, "agent": 0, "step": 0})
            counts["n"] += 1
            counts["agent"] += int(agent_ok)
            counts["step"] += int(step_ok)
    result: dict[str, Any] = {}
    for subset in SUBSETS:
        buckets = per.get(subset, {})
        overall = buckets.get("all", {"n": 0, "agent": 0, "step": 0})
        entry: dict[str, Any] = _fractions(overall)
        entry["splits"] = {name: _fractions(buckets[name]) for name in ("tune", "holdout") if name in buckets}
        result[subset] = entry
    return result


def top_candidate(verdict: Verdict) -> Any:
    """The engine's best guess: the culprit, or the first candidate of an undetermined verdict.

    Exact-match accuracy is over every log, as the published figures are; an abstention is
    scored by its best candidate, never skipped.
    """
    if verdict.culprit is not None:
        return verdict.culprit
    return verdict.alternatives[0] if verdict.alternatives else None


def _fractions(counts: dict[str, int]) -> dict[str, Any]:
    n = counts["n"]
    return {
        "n": n,
        "agent_accuracy": round(counts["agent"] / n, 4) if n else None,  # no logs: no accuracy, not 0
        "step_accuracy": round(counts["step"] / n, 4) if n else None,
    }


def trivial_baselines(logs: Iterable[Log], split: str = "all") -> dict[str, dict[str, float]]:
    """The no-model priors of ANCHORS.md, measured on the same logs (percent, exact match)."""
    rows: dict[str, dict[str, list[int]]] = {}

    def add(name: str, subset: str, hit: bool) -> None:
        counts = rows.setdefault(name, {}).setdefault(subset, [0, 0])
        counts[0] += 1
        counts[1] += int(hit)

    for log in logs:
        if split != "all" and split_of(log.key) != split:
            continue
        agents = [_agent_of_entry(entry) for entry in log.history]
        if log.subset == "Algorithm-Generated":
            talkers = [agent for agent in agents if agent not in TERMINAL_AGENTS]
            busiest = max(set(talkers), key=lambda agent: (talkers.count(agent), -talkers.index(agent))) if talkers else None
            add("agent with the most turns", log.subset, busiest == log.mistake_agent)
            first = agents.index(busiest) if busiest in agents else None
            add("its first step", log.subset, first is not None and first == log.mistake_step)
            add("always step 0", log.subset, log.mistake_step == 0)
            add("always step 1", log.subset, log.mistake_step == 1)
        else:
            add("always WebSurfer", log.subset, log.mistake_agent == "WebSurfer")
            surfer = agents.index("WebSurfer") if "WebSurfer" in agents else None
            add("WebSurfer's first step", log.subset, surfer is not None and surfer == log.mistake_step)
            add("always Orchestrator", log.subset, log.mistake_agent == "Orchestrator")
            add("always step 1", log.subset, log.mistake_step == 1)
    return {
        name: {subset: round(100 * hits / n, 1) for subset, (n, hits) in subsets.items()}
        for name, subsets in rows.items()
    }
