"""CPU-op profile per span: attribution, sums against the profiler's own totals, the join rule, the schedule."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest

torch = pytest.importorskip("torch")

from opentelemetry import context as otel_context, trace as otel_trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from rootspan.profilers import names as n, wrap_processor  # noqa: E402
from rootspan.profilers.chrome import read_chrome_trace  # noqa: E402
from rootspan.profilers.config import ProfileConfig  # noqa: E402

SIZE = 96
MATMUL_FLOPS = 2 * SIZE**3  # torch's FLOP formula for an (n x n) @ (n x n) matmul


def _provider(tmp_path, **config):
    exporter = InMemorySpanExporter()
    defaults = dict(mode="kernels", host_sampling=False, device_sampling="off", kernels=True, memory=False, flops=True)
    defaults.update(config)
    processor = wrap_processor(SimpleSpanProcessor(exporter), tmp_path, "kernels", {}, config=ProfileConfig(**defaults))
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider, exporter


def _llm(tracer, matmuls, tool=True, marks=None):
    a = torch.randn(SIZE, SIZE)
    with tracer.start_as_current_span("chat tiny", attributes={"gen_ai.operation.name": "chat"}):
        for _ in range(matmuls):
            before = time.time_ns()
            a @ a
            if marks is not None:
                marks.append((before, time.time_ns()))
        if tool:
            with tracer.start_as_current_span("execute_tool add", attributes={"gen_ai.operation.name": "execute_tool"}):
                a + a


@pytest.fixture(scope="module")
def profiled_run(tmp_path_factory):
    """One run: a workflow, an agent with three LLM calls (one on a second thread), a span ending on another thread."""
    run_dir = tmp_path_factory.mktemp("run")
    provider, exporter = _provider(run_dir)
    tracer = provider.get_tracer("test")
    marks: list[tuple[int, int]] = []
    with tracer.start_as_current_span("invoke_workflow solve", attributes={"gen_ai.operation.name": "invoke_workflow"}):
        with tracer.start_as_current_span("invoke_agent planner", attributes={"gen_ai.operation.name": "invoke_agent",
                                                                           "gen_ai.agent.name": "planner"}):
            _llm(tracer, 2, marks=marks)
            _llm(tracer, 3)
            ctx = otel_context.get_current()

            def worker():
                token = otel_context.attach(ctx)
                try:
                    _llm(tracer, 1)
                finally:
                    otel_context.detach(token)

            thread = threading.Thread(target=worker)
            thread.start()
            thread.join()
            # a span started here and ended on another thread, inside a profiled LLM call
            with tracer.start_as_current_span("chat handoff", attributes={"gen_ai.operation.name": "chat"}):
                moved = tracer.start_span("execute_tool moved", attributes={"gen_ai.operation.name": "execute_tool"})
                with otel_trace.use_span(moved, end_on_exit=False):
                    torch.randn(SIZE, SIZE) @ torch.randn(SIZE, SIZE)
                ender = threading.Thread(target=moved.end)
                ender.start()
                ender.join()
    provider.shutdown()
    spans = {span.context.span_id: span for span in exporter.get_finished_spans()}
    return run_dir, spans, marks


def _hex(span) -> str:
    return format(span.context.span_id, "016x")


def _by_name(spans, name):
    return [span for span in spans.values() if span.name == name]


def _kernel_file(run_dir, spans):
    (trace_id,) = {format(span.context.trace_id, "032x") for span in spans.values()}
    path = run_dir / "kernels" / f"{trace_id}.json"
    assert path.is_file()
    return read_chrome_trace(path)


def _self_time_total(events) -> int:
    """The profiler's own total op time: sum over every cpu_op of its duration minus its direct children's."""
    by_thread = defaultdict(list)
    for event in events:
        if event.get("cat") == "cpu_op":
            by_thread[event["tid"]].append(event)
    total = 0.0
    for ops in by_thread.values():
        ops.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack: list[list[float]] = []  # [end, self time]
        for op in ops:
            while stack and stack[-1][0] <= op["ts"]:
                total += stack.pop()[1]
            if stack:
                stack[-1][1] -= op["dur"]
            stack.append([op["ts"] + op["dur"], op["dur"]])
        total += sum(entry[1] for entry in stack)
    return int(round(total * 1000))


def test_every_llm_call_gets_its_op_profile(profiled_run):
    _, spans, _ = profiled_run
    llm = sorted(_by_name(spans, "chat tiny"), key=lambda s: s.start_time)
    assert len(llm) == 3
    for span, matmuls in zip(llm, (2, 3, 1)):
        attrs = span.attributes
        top = json.loads(attrs[n.CPU_TOP_OPS])
        assert top[0]["name"] == "aten::matmul" and top[0]["count"] == matmuls
        assert attrs[n.CPU_OP_COUNT] == matmuls + 1  # + the tool's aten::add
        assert 0 < attrs[n.CPU_OP_TIME_NS] <= span.end_time - span.start_time
        assert attrs[n.PROFILE_COVERAGE] == pytest.approx(1.0)
        # FLOPs come from the profiler (with_flops); the rate times the wall time gives them back
        wall_s = (span.end_time - span.start_time) / 1e9
        assert attrs[n.CPU_ACHIEVED_FLOPS] * wall_s == pytest.approx(matmuls * MATMUL_FLOPS + SIZE * SIZE, rel=1e-9)
        assert n.GPU_KERNEL_COUNT not in attrs  # no CUDA here: GPU figures are absent, not zero


def test_parent_spans_sum_their_children(profiled_run):
    _, spans, _ = profiled_run
    (agent,) = _by_name(spans, "invoke_agent planner")
    (workflow,) = _by_name(spans, "invoke_workflow solve")
    llm = _by_name(spans, "chat tiny") + _by_name(spans, "chat handoff")
    assert agent.attributes[n.CPU_OP_TIME_NS] == sum(s.attributes[n.CPU_OP_TIME_NS] for s in llm)
    assert agent.attributes[n.CPU_OP_COUNT] == sum(s.attributes[n.CPU_OP_COUNT] for s in llm)
    assert workflow.attributes[n.CPU_OP_TIME_NS] == agent.attributes[n.CPU_OP_TIME_NS]
    assert 0 < agent.attributes[n.PROFILE_COVERAGE] < 1  # covered only while its LLM calls ran
    for tool in _by_name(spans, "execute_tool add"):
        parent = spans[tool.parent.span_id]
        assert tool.attributes[n.CPU_OP_TIME_NS] < parent.attributes[n.CPU_OP_TIME_NS]


def test_per_span_op_time_adds_up_to_the_profiler_total(profiled_run):
    run_dir, spans, _ = profiled_run
    events, _, _ = _kernel_file(run_dir, spans)
    ours = sum(s.attributes[n.CPU_OP_TIME_NS] for s in _by_name(spans, "chat tiny") + _by_name(spans, "chat handoff"))
    theirs = _self_time_total(events)
    # every op ran inside a profiled LLM call; the two sums differ only by µs->ns rounding per op
    op_count = sum(1 for e in events if e.get("cat") == "cpu_op")
    assert abs(ours - theirs) <= 2 * op_count, (ours, theirs)


def test_kernel_file_follows_the_join_rule(profiled_run):
    run_dir, spans, marks = profiled_run
    events, base, meta = _kernel_file(run_dir, spans)
    assert base > 0 and meta["schemaVersion"] == 1
    annotations = {e["name"].split()[0][len(n.ANNOTATION_PREFIX):]: e for e in events
                   if str(e.get("name", "")).startswith(n.ANNOTATION_PREFIX)}
    by_hex = {_hex(span): span for span in spans.values()}
    # every span that started while a window was recording is annotated, at exactly its OTLP times
    for name in ("chat tiny", "execute_tool add", "chat handoff", "execute_tool moved"):
        for span in _by_name(spans, name):
            event = annotations[_hex(span)]
            assert abs(base + round(event["ts"] * 1000) - span.start_time) <= 1
            assert abs(event["dur"] * 1000 - (span.end_time - span.start_time)) <= 2
    assert set(annotations) <= set(by_hex)
    # the matmuls the test timed with time.time_ns() sit inside those marks on the wall clock
    first_llm = min(_by_name(spans, "chat tiny"), key=lambda s: s.start_time)
    matmuls = sorted((e for e in events if e.get("name") == "aten::matmul"), key=lambda e: e["ts"])[: len(marks)]
    for (before, after), op in zip(marks, matmuls):
        start = base + round(op["ts"] * 1000)
        assert before - 1000 <= start and start + op["dur"] * 1000 <= after + 1000
        assert first_llm.start_time <= start <= first_llm.end_time


def test_span_ended_on_another_thread_keeps_its_ops(profiled_run):
    _, spans, _ = profiled_run
    (moved,) = _by_name(spans, "execute_tool moved")
    top = json.loads(moved.attributes[n.CPU_TOP_OPS])
    assert "aten::matmul" in {entry["name"] for entry in top}


def test_schedule_every_nth_llm_call_and_named_spans(tmp_path):
    provider, exporter = _provider(tmp_path / "every", profile_every=2)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("invoke_agent a"):
        for _ in range(3):
            _llm(tracer, 1, tool=False)
    provider.shutdown()
    llm = sorted((s for s in exporter.get_finished_spans() if s.name == "chat tiny"), key=lambda s: s.start_time)
    assert [n.CPU_OP_TIME_NS in s.attributes for s in llm] == [True, False, True]

    assert all(n.CPU_ACHIEVED_FLOPS in s.attributes for s in llm if n.CPU_OP_TIME_NS in s.attributes)

    provider, exporter = _provider(tmp_path / "named", profile_every=0, profile_spans=("execute_tool *",), flops=False)
    tracer = provider.get_tracer("test")
    _llm(tracer, 2)
    provider.shutdown()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    tool, llm = spans["execute_tool add"].attributes, spans["chat tiny"].attributes
    assert tool[n.CPU_OP_COUNT] == 1 and tool[n.PROFILE_COVERAGE] == pytest.approx(1.0)
    # the LLM call itself was not profiled: it only carries its profiled child's op, not its matmuls
    assert llm[n.CPU_OP_COUNT] == 1 and llm[n.CPU_OP_TIME_NS] == tool[n.CPU_OP_TIME_NS]
    assert llm[n.PROFILE_COVERAGE] < 1
    assert n.CPU_ACHIEVED_FLOPS not in tool  # FLOPs were not asked for


def test_importing_the_profilers_does_not_import_torch():
    code = (
        "import sys, rootspan.profilers, rootspan.profilers.processor, rootspan.profilers.perfetto, "
        "rootspan.profilers.commands, rootspan.profilers.moe_stats; assert 'torch' not in sys.modules, 'torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class _BrokenResults:
    """Profiler results whose Chrome export fails, as on a full temp directory."""

    def export_chrome_trace(self, path: str) -> None:
        raise OSError(28, "No space left on device")


def test_a_window_that_cannot_be_exported_raises_for_the_note(tmp_path, monkeypatch):
    from rootspan.profilers.kernels import KernelProfiler, RecordedWindow

    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(OSError, match="No space left"):
        KernelProfiler.load_window(RecordedWindow(results=_BrokenResults(), cuda=False))
    assert list(tmp_path.iterdir()) == []  # the temporary export is gone too


def test_a_kernels_file_that_cannot_be_written_leaves_no_temporary(tmp_path, monkeypatch):
    from rootspan.profilers.chrome import Window
    from rootspan.profilers.kernel_files import KernelStore

    store = KernelStore(tmp_path)
    window = Window(events=[{"ph": "X", "name": "aten::mm", "ts": 1.0, "dur": 2.0}], base_ns=0, flops_by_op={},
                    cuda=False, meta={}, start_ns=0, end_ns=10)
    store.add_window(window, {}, {}, "t" * 32)

    import os

    real_fdopen = os.fdopen

    class FullDisk:
        """The temporary file exists (created by the real open), and writing it fills the disk."""

        def __init__(self, fd, *args, **kwargs):
            self.handle = real_fdopen(fd, *args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[:10])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr("rootspan.safe_write.os.fdopen", FullDisk)
    with pytest.raises(OSError):
        store.flush("t" * 32)
    assert list((tmp_path / "kernels").iterdir()) == []
