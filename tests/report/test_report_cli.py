"""`rootspan report` end to end: formats that parse, exit codes 0/1/2, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rootspan import semconv as sc
from rootspan.cli import run
from rootspan.rundir import write_traces
from rootspan.attribution.report.synthetic import Shape, synthetic_spans

NASTY = 'search <b>&amp;</b> "q" \x1b[31m|`@team ]]>'



def _defaults_only(tmp_path: Path) -> Path:
    """An empty pyproject: the report's default thresholds, whatever the repository's own table says."""
    path = tmp_path / "defaults.toml"
    path.touch()
    return path

def _write_run(path: Path, seed: int, count: int, shape: Shape | None = None, rename: str | None = None) -> Path:
    path.mkdir(parents=True)
    for spans in synthetic_spans(seed, count, shape):
        if rename is not None:
            for span in spans:
                if span.name == "execute_tool search":
                    span.name = rename
                    span.attributes[sc.GEN_AI_TOOL_NAME] = rename
        write_traces(path, spans)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {
        "base": _write_run(root / "base", 1, 10),
        "head": _write_run(root / "head", 2, 10),
        "slow": _write_run(root / "slow", 3, 10, Shape(slow={"execute_tool search": 3.0})),
        "fail": _write_run(root / "fail", 4, 10, Shape(tool_error=True)),
        "nasty_base": _write_run(root / "nasty_base", 5, 10, rename=NASTY),
        "nasty_slow": _write_run(root / "nasty_slow", 6, 10, Shape(slow={"execute_tool search": 3.0}), rename=NASTY),
    }


def _report(args: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> tuple[int, str, str]:
    code = run(["report", "--config", str(_defaults_only(tmp_path)), "--bootstrap", "0", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_no_regression_exits_0_and_markdown_starts_with_the_verdict(runs, capsys, tmp_path) -> None:
    code, out, _ = _report(["--baseline", str(runs["base"]), "--candidate", str(runs["head"])], capsys, tmp_path)
    assert code == 0
    assert out.startswith("## ✅ rootspan: No regression")


def test_slow_tool_exits_1_in_every_format(runs, capsys, tmp_path) -> None:
    args = ["--baseline", str(runs["base"]), "--candidate", str(runs["slow"])]
    code, out, _ = _report(args, capsys, tmp_path)
    assert code == 1 and out.startswith("## ❌ rootspan: Regression")
    assert "execute\\_tool search (researcher)" in out.split("\n", 1)[0]
    code, out, _ = _report(args + ["--format", "json"], capsys, tmp_path)
    payload = json.loads(out)
    assert code == 1 and payload["verdict"] == "regression" and payload["exit_code"] == 1
    assert "step:researcher/execute_tool search/1" in payload["regressions"]
    check = next(c for c in payload["checks"] if c["id"] == "step:researcher/execute_tool search/1")
    assert check["test"] == "log-t" and check["p_adjusted"] <= 0.05 and check["effect"]["ratio"] > 2
    code, out, _ = _report(args + ["--format", "junit"], capsys, tmp_path)
    suite = ET.fromstring(out).find("testsuite")
    assert code == 1 and suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(payload["checks"]) == int(suite.get("tests", "0"))
    failed = [case.get("name") for case in cases if case.find("failure") is not None]
    assert "step 5 execute_tool search (researcher)" in failed and int(suite.get("failures", "0")) == len(failed)


def test_output_file_gets_an_svg_chart_next_to_it(runs, capsys, tmp_path) -> None:
    target = tmp_path / "out" / "report.md"
    code, out, _ = _report(["-b", str(runs["base"]), "-c", str(runs["slow"]), "-o", str(target)], capsys, tmp_path)
    assert code == 1 and "Regression" in out and str(target) in out
    text = target.read_text(encoding="utf-8")
    assert "[Latency chart (SVG)](report.svg)" in text
    svg = ET.parse(tmp_path / "out" / "report.svg").getroot()
    assert svg.tag.endswith("svg")
    assert any("execute_tool search" in (el.text or "") for el in svg.iter())


def test_multiple_runs_per_side_after_one_flag(runs, capsys, tmp_path) -> None:
    code, out, _ = _report(
        ["--baseline", str(runs["base"]), str(runs["head"]), "--candidate", str(runs["slow"]), "--format", "json"],
        capsys, tmp_path,
    )
    payload = json.loads(out)
    assert code == 1 and payload["baseline"]["traces"] == 20 and len(payload["baseline"]["runs"]) == 2


def test_new_failure_culprit_in_markdown_and_junit(runs, capsys, tmp_path) -> None:
    args = ["--baseline", str(runs["base"]), "--candidate", str(runs["fail"])]
    code, out, _ = _report(args, capsys, tmp_path)
    assert code == 1
    assert "### New failures (10 of 10 candidate traces failed)" in out
    section = out.split("### New failures", 1)[1]
    assert "researcher" in section.split("\n")[2]
    code, out, _ = _report(args + ["--format", "junit"], capsys, tmp_path)
    success = next(c for c in ET.fromstring(out).iter("testcase") if c.get("name") == "success rate")
    failure = success.find("failure")
    assert failure is not None and "culprit researcher" in (failure.text or "")


def test_untrusted_names_stay_inert_in_every_format(runs, capsys, tmp_path) -> None:
    args = ["--baseline", str(runs["nasty_base"]), "--candidate", str(runs["nasty_slow"])]
    code, out, _ = _report(args, capsys, tmp_path)
    assert code == 1 and "\x1b" not in out
    # Outside the fenced chart (where text is literal), no raw HTML, mention or table-breaking pipe.
    before, chart = out.split("```text", 1)
    chart, after = chart.split("```", 1)
    assert "`" not in chart
    for part in (before, after):
        assert "<b>" not in part and "@team" not in part and "search <b>" not in part
    row = next(line for line in before.splitlines() if line.startswith("| ❌ | step 5"))
    assert row.count(" | ") == 5 and "\\|" in row
    code, out, _ = _report(args + ["--format", "junit"], capsys, tmp_path)
    names = [case.get("name") or "" for case in ET.fromstring(out).iter("testcase")]
    assert any("<b>&amp;</b>" in name and "\\x1b" in name for name in names)
    code, out, _ = _report(args + ["--format", "json"], capsys, tmp_path)
    assert any(NASTY in check["title"] for check in json.loads(out)["checks"])


def test_thresholds_from_pyproject_and_flags(runs, capsys, tmp_path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.rootspan.report]\nlatency_ratio = 10.0\n", encoding="utf-8")
    args = ["report", "--bootstrap", "0", "-b", str(runs["base"]), "-c", str(runs["slow"]), "--config", str(pyproject)]
    assert run(args) == 0  # a 3x slower tool is below a 10x threshold
    assert run(args + ["--latency-ratio", "1.5"]) == 1  # the flag wins
    capsys.readouterr()


def test_one_run_per_side_is_flagged_and_a_measured_noise_prior_decides_it(capsys, tmp_path) -> None:
    quiet = Shape(sigma=0.02)
    base = _write_run(tmp_path / "one-base", 11, 1, quiet)
    slow = _write_run(tmp_path / "one-slow", 12, 1, Shape(sigma=0.02, slow={"execute_tool search": 2.0}))
    code, out, _ = _report(["-b", str(base), "-c", str(slow)], capsys, tmp_path)
    assert code == 0 and "1 run per side: indicative only" in out.split("\n", 1)[0]
    code, out, _ = _report(["-b", str(base), "-c", str(slow), "--noise-prior", "0.02", "--noise-prior-df", "50",
                            "--format", "json"], capsys, tmp_path)
    payload = json.loads(out)
    assert code == 1 and payload["indicative"] and "step:researcher/execute_tool search/1" in payload["regressions"]
    assert payload["config"]["noise_prior_sd"] == 0.02 and payload["config"]["noise_prior_df"] == 50


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--format", "html"], "--format must be one of md, junit, json"),
        (["--alpha", "3"], "alpha must be between 0 and 1"),
        (["--correction", "fdr"], "correction must be"),
        (["--noise-prior", "0"], "noise_prior_sd must be a log-sd above 0"),
        (["--noise-prior-df", "-2"], "noise_prior_df must be above 0"),
    ],
)
def test_wrong_flag_values_exit_2(runs, capsys, tmp_path, extra, message) -> None:
    code, out, err = _report(["-b", str(runs["base"]), "-c", str(runs["head"]), *extra], capsys, tmp_path)
    assert code == 2 and out == ""
    assert err.startswith("rootspan: error:") and message in err and err.count("\n") == 1


def test_bad_inputs_exit_2_with_one_line(runs, capsys, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "traces.jsonl").write_text("", encoding="utf-8")
    broken = tmp_path / "pyproject.toml"
    broken.write_text("[tool.rootspan.report\n", encoding="utf-8")
    cases = [
        (["report", "-b", str(tmp_path / "missing"), "-c", str(runs["head"])], "no such file"),
        (["report", "-b", str(empty), "-c", str(runs["head"])], "no traces"),
        (["report", "-b", str(runs["base"]), "-c", str(runs["head"]), "--config", str(broken)], "not valid TOML"),
        (["report", "-c", str(runs["head"])], "--baseline"),
        (["report", "-b", str(runs["base"]), "-c", str(runs["head"]), "--config", str(tmp_path)], "is a directory"),
        (["report", "-b", str(runs["base"]), "-c", str(runs["head"]), "--config", str(tmp_path / "typo.toml")], "no such file"),
        (["report", "-b", str(runs["base"]), "-c", str(runs["head"]), "--resource-ratio", "nan"], "finite number"),
        (["report", "-b", str(runs["base"]), "-c", str(runs["head"]), "--latency-ratio", "nan"], "finite number"),
    ]
    for args, message in cases:
        assert run(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("rootspan: error:") and message in err and err.count("\n") == 1, err


def test_output_over_an_input_or_a_directory_is_refused(runs, capsys, tmp_path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    source = runs["head"] / "traces.jsonl"
    (victim / "traces.jsonl").write_bytes(source.read_bytes())
    (victim / "traces.svg").write_text("not mine")
    before = (victim / "traces.jsonl").read_bytes()
    cases = [
        (["-o", str(victim / "traces.jsonl")], "refusing to overwrite"),
        (["-o", str(victim / "traces.jsonl"), "--format", "json"], "refusing to overwrite"),
        (["-o", str(tmp_path)], "is a directory"),
    ]
    for extra, message in cases:
        code, out, err = _report(["-b", str(runs["base"]), "-c", str(victim), *extra], capsys, tmp_path)
        assert code == 2 and message in err and err.count("\n") == 1, err
    assert (victim / "traces.jsonl").read_bytes() == before
    assert not (victim / "traces.jsonl.svg").exists() and not (tmp_path.parent / (tmp_path.name + ".svg")).exists()


def test_subprocess_exit_code_and_no_traceback(runs, tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rootspan", "report", "-b", str(runs["base"]), "-c", str(tmp_path / "nope"), "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "rootspan", "report", "-b", str(runs["base"]), "-c", str(runs["slow"]), "--format", "json",
         "--no-attribution"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 1 and json.loads(result.stdout)["verdict"] == "regression"
    assert "torch" not in result.stderr
