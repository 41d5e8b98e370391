"""The tracer side of the "Tracer <-> profilers" contract, with a stand-in profilers module.

The stand-in is a real SpanProcessor doing what the contract asks of the profilers: forward to
downstream an enriched ReadableSpan copy with aggregate attributes merged in, and shut
downstream down. It checks that the tracer calls ``wrap_processor`` with the documented
arguments and that enriched copies reach the run directory intact.
"""

from __future__ import annotations

import sys
import types

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from tracer_helpers import by_name, finish, only_trace, start

import rootspan.tracer as rs
from rootspan import semconv as sc
from rootspan.profilers.processor import enriched_copy  # before the test swaps the package out


class EnrichingProcessor(SpanProcessor):
    def __init__(self, downstream: SpanProcessor) -> None:
        self.downstream = downstream
        self.shut_down = False

    def on_start(self, span, parent_context=None) -> None:
        self.downstream.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        copy = enriched_copy(span, {"rootspan.cpu.time_ns": 1234})
        self.downstream.on_end(copy)

    def shutdown(self) -> None:
        self.shut_down = True
        self.downstream.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.downstream.force_flush(timeout_millis)


def test_wrap_processor_gets_the_pipeline_and_enriches_exported_spans(tmp_path, monkeypatch):
    calls = []

    def wrap_processor(downstream, run_dir, mode, resource):
        processor = EnrichingProcessor(downstream)
        calls.append((run_dir, mode, resource, processor))
        return processor

    module = types.ModuleType("rootspan.profilers")
    module.wrap_processor = wrap_processor
    monkeypatch.setitem(sys.modules, "rootspan.profilers", module)

    start(tmp_path, profile="device", service="profiled")
    with rs.workflow("w"):
        with rs.llm_call(model="m", provider="p"):
            pass
    trace = only_trace(finish(tmp_path))

    ((run_dir, mode, resource, processor),) = calls
    assert run_dir == tmp_path and mode == "device"
    assert resource["service.name"] == "profiled"
    assert processor.shut_down
    llm = by_name(trace, "chat m")
    assert llm.attributes["rootspan.cpu.time_ns"] == 1234
    assert llm.attributes[sc.ROOTSPAN_STEP] == 1


def test_profile_off_skips_the_profilers(tmp_path, monkeypatch):
    module = types.ModuleType("rootspan.profilers")

    def wrap_processor(*args, **kwargs):
        raise AssertionError("profile='off' must not call the profilers")

    module.wrap_processor = wrap_processor
    monkeypatch.setitem(sys.modules, "rootspan.profilers", module)
    start(tmp_path, profile="off")
    with rs.workflow("w"):
        pass
    assert len(only_trace(finish(tmp_path)).spans) == 1
