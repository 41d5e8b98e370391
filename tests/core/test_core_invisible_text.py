"""Invisible and bidi formatting characters in untrusted text are shown escaped in every text output.

A span named ``invoke_agent evil\\u202egnp.exe`` reads as ``...exe.png`` in a terminal that
applies the bidi override; zero-width and tag characters hide text. ``printable`` escapes every
character of the categories Cc, Cf, Cs, Zl and Zp; these tests check the rule itself and each
CLI output that shows trace text (``spans``, ``spans --json``, ``attribute``, warnings, errors).
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core_fixtures import sample_spans
from rootspan.cli import run
from rootspan.rundir import write_traces
from rootspan.text import escape_json_invisible, escaped_ranges, printable

CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# bidi embeddings/overrides and isolates, zero-width, BOM, a tag character, soft hyphen, line separator
HIDDEN = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\ufeff\U000e0041\u00ad\u2028"


def _hidden_in(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in CATEGORIES and c not in "\n\t"]


def test_the_table_is_exactly_the_categories_for_this_python() -> None:
    expected = [code for code in range(0x110000) if unicodedata.category(chr(code)) in CATEGORIES]
    from_table = [code for low, high in escaped_ranges() for code in range(low, high + 1)]
    assert from_table == expected


def test_each_kind_is_shown_as_a_visible_escape() -> None:
    assert printable("evil\u202egnp.exe") == "evil\\u202egnp.exe"
    assert printable("a\u2066b\u2069") == "a\\u2066b\\u2069"
    assert printable("zero\u200bwidth\ufeff") == "zero\\u200bwidth\\ufeff"
    assert printable("tag\U000e0041\U000e007f") == "tag\\U000e0041\\U000e007f"
    assert printable("lone \ud800") == "lone \\ud800"
    assert printable("esc \x1b[2J nel \x85") == "esc \\x1b[2J nel \\x85"  # the old rule still holds
    assert printable("ünïcode 漢字 👍 é") == "ünïcode 漢字 👍 é"  # letters, CJK, emoji untouched
    assert printable("a\tb\nc") == "a b\\nc"
    assert printable("a\tb\nc\u202e\r", keep_newlines=True) == "a\tb\nc\\u202e\\x0d"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=60))
def test_no_escaped_category_survives_printable(text: str) -> None:
    assert _hidden_in(printable(text)) == []
    assert _hidden_in(printable(text, keep_newlines=True)) == []
    printable(text).encode("utf-8")  # lone surrogates escaped: the output can always be written out


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.text(alphabet=st.characters(codec=None), max_size=30), max_size=4))
def test_json_escaping_keeps_the_value(value: dict[str, str]) -> None:
    text = escape_json_invisible(json.dumps(value, ensure_ascii=False))
    assert _hidden_in(text) == [] and json.loads(text) == value


def _hostile_run(tmp_path: Path) -> Path:
    spans = sample_spans()
    for span in spans:
        if span.name == "execute_tool calculator":
            span.name = f"execute_tool calc{HIDDEN}ulator"
            span.status_message = f"ZeroDivisionError: evil{HIDDEN}"
        if span.name == "invoke_agent solver":
            span.attributes["gen_ai.agent.name"] = f"sol\u202ever"
    write_traces(tmp_path / "run", spans)
    return tmp_path / "run"


def test_spans_table_escapes_them(tmp_path: Path, capsys) -> None:
    assert run(["spans", str(_hostile_run(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert _hidden_in(out) == []
    assert "calc\\u202a" in out and "sol\\u202ever" in out


def test_spans_json_escapes_them_and_keeps_the_value(tmp_path: Path, capsys) -> None:
    assert run(["spans", str(_hostile_run(tmp_path)), "--json"]) == 0
    out = capsys.readouterr().out
    assert _hidden_in(out) == []
    assert any(row["name"] == f"execute_tool calc{HIDDEN}ulator" for row in json.loads(out))


def test_attribute_output_escapes_them(tmp_path: Path, capsys) -> None:
    run_dir = _hostile_run(tmp_path)
    assert run(["attribute", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert _hidden_in(out) == []
    assert "\\u202e" in out  # the culprit's name or evidence, shown escaped
    assert run(["attribute", str(run_dir), "--json"]) == 0
    assert _hidden_in(capsys.readouterr().out) == []


def test_warnings_and_errors_escape_them(tmp_path: Path, capsys) -> None:
    spans = sample_spans()
    spans[1].parent_span_id = "f" * 16  # an orphan: the warning names the span
    spans[1].name = "invoke_agent plan\u202erenn"
    write_traces(tmp_path / "run", spans)
    assert run(["spans", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "orphan" in err or "not in trace" in err
    assert _hidden_in(err) == []
    assert run(["spans", str(tmp_path / "no\u202esuch")]) == 2
    assert capsys.readouterr().err == f"rootspan: error: {tmp_path}/no\\u202esuch: no such file or directory\n"
