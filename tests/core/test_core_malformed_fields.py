"""Plausible malformed fields in a real run (issue 15): a one-line warning and the rest loads, never exit 70.

Each case edits one field of a run the real tracer wrote, then runs the commands that read that
file through the CLI entry point.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from real_run import write_real_run
from rootspan.cli import EXIT_INTERNAL, run as cli


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    return write_real_run(tmp_path_factory.mktemp("real"))


def _edit_traces(run_dir: Path, edit: Callable[[list[dict]], None]) -> None:
    path = run_dir / "traces.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    edit(lines)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def _kernel_file(run_dir: Path) -> Path:
    return next((run_dir / "kernels").glob("*.json"))


def _llm_usage(lines: list[dict], value: dict) -> None:
    for line in lines:
        for resource_spans in line["resourceSpans"]:
            for scope in resource_spans["scopeSpans"]:
                for span in scope["spans"]:
                    for attribute in span.get("attributes", []):
                        if attribute["key"].startswith("gen_ai.usage."):
                            attribute["value"] = value


def _first_span(lines: list[dict]) -> dict:
    return lines[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


HUGE = "1" + "0" * 400

# name -> (edit of the run, text the warning must hold; None where the value is legal OTLP and
# only its use must be guarded)
CASES: dict[str, tuple[Callable[[Path], None], str | None]] = {
    "resource-is-a-string": (
        lambda d: _edit_traces(d, lambda lines: lines[0]["resourceSpans"][0].__setitem__("resource", "x")), "resource"),
    "events-is-a-float": (lambda d: _edit_traces(d, lambda lines: _first_span(lines).__setitem__("events", 1.5)), "events"),
    "end-time-10^400": (
        lambda d: _edit_traces(d, lambda lines: _first_span(lines).__setitem__("endTimeUnixNano", HUGE)), "endTimeUnixNano"),
    "metric-value-400-digits": (lambda d: _replace(d / "metrics.jsonl", '"asDouble":', f'"asDouble":{HUGE},"was":'), "asDouble"),
    "metric-named-5": (lambda d: _replace(d / "metrics.jsonl", '"metrics":[{"name":', '"metrics":[{"name":5,"was":'), "name"),
    "kernel-pid-a-list": (lambda d: _replace(_kernel_file(d), '"pid":', '"pid":[1],"was":'), "pid"),
    "kernel-base-time-infinity": (
        lambda d: _replace(_kernel_file(d), '"baseTimeNanoseconds":', '"baseTimeNanoseconds":Infinity,"was":'),
        "baseTimeNanoseconds"),
    "token-counts-infinity": (lambda d: _edit_traces(d, lambda lines: _llm_usage(lines, {"doubleValue": "Infinity"})), None),
    "token-counts-infinity-text": (lambda d: _edit_traces(d, lambda lines: _llm_usage(lines, {"stringValue": "Infinity"})), None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_field_is_a_warning_not_an_internal_error(case, real_run, tmp_path, capsys) -> None:
    edit, field = CASES[case]
    broken = tmp_path / "broken"
    shutil.copytree(real_run, broken)
    edit(broken)
    commands = [
        ["spans", str(broken), "--json"],
        ["attribute", str(broken), "--json"],
        ["report", "--baseline", str(real_run), "--candidate", str(broken), "--format", "json"],
        ["export", "perfetto", str(broken), "-o", str(tmp_path / "timeline.json")],
    ]
    stderr = ""
    for command in commands:
        code = cli(command)
        captured = capsys.readouterr()
        assert code != EXIT_INTERNAL, f"{command[0]}: {captured.err}"
        assert code in (0, 1), f"{command[0]} exited {code}: {captured.err}"  # 1: the report's regression verdict
        assert "Traceback" not in captured.err
        stderr += captured.err
    if field is not None:
        warnings = [line for line in stderr.splitlines() if field in line]
        assert warnings, f"no warning names {field!r}: {stderr}"
        assert all(len(line) < 400 for line in warnings)
    rows = json.loads(_spans_json(broken, capsys))
    assert len(rows) >= 3  # the rest of the run loaded


def _spans_json(run_dir: Path, capsys) -> str:
    assert cli(["spans", str(run_dir), "--json"]) == 0
    return capsys.readouterr().out


def test_infinite_token_counts_are_left_out_of_the_report(real_run, tmp_path, capsys) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(real_run, broken)
    _edit_traces(broken, lambda lines: _llm_usage(lines, {"doubleValue": "Infinity"}))
    cli(["report", "--baseline", str(real_run), "--candidate", str(broken), "--format", "json"])
    text = capsys.readouterr().out
    assert "Infinity" not in text and "NaN" not in text
    json.loads(text)
