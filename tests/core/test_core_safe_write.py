"""Planted symlinks never redirect a write, and readers never follow one out of the run directory.

Every test plants real symlinks (and FIFOs, hard links) in a real run directory and drives the
real command; the "victim" file stands for the user's ~/.bashrc and must come out unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from core_fixtures import TRACE, sample_spans

from rootspan.cli import run
from rootspan.rundir import write_traces
from rootspan.safe_write import UnsafePathError, append_bytes, write_atomic

VICTIM_TEXT = "export PATH=/usr/bin  # the user's own file\n"


@pytest.fixture()
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "home" / ".bashrc"
    path.parent.mkdir()
    path.write_text(VICTIM_TEXT)
    return path


def _run_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    write_traces(run_dir, sample_spans())
    return run_dir


def _one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("rootspan: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- the helper itself ---------------------------------------------------------------------------


def test_write_atomic_replaces_a_symlink_not_its_target(tmp_path: Path, victim: Path) -> None:
    target = tmp_path / "out.json"
    target.symlink_to(victim)
    write_atomic(target, "{}\n")
    assert victim.read_text() == VICTIM_TEXT
    assert not target.is_symlink() and target.read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "out.json"]  # no temp file left


def test_write_atomic_keeps_the_umask_mode_not_0600(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        target = write_atomic(tmp_path / "report.md", "# report\n")
    finally:
        os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o644


def test_write_atomic_refuses_a_symlinked_folder_below_the_root(tmp_path: Path, victim: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "kernels").symlink_to(victim.parent)
    with pytest.raises(UnsafePathError, match="kernels: a symbolic link; refusing to write into it"):
        write_atomic(run_dir / "kernels" / "x.json", "{}", root=run_dir)
    assert sorted(p.name for p in victim.parent.iterdir()) == [".bashrc"]


def test_append_refuses_symlinks_fifos_and_hard_links(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "traces.jsonl"
    link.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        append_bytes(link, b"{}\n")
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(UnsafePathError, match="not a regular file"):  # and does not hang waiting for a reader
        append_bytes(fifo, b"{}\n")
    hard = tmp_path / "hard.jsonl"
    os.link(victim, hard)
    with pytest.raises(UnsafePathError, match="hard link"):
        append_bytes(hard, b"{}\n")
    assert victim.read_text() == VICTIM_TEXT
    assert isinstance(UnsafePathError("x"), OSError)  # writers that survive a full disk survive this too


# --- writers, through the CLI --------------------------------------------------------------------


@pytest.mark.parametrize("planted", ["verdicts.json", "verdicts.json.tmp"])
def test_attribute_never_writes_through_a_planted_symlink(tmp_path: Path, victim: Path, planted: str, capsys) -> None:
    run_dir = _run_dir(tmp_path)
    (run_dir / planted).symlink_to(victim)
    assert run(["attribute", str(run_dir)]) == 0
    assert victim.read_text() == VICTIM_TEXT
    verdicts = run_dir / "verdicts.json"
    assert not verdicts.is_symlink()
    assert json.loads(verdicts.read_text())["verdicts"][0]["trace_id"] == TRACE


def test_report_output_symlink_is_replaced_not_followed(tmp_path: Path, victim: Path, capsys) -> None:
    run_dir = _run_dir(tmp_path)
    output = tmp_path / "report.md"
    output.symlink_to(victim)
    (tmp_path / "report.svg").symlink_to(victim)
    run(["report", "--baseline", str(run_dir), "--candidate", str(run_dir), "-o", str(output)])
    assert victim.read_text() == VICTIM_TEXT
    assert not output.is_symlink() and output.read_text().startswith("#")
    assert not (tmp_path / "report.svg").is_symlink()


def test_export_output_symlink_is_replaced_not_followed(tmp_path: Path, victim: Path, capsys) -> None:
    run_dir = _run_dir(tmp_path)
    output = tmp_path / "timeline.json"
    output.symlink_to(victim)
    assert run(["export", "perfetto", str(run_dir), "-o", str(output)]) == 0
    assert victim.read_text() == VICTIM_TEXT
    assert "traceEvents" in json.loads(output.read_text())


def _whowhen_log(root: Path) -> Path:
    subset = root / "Algorithm-Generated"
    subset.mkdir(parents=True)
    log = {"question": "2+2?", "ground_truth": "4", "mistake_agent": "WebSurfer", "mistake_step": "1",
           "history": [{"role": "user", "name": "human", "content": "2+2?"},
                       {"role": "assistant", "name": "WebSurfer", "content": "5"}]}
    (subset / "7.json").write_text(json.dumps(log))
    return root


def test_import_refuses_a_symlinked_folder_inside_out(tmp_path: Path, victim: Path, capsys) -> None:
    source = _whowhen_log(tmp_path / "whowhen")
    out = tmp_path / "runs"
    out.mkdir()
    (out / "Algorithm-Generated").symlink_to(victim.parent)
    assert run(["import", "whowhen", str(source), "-o", str(out)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "Algorithm-Generated: a symbolic link; refusing to write into it" in line
    assert sorted(p.name for p in victim.parent.iterdir()) == [".bashrc"]


def test_import_replaces_planted_file_symlinks(tmp_path: Path, victim: Path, capsys) -> None:
    source = _whowhen_log(tmp_path / "whowhen")
    out = tmp_path / "runs"
    run_dir = out / "Algorithm-Generated" / "7"
    run_dir.mkdir(parents=True)
    (run_dir / "traces.jsonl").symlink_to(victim)
    (run_dir / "labels.json").symlink_to(victim)
    assert run(["import", "whowhen", str(source), "-o", str(out)]) == 0
    assert victim.read_text() == VICTIM_TEXT
    assert not (run_dir / "traces.jsonl").is_symlink() and not (run_dir / "labels.json").is_symlink()
    assert run(["spans", str(run_dir), "--json"]) == 0


APP = """
import rootspan.tracer as rs
rs.setup(service="t")
with rs.workflow("w"):
    with rs.llm_call(model="m", provider="local") as call:
        call.usage(input_tokens=1, output_tokens=1)
