"""Reading and writing run directories, tolerant of what real runs leave behind.

A run killed mid-way leaves a truncated last line; exporters from other tools leave orphans and
duplicates. The loader keeps everything it can, says what it skipped in ``Run.warnings`` (naming
the line or span), and only refuses input that is not OTLP at all. It never writes to its input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from rootspan.errors import UserError
from rootspan.jsonl import parse_json_line
from rootspan.model import Label, Run, Span, Trace, Verdict
from rootspan.perf import gc_paused
from rootspan.safe_write import append_bytes, is_inside, write_atomic
from rootspan.otlp import OTLPDecodeError, decode_span, is_traces_data, iter_traces_data, spans_to_traces_data

TRACES_FILE = "traces.jsonl"
METRICS_FILE = "metrics.jsonl"
KERNELS_DIR = "kernels"
LABELS_FILE = "labels.json"
VERDICTS_FILE = "verdicts.json"

MAX_WARNINGS_PER_KIND = 20


class _Warnings:
    """Collects warnings, keeping the first few of each kind and counting the rest."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._counts: dict[str, int] = {}

    def add(self, kind: str, message: str) -> None:
        count = self._counts.get(kind, 0) + 1
        self._counts[kind] = count
        if count <= MAX_WARNINGS_PER_KIND:
            self.messages.append(message)

    def finish(self) -> list[str]:
        for kind, count in self._counts.items():
            if count > MAX_WARNINGS_PER_KIND:
                self.messages.append(f"... and {count - MAX_WARNINGS_PER_KIND} more {kind} warnings")
        return self.messages


def resolve_traces_path(path: Path) -> Path:
    """A run directory or a traces file -> the traces file, or a one-line UserError.

    A traces file named on the command line is read wherever it is; the one inside a run
    directory must not be a symlink out of that directory (a run directory from someone else
    could otherwise make rootspan read, and export, any file of the user's).
    """
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    if path.is_dir():
        candidate = path / TRACES_FILE
        if not candidate.is_file():
            raise UserError(f"{path}: not a run directory (no {TRACES_FILE} in it)")
        if not is_inside(candidate, path):
            raise UserError(f"{candidate}: a symbolic link to outside the run directory; not read")
        return candidate
    return path


def _inside_run(path: Path, run_dir: Path, warnings: _Warnings) -> bool:
    """Whether a run file may be read: symlinks out of the run directory are skipped, with a warning."""
    if is_inside(path, run_dir):
        return True
    warnings.add("symlink", f"{path}: a symbolic link to outside the run directory; skipped")
    return False


def _report_problems(warnings: _Warnings, where: str, problems: list[str]) -> None:
    for problem in problems:
        warnings.add("field", f"{where}: {problem}")
    problems.clear()


def read_spans(traces_path: Path, warnings: _Warnings) -> list[Span]:
    """Decode every span of an OTLP JSON Lines file, skipping (and reporting) what is broken.

    The file is read line by line, not whole: a 1M-span run is half a gigabyte of text.
    """
    spans: list[Span] = []
    otlp_lines = 0
    bad_lines = 0
    problems: list[str] = []
    strings: dict[str, str] = {}
    trace_ids: dict[str, str] = {}
    try:
        handle = traces_path.open("rb")
    except OSError as exc:
        raise UserError(f"{traces_path}: cannot read ({exc.strerror or exc})") from exc
    with handle:
        try:
            for line_no, raw_line in enumerate(handle, start=1):
                if not raw_line.strip():
                    continue
                try:
                    obj: Any = parse_json_line(raw_line)
                except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
                    bad_lines += 1
                    if not raw_line.endswith(b"\n"):
                        warnings.add("truncated", f"{traces_path.name} line {line_no}: truncated last line skipped")
                    else:
                        warnings.add("invalid", f"{traces_path.name} line {line_no}: invalid JSON skipped ({exc})")
                    continue
                if not is_traces_data(obj):
                    bad_lines += 1
                    warnings.add("invalid", f"{traces_path.name} line {line_no}: not an OTLP TracesData object, skipped")
                    continue
                otlp_lines += 1
                where = f"{traces_path.name} line {line_no}"
                try:
                    for resource, scope_name, raw_spans in iter_traces_data(obj, problems):
                        _report_problems(warnings, where, problems)
                        for position, raw_span in enumerate(raw_spans):
                            name = raw_span.get("name") if type(raw_span) is dict else None
                            label = f"span {position}" + (f" {name!r}" if type(name) is str else "")
                            try:
                                spans.append(decode_span(raw_span, resource, scope_name, problems, strings, trace_ids))
                            except (OTLPDecodeError, RecursionError) as exc:
                                warnings.add("span", f"{where}: {label} skipped: {exc}")
                                problems.clear()
                            _report_problems(warnings, f"{where}: {label}", problems)
                except OTLPDecodeError as exc:
                    _report_problems(warnings, where, problems)
                    warnings.add("invalid", f"{where}: malformed TracesData skipped ({exc})")
        except OSError as exc:
            raise UserError(f"{traces_path}: cannot read ({exc.strerror or exc})") from exc
    if otlp_lines == 0 and bad_lines > 0:
        raise UserError(f"{traces_path}: not an OTLP JSON Lines traces file (no line holds a TracesData object)")
    return spans


