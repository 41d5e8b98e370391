"""Bidi and invisible characters in span names stay visible (escaped) in every report format."""

from __future__ import annotations

import json
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rootspan import semconv as sc
from rootspan.attribution.report.synthetic import Shape, synthetic_spans
from rootspan.cli import run
from rootspan.rundir import write_traces

HIDDEN = "\u202e\u2066\u200b\ufeff\U000e0041\u2069"
NAME = f"search evil{HIDDEN}gnp.exe @team"


def _hidden_in(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} and c not in "\n\t\r"]


def _write_run(path: Path, seed: int, shape: Shape | None = None) -> Path:
    path.mkdir(parents=True)
    for spans in synthetic_spans(seed, 10, shape):
        for span in spans:
            if span.name == "execute_tool search":
                span.name = NAME
                span.attributes[sc.GEN_AI_TOOL_NAME] = NAME
        write_traces(path, spans)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("runs")
    base = _write_run(root / "base", 5)
    slow = _write_run(root / "slow", 6, Shape(slow={"execute_tool search": 3.0}))
    config = root / "defaults.toml"
    config.touch()
    return ["--config", str(config), "--bootstrap", "0", "--baseline", str(base), "--candidate", str(slow)]


def test_markdown_and_its_svg(runs, tmp_path: Path, capsys) -> None:
    output = tmp_path / "report.md"
    assert run(["report", *runs, "-o", str(output)]) == 1
    printed = capsys.readouterr().out
    assert _hidden_in(printed) == [] and "\\u202e" in printed  # the headline line on stdout
    markdown = output.read_text(encoding="utf-8")
    assert _hidden_in(markdown) == []
    assert "evil\\\\u202e" in markdown or "evil\\u202e" in markdown  # shown (Markdown-escaped backslash)
    assert "@&#8203;team" in markdown  # the mention breaker is an entity, not a raw zero-width space
    svg = output.with_suffix(".svg").read_text(encoding="utf-8")
    assert _hidden_in(svg) == [] and "\\u202e" in svg
    ET.fromstring(svg)


def test_junit(runs, capsys) -> None:
    assert run(["report", *runs, "--format", "junit"]) == 1
    out = capsys.readouterr().out
    assert _hidden_in(out) == []
    names = [case.get("name") or "" for case in ET.fromstring(out).iter("testcase")]
    assert any("evil\\u202e\\u2066\\u200b\\ufeff\\U000e0041\\u2069gnp.exe" in name for name in names)


def test_json_escapes_them_and_keeps_the_name(runs, capsys) -> None:
    assert run(["report", *runs, "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert _hidden_in(out) == []
    assert any(NAME in check["title"] for check in json.loads(out)["checks"])