"""


def _record(tmp_path: Path, run_dir: Path, profile: str, app: str = APP) -> subprocess.CompletedProcess:
    script = tmp_path / "app.py"
    script.write_text(app)
    return subprocess.run(
        [sys.executable, "-m", "rootspan", "record", "-o", str(run_dir), "--profile", profile, "--", sys.executable, str(script)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )


def test_tracer_refuses_to_append_through_a_planted_traces_symlink(tmp_path: Path, victim: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "traces.jsonl").symlink_to(victim)
    result = _record(tmp_path, run_dir, "off")
    assert result.returncode == 0
    assert victim.read_text() == VICTIM_TEXT
    assert "traces.jsonl: a symbolic link; refusing to write through it" in result.stderr
    assert "Traceback" not in result.stderr


def test_tracer_metrics_never_written_through_a_planted_symlink(tmp_path: Path, victim: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").symlink_to(victim)
    app = APP.replace('rs.setup(service="t")', 'import time\nrs.setup(service="t")') + "    time.sleep(1.5)\n"
    result = _record(tmp_path, run_dir, "device", app)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == VICTIM_TEXT
    assert "metrics.jsonl: a symbolic link; refusing to write through it" in result.stderr
    assert (run_dir / "traces.jsonl").is_file()  # the spans still arrive


def test_tracer_kernels_never_written_into_a_planted_folder_symlink(tmp_path: Path, victim: Path) -> None:
    pytest.importorskip("torch")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "kernels").symlink_to(victim.parent)
    app = APP.replace('call.usage', 'import torch; torch.randn(32, 32) @ torch.randn(32, 32)\n        call.usage')
    result = _record(tmp_path, run_dir, "kernels", app)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in victim.parent.iterdir()) == [".bashrc"]
    assert "kernels: a symbolic link; refusing to write into it" in result.stderr
    assert (run_dir / "traces.jsonl").is_file()


# --- KernelStore: a planted file symlink, and an unreadable existing file is kept ---------------------


def _store_with_events(run_dir: Path, trace_id: str):
    from rootspan.profilers.chrome import Window
    from rootspan.profilers.kernel_files import KernelStore

    store = KernelStore(run_dir)
    window = Window(events=[{"ph": "X", "name": "aten::mm", "ts": 1.0, "dur": 2.0}], base_ns=5_000, flops_by_op={},
                    cuda=False, meta={}, start_ns=0, end_ns=10)
    store.add_window(window, {}, {}, trace_id)
    return store


def test_kernel_store_replaces_a_planted_file_symlink(tmp_path: Path, victim: Path, capsys) -> None:
    from rootspan.profilers.chrome import read_chrome_trace

    (tmp_path / "kernels").mkdir()
    path = tmp_path / "kernels" / f"{TRACE}.json"
    path.symlink_to(victim)
    _store_with_events(tmp_path, TRACE).flush(TRACE)
    assert victim.read_text() == VICTIM_TEXT
    assert not path.is_symlink()
    events, base, _ = read_chrome_trace(path)
    assert [e["name"] for e in events] == ["aten::mm"] and base == 5_000
    assert "was unreadable" in capsys.readouterr().err  # the link itself is kept aside, named


def test_kernel_store_keeps_an_unreadable_existing_file(tmp_path: Path, capsys) -> None:
    from rootspan.profilers.chrome import read_chrome_trace

    (tmp_path / "kernels").mkdir()
    path = tmp_path / "kernels" / f"{TRACE}.json"
    path.write_bytes(b'{"traceEvents": [ {"ph": "X", "name": "half written')
    _store_with_events(tmp_path, TRACE).flush(TRACE)
    (aside,) = [p for p in (tmp_path / "kernels").iterdir() if p.name != path.name]
    assert aside.name.startswith(f"{TRACE}.json.unreadable-")
    assert aside.read_bytes() == b'{"traceEvents": [ {"ph": "X", "name": "half written'
    assert [e["name"] for e in read_chrome_trace(path)[0]] == ["aten::mm"]
    err = capsys.readouterr().err
    assert aside.name in err and "unreadable" in err
    # and the loader does not take the kept file for a trace's kernels
    write_traces(tmp_path, sample_spans())
    from rootspan.rundir import load_run

    assert list(load_run(tmp_path).kernel_files) == [TRACE]


def test_kernel_store_merges_a_readable_existing_file(tmp_path: Path) -> None:
    from rootspan.profilers.chrome import read_chrome_trace

    _store_with_events(tmp_path, TRACE).flush(TRACE)
    _store_with_events(tmp_path, TRACE).flush(TRACE)
    assert [e["name"] for e in read_chrome_trace(tmp_path / "kernels" / f"{TRACE}.json")[0]] == ["aten::mm", "aten::mm"]
    assert [p.name for p in (tmp_path / "kernels").iterdir()] == [f"{TRACE}.json"]


# --- readers, through the CLI --------------------------------------------------------------------


def _outside_kernels(tmp_path: Path) -> Path:
    secret = tmp_path / "elsewhere" / "secret.json"
    secret.parent.mkdir()
    secret.write_text(json.dumps({"traceEvents": [{"ph": "X", "name": "SECRET_EVENT", "ts": 1.0, "dur": 1.0,
                                                  "pid": 1, "tid": 1}], "baseTimeNanoseconds": 1000}))
    return secret


def test_export_skips_a_kernels_file_symlinked_out_of_the_run(tmp_path: Path, capsys) -> None:
    run_dir = _run_dir(tmp_path)
    (run_dir / "kernels").mkdir()
    (run_dir / "kernels" / f"{TRACE}.json").symlink_to(_outside_kernels(tmp_path))
    output = tmp_path / "timeline.json"
    assert run(["export", "perfetto", str(run_dir), "-o", str(output)]) == 0
    assert "SECRET_EVENT" not in output.read_text()
    err = capsys.readouterr().err
    assert f"kernels/{TRACE}.json: a symbolic link to outside the run directory; skipped" in err


def test_export_reads_a_kernels_file_symlinked_inside_the_run(tmp_path: Path, capsys) -> None:
    run_dir = _run_dir(tmp_path)
    inside = run_dir / "store" / "k.json"
    inside.parent.mkdir()
    inside.write_text(_outside_kernels(tmp_path).read_text())
    (run_dir / "kernels").mkdir()
    (run_dir / "kernels" / f"{TRACE}.json").symlink_to(inside)
    output = tmp_path / "timeline.json"
    assert run(["export", "perfetto", str(run_dir), "-o", str(output)]) == 0
    assert "SECRET_EVENT" in output.read_text()


def test_metrics_and_labels_symlinked_out_are_skipped_with_a_warning(tmp_path: Path, capsys) -> None:
    run_dir = _run_dir(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    metrics = outside / "m.jsonl"
    metrics.write_text(json.dumps({"resourceMetrics": [{"resource": {}, "scopeMetrics": [{"metrics": [
        {"name": "hw.gpu.SECRET", "gauge": {"dataPoints": [{"timeUnixNano": "2000", "asDouble": 1.0}]}}]}]}]}) + "\n")
    (run_dir / "metrics.jsonl").symlink_to(metrics)
    (run_dir / "labels.json").symlink_to(outside / "labels.json")
    (outside / "labels.json").write_text('{"fault": "x", "kind": "failure"}')
    output = tmp_path / "timeline.json"
    assert run(["export", "perfetto", str(run_dir), "-o", str(output)]) == 0
    assert "SECRET" not in output.read_text()
    err = capsys.readouterr().err
    assert "metrics.jsonl: a symbolic link to outside the run directory; skipped" in err
    assert "labels.json: a symbolic link to outside the run directory; skipped" in err


def test_traces_file_symlinked_out_of_the_run_is_a_one_line_error(tmp_path: Path, victim: Path, capsys) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    elsewhere = write_traces(tmp_path / "elsewhere.jsonl", sample_spans())
    (run_dir / "traces.jsonl").symlink_to(elsewhere)
    assert run(["spans", str(run_dir)]) == 2
    assert "traces.jsonl: a symbolic link to outside the run directory; not read" in _one_line_error(capsys.readouterr().err)
    assert run(["spans", str(elsewhere)]) == 0  # a traces file named on the command line is read where it is


def test_saved_verdicts_symlinked_out_are_not_read(tmp_path: Path, capsys) -> None:
    from rootspan.rundir import read_verdicts
    from rootspan.errors import UserError

    run_dir = _run_dir(tmp_path)
    assert run(["attribute", str(run_dir)]) == 0
    moved = tmp_path / "elsewhere.json"
    (run_dir / "verdicts.json").rename(moved)
    (run_dir / "verdicts.json").symlink_to(moved)
    with pytest.raises(UserError, match="outside the run directory"):
        read_verdicts(run_dir)