def _break_parent_cycles(spans_by_id: dict[str, Span], warnings: _Warnings) -> None:
    """Detach one span per parent cycle so every tree walk terminates."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in spans_by_id:
        if state.get(start):
            continue
        path: list[str] = []
        current: str | None = start
        while current is not None and current in spans_by_id and not state.get(current):
            state[current] = 1
            path.append(current)
            current = spans_by_id[current].parent_span_id
        if current is not None and state.get(current) == 1:
            cycle = path[path.index(current) :]
            victim = min((spans_by_id[span_id] for span_id in cycle), key=lambda s: (s.start_ns, s.span_id))
            warnings.add(
                "cycle",
                f"span {victim.span_id} {victim.name!r}: parent cycle through {len(cycle)} spans; shown as a root",
            )
            victim.parent_span_id = None
        for span_id in path:
            state[span_id] = 2


def build_traces(spans: Iterable[Span], warnings: _Warnings) -> dict[str, Trace]:
    """Group spans by trace id, dropping duplicates and repairing what would break analyses."""
    grouped: dict[str, dict[str, Span]] = {}
    for span in spans:
        by_id = grouped.setdefault(span.trace_id, {})
        if span.span_id in by_id:
            warnings.add("duplicate", f"span {span.span_id} {span.name!r}: duplicate span id, later copy skipped")
            continue
        if span.end_ns < span.start_ns:
            warnings.add("time", f"span {span.span_id} {span.name!r}: ends before it starts; duration set to 0")
            span.end_ns = span.start_ns
        by_id[span.span_id] = span
    traces: dict[str, Trace] = {}
    for trace_id, by_id in grouped.items():
        for span in by_id.values():
            parent = span.parent_span_id
            if parent == span.span_id:
                warnings.add("cycle", f"span {span.span_id} {span.name!r}: is its own parent; shown as a root")
                span.parent_span_id = None
            elif parent and parent not in by_id:
                warnings.add(
                    "orphan", f"span {span.span_id} {span.name!r}: parent {parent} not in trace {trace_id}; shown as a root"
                )
        _break_parent_cycles(by_id, warnings)
        traces[trace_id] = Trace(trace_id=trace_id, spans=list(by_id.values()))
    return traces


def load_run(path: str | os.PathLike[str]) -> Run:
    """Load a run directory or a single traces file; bad input raises a one-line UserError."""
    path = Path(path)
    traces_path = resolve_traces_path(path)
    warnings = _Warnings()
    with gc_paused():
        spans = read_spans(traces_path, warnings)
        traces = build_traces(spans, warnings)
        run = Run(path=path, traces=traces)
    run_dir = path if path.is_dir() else None
    if run_dir is not None:
        kernels = run_dir / KERNELS_DIR
        if kernels.is_dir():
            run.kernel_files = {
                item.stem: item
                for item in sorted(kernels.glob("*.json"))
                if item.is_file() and _inside_run(item, run_dir, warnings)
            }
        metrics = run_dir / METRICS_FILE
        run.metrics_path = metrics if metrics.is_file() and _inside_run(metrics, run_dir, warnings) else None
        labels_path = run_dir / LABELS_FILE
        if labels_path.is_file() and _inside_run(labels_path, run_dir, warnings):
            try:
                run.labels = read_labels(labels_path)
            except UserError as exc:
                warnings.add("labels", str(exc))
    run.warnings = warnings.finish()
    return run


def append_jsonl(path: Path, obj: dict[str, Any], root: Path | None = None) -> None:
    """Append one JSON object as one line; a single write keeps lines whole for live readers.

    A symlink (or FIFO) planted at ``path`` is refused (``safe_write.UnsafePathError``, an
    OSError), as is a symlinked folder between ``root`` and the file.
    """
    line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"
    append_bytes(path, line.encode("utf-8"), root=root)


def write_traces(path: str | os.PathLike[str], spans: Iterable[Span], replace: bool = False) -> Path:
    """Spans as one TracesData line in a run directory's traces file (or a .jsonl path): appended,
    or with ``replace`` written as the whole file (atomically, like every whole-file writer)."""
    path = Path(path)
    target = path if path.suffix == ".jsonl" else path / TRACES_FILE
    if replace:
        line = json.dumps(spans_to_traces_data(spans), separators=(",", ":"), ensure_ascii=False) + "\n"
        write_atomic(target, line, root=target.parent)
    else:
        append_jsonl(target, spans_to_traces_data(spans))
    return target


def read_labels(path: Path) -> Label:
    try:
        return Label.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a valid labels file ({first})") from exc


def write_labels(run_dir: str | os.PathLike[str], label: Label) -> Path:
    target = Path(run_dir) / LABELS_FILE
    return write_atomic(target, label.model_dump_json(indent=2, exclude_none=False) + "\n", root=run_dir)


def write_verdicts(run_dir: str | os.PathLike[str], verdicts: list[Verdict], summary: dict[str, Any] | None = None) -> Path:
    """verdicts.json: ``{"verdicts": [...], "summary": {...}}``; replaced whole on each analysis."""
    target = Path(run_dir) / VERDICTS_FILE
    payload = {"verdicts": [verdict.model_dump(mode="json") for verdict in verdicts], "summary": summary or {}}
    return write_atomic(target, json.dumps(payload, indent=2) + "\n", root=run_dir)


def read_verdicts(run_dir: str | os.PathLike[str]) -> list[Verdict]:
    target = Path(run_dir) / VERDICTS_FILE
    if not target.is_file():
        return []
    if not is_inside(target, Path(run_dir)):
        raise UserError(f"{target}: a symbolic link to outside the run directory; not read")
    try:
        payload = json.loads(target.read_text(encoding="utf-8"))
        return [Verdict.model_validate(item) for item in payload.get("verdicts", [])]
    except (ValidationError, ValueError, AttributeError, RecursionError) as exc:
        raise UserError(f"{target}: not a valid verdicts file") from exc
