"""Integers beyond 64 bits in a traces file: orjson turns them into floats silently; the loader must not.

orjson (the fast line parser) returns a float for an integer literal past the 64-bit range, so
``-9223372036854775809`` would arrive as -2**63, a valid int64, and load as a wrong value
without a word. These lines are written by hand, as another producer could write them.
"""

from __future__ import annotations

import json
from pathlib import Path

from rootspan.cli import run
from rootspan.jsonl import parse_json_line

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _line(attributes: str, start: str = '"1000"') -> bytes:
    return (
        '{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"t"},"spans":[{'
        f'"traceId":"{TRACE}","spanId":"00000000000000a1","name":"invoke_workflow w","kind":1,'
        f'"startTimeUnixNano":{start},"endTimeUnixNano":"2000","attributes":[{attributes}],"status":{{}}'
        "}]}]}]}\n"
    ).encode()


def _attr(key: str, literal: str) -> str:
    return f'{{"key":"{key}","value":{{"intValue":{literal}}}}}'


def test_orjson_really_does_round_them(tmp_path: Path) -> None:
    # the premise: if a later orjson refuses instead, the fallback parser keeps them exact
    assert parse_json_line(b"-9223372036854775809") in (-(2**63), -9223372036854775809)


def test_integers_past_64_bits_are_warnings_not_rounded_values(tmp_path: Path, capsys) -> None:
    attributes = ",".join([
        _attr("below_int64", "-9223372036854775809"),
        _attr("past_uint64", "18446744073709551616"),
        _attr("int64_min", "-9223372036854775808"),
        _attr("int64_max", "9223372036854775807"),
    ])
    path = tmp_path / "traces.jsonl"
    path.write_bytes(_line(attributes, start="18446744073709551615"))
    assert run(["spans", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    (row,) = json.loads(captured.out)
    assert row["name"] == "invoke_workflow w"
    warned = [line for line in captured.err.splitlines() if "below_int64" in line or "past_uint64" in line]
    assert len(warned) == 2 and all("64-bit" in line or "out of range" in line for line in warned), captured.err
    from rootspan.rundir import load_run

    span = load_run(path).trace_list()[0].spans[0]
    assert "below_int64" not in span.attributes and "past_uint64" not in span.attributes
    assert span.attributes["int64_min"] == -(2**63) and span.attributes["int64_max"] == 2**63 - 1
    assert span.start_ns == 2**64 - 1  # a fixed64 at the top of its range stays exact
