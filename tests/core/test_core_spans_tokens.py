"""``spans --json``: token counts on LLM spans under each convention, and a step on every span.

Both runs are written by real code: the rootspan tracer (outcomes_app.py, in a subprocess) and
the OpenTelemetry SDK itself, with the attributes OpenInference and OpenLLMetry put on their
spans, exported through rootspan's run-directory exporter as any OTel app would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rootspan import semconv as sc

APP = Path(__file__).with_name("outcomes_app.py")


def _spans_json(run_dir: Path) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "rootspan", "spans", str(run_dir), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_tracer_run_rows_carry_tokens_on_llm_spans_and_a_step_everywhere(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    subprocess.run([sys.executable, str(APP), str(run_dir)], check=True, timeout=120)
    rows = _spans_json(run_dir)
    assert len(rows) == 14
    assert all(isinstance(row["step"], int) for row in rows)
    assert all({"input_tokens", "output_tokens"} <= set(row) for row in rows)
    llm = [row for row in rows if row["kind"] == "llm"]
    assert [(row["input_tokens"], row["output_tokens"]) for row in llm] == [(12, 3)]
    assert all(row["input_tokens"] is None and row["output_tokens"] is None for row in rows if row["kind"] != "llm")
    for trace_id in {row["trace_id"] for row in rows}:
        steps = [row["step"] for row in rows if row["trace_id"] == trace_id]
        assert steps == list(range(len(steps)))  # the tracer's own numbering, in order


def _write_foreign_run(run_dir: Path) -> None:
    """Spans as OpenInference and OpenLLMetry instrumentations record them, through the real SDK."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from rootspan.tracer.exporter import RunDirSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RunDirSpanExporter(run_dir)))
    tracer = provider.get_tracer("openinference.instrumentation.fake")
    with tracer.start_as_current_span("Agent workflow", attributes={"openinference.span.kind": "CHAIN"}):
        with tracer.start_as_current_span("planner", attributes={"openinference.span.kind": "AGENT"}):
            with tracer.start_as_current_span("ChatCompletion", attributes={
                    "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
                    sc.OPENINFERENCE_TOKEN_COUNT_PROMPT: 120, sc.OPENINFERENCE_TOKEN_COUNT_COMPLETION: 17,
                    "llm.token_count.total": 137}):
                pass
            with tracer.start_as_current_span("openai.chat", attributes={  # OpenLLMetry before the rename
                    "llm.request.type": "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                    sc.GEN_AI_USAGE_PROMPT_TOKENS_DEPRECATED: 40, sc.GEN_AI_USAGE_COMPLETION_TOKENS_DEPRECATED: 8}):
                pass
            with tracer.start_as_current_span("both names", attributes={  # the current name wins
                    "openinference.span.kind": "LLM", sc.GEN_AI_USAGE_INPUT_TOKENS: 5,
                    sc.OPENINFERENCE_TOKEN_COUNT_PROMPT: 999, sc.OPENINFERENCE_TOKEN_COUNT_COMPLETION: 2}):
                pass
            with tracer.start_as_current_span("odd counts", attributes={
                    "openinference.span.kind": "LLM", sc.OPENINFERENCE_TOKEN_COUNT_PROMPT: 12.5,
                    sc.OPENINFERENCE_TOKEN_COUNT_COMPLETION: "7"}):
                pass
            with tracer.start_as_current_span("lookup", attributes={
                    "openinference.span.kind": "TOOL", sc.OPENINFERENCE_TOKEN_COUNT_PROMPT: 3}):
                pass
    provider.shutdown()


def test_openinference_and_openllmetry_counts_are_read_and_steps_follow_start_order(tmp_path: Path) -> None:
    run_dir = tmp_path / "foreign"
    _write_foreign_run(run_dir)
    rows = {row["name"]: row for row in _spans_json(run_dir)}
    tokens = {name: (row["kind"], row["input_tokens"], row["output_tokens"]) for name, row in rows.items()}
    assert tokens == {
        "Agent workflow": ("workflow", None, None),
        "planner": ("agent", None, None),
        "ChatCompletion": ("llm", 120, 17),
        "openai.chat": ("llm", 40, 8),
        "both names": ("llm", 5, 2),
        "odd counts": ("llm", None, None),  # a float or a string is not a count
        "lookup": ("tool", None, None),  # tokens are a model call's
    }
    order = ["Agent workflow", "planner", "ChatCompletion", "openai.chat", "both names", "odd counts", "lookup"]
    assert [rows[name]["step"] for name in order] == list(range(len(order)))


@pytest.mark.parametrize("value", [True, -1])
def test_a_bool_or_negative_count_is_no_count(value) -> None:
    from rootspan.model import Span
    from rootspan.tokens import input_tokens

    span = Span(trace_id="a" * 32, span_id="b" * 16, attributes={sc.GEN_AI_USAGE_INPUT_TOKENS: value,
                                                                 sc.OPENINFERENCE_TOKEN_COUNT_PROMPT: 4})
    assert input_tokens(span) == 4  # the unusable current name falls through to the next convention
