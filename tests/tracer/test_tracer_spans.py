"""Span names, GenAI attributes, nesting, step order, data flow, decorators, exceptions, redaction."""

from __future__ import annotations

import asyncio
import json
import warnings

import pytest
from tracer_helpers import by_name, finish, only_trace, start

import rootspan.tracer as rs
from rootspan import semconv as sc
from rootspan.model import SpanKind, StatusCode
from rootspan.rundir import TRACES_FILE


def test_conventions_and_nesting(tmp_path):
    start(tmp_path)

    @rs.agent("planner", agent_id="planner-1")
    def plan(question: str) -> str:
        with rs.llm_call(model="tiny-moe", provider="rootspan-moe") as call:
            call.usage(input_tokens=812, output_tokens=96)
            call.finish_reasons(["stop"])
        return lookup(question)

    @rs.tool("search")
    def lookup(question: str) -> str:
        return question.upper()

    with rs.workflow("solve-ticket", conversation_id="conv-7"):
        assert plan("where is my order") == "WHERE IS MY ORDER"
    trace = only_trace(finish(tmp_path))

    workflow = by_name(trace, "invoke_workflow solve-ticket")
    agent = by_name(trace, "invoke_agent planner")
    llm = by_name(trace, "chat tiny-moe")
    tool = by_name(trace, "execute_tool search")
    assert workflow.parent_span_id is None
    assert agent.parent_span_id == workflow.span_id
    assert llm.parent_span_id == agent.span_id and tool.parent_span_id == agent.span_id
    assert [workflow.kind, agent.kind, llm.kind, tool.kind] == [SpanKind.WORKFLOW, SpanKind.AGENT, SpanKind.LLM, SpanKind.TOOL]
    assert workflow.attributes[sc.GEN_AI_WORKFLOW_NAME] == "solve-ticket"
    assert workflow.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv-7"
    assert agent.attributes[sc.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert agent.attributes[sc.GEN_AI_AGENT_ID] == "planner-1"
    assert llm.attributes[sc.GEN_AI_PROVIDER_NAME] == "rootspan-moe"
    assert sc.GEN_AI_SYSTEM_DEPRECATED not in llm.attributes
    assert llm.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 812
    assert llm.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 96
    assert llm.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]
    assert llm.otel_kind == 3  # OTLP CLIENT
    assert tool.attributes[sc.GEN_AI_TOOL_NAME] == "search"
    assert trace.agent_of(tool) == "planner"
    assert workflow.resource["service.name"] == "tracer-tests"
    # Content is off by default: no arguments, results or outputs leave the process.
    for span in trace.spans:
        assert not {sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_TOOL_CALL_RESULT, sc.ROOTSPAN_OUTPUT} & set(span.attributes)


def test_file_follows_otlp_json_rules(tmp_path):
    start(tmp_path)
    with rs.workflow("w"):
        with rs.llm_call(model="m", provider="p") as call:
            call.usage(input_tokens=5)
    rs.shutdown()
    lines = (tmp_path / TRACES_FILE).read_text().splitlines()
    assert lines
    span = json.loads(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16
    assert isinstance(span["kind"], int) and isinstance(span["status"]["code"], int)
    assert isinstance(span["startTimeUnixNano"], str) and isinstance(span["endTimeUnixNano"], str)
    values = {item["key"]: item["value"] for item in span["attributes"]}
    assert values[sc.ROOTSPAN_STEP] == {"intValue": "1"}


def test_steps_are_start_order_per_trace(tmp_path):
    start(tmp_path)
    for _ in range(2):
        with rs.workflow("w"):
            with rs.agent_span("a"):
                with rs.tool_span("t"):
                    pass
            with rs.agent_span("b"):
                pass
    run = finish(tmp_path)
    assert len(run.traces) == 2
    for trace in run.traces.values():
        assert [(span.step, span.name) for span in trace.steps()] == [
            (0, "invoke_workflow w"),
            (1, "invoke_agent a"),
            (2, "execute_tool t"),
            (3, "invoke_agent b"),
        ]


def test_steps_unique_under_threads(tmp_path):
    start(tmp_path)

    def work() -> None:
        for _ in range(50):
            with rs.tool_span("t"):
                pass

    with rs.workflow("w"):
        with rs.propagating_executor(max_workers=4) as pool:
            for future in [pool.submit(work) for _ in range(4)]:
                future.result()
    trace = only_trace(finish(tmp_path))
    assert sorted(span.step for span in trace.spans) == list(range(201))


def test_consumed_records_inputs(tmp_path):
    start(tmp_path)
    with rs.workflow("w"):
        with rs.tool_span("search") as search:
            pass
        with rs.tool_span("fetch") as fetch:
            pass
        with rs.agent_span("writer") as writer:
            rs.consumed(search.span_id)
            rs.consumed(fetch, search.span_id)  # handles work too; duplicates are dropped
            assert rs.current_span_id() == writer.span_id
    assert rs.current_span_id() is None
    trace = only_trace(finish(tmp_path))
    assert by_name(trace, "invoke_agent writer").inputs == [search.span_id, fetch.span_id]


def test_async_and_generator_decorators(tmp_path):
    start(tmp_path)

    @rs.agent("async-agent")
    async def think() -> int:
        await asyncio.sleep(0)
        with rs.tool_span("inner"):
            pass
        return 7

    @rs.tool("stream")
    async def stream():
        for i in range(3):
            await asyncio.sleep(0)
            yield i

    @rs.tool
    def chunks():
        yield from "ab"

    async def main() -> list:
        with rs.workflow("w"):
            value = await think()
            items = [item async for item in stream()]
            # The consumer's code between items is outside the generator's span.
            assert rs.current_span_id() is not None
            return [value, items, list(chunks())]

    assert asyncio.run(main()) == [7, [0, 1, 2], ["a", "b"]]
    trace = only_trace(finish(tmp_path))
    workflow = by_name(trace, "invoke_workflow w")
    agent = by_name(trace, "invoke_agent async-agent")
    assert agent.parent_span_id == workflow.span_id
    assert by_name(trace, "execute_tool inner").parent_span_id == agent.span_id
    assert by_name(trace, "execute_tool stream").parent_span_id == workflow.span_id
    assert by_name(trace, "execute_tool chunks").parent_span_id == workflow.span_id


def test_exception_recorded_and_reraised_unchanged(tmp_path):
    start(tmp_path)

    class ToolFailure(RuntimeError):
        pass

    original = ToolFailure("upstream returned 503")

    @rs.tool("flaky")
    def flaky() -> None:
        raise original

    @rs.agent("async-fail")
    async def async_fail() -> None:
        raise KeyError("missing")

    with rs.workflow("w"):
        with pytest.raises(ToolFailure) as caught:
            flaky()
        assert caught.value is original
        with pytest.raises(KeyError):
            asyncio.run(async_fail())
        with pytest.raises(ValueError):
            with rs.agent_span("ctx"):
                raise ValueError("bad")
    trace = only_trace(finish(tmp_path))
    tool = by_name(trace, "execute_tool flaky")
    assert tool.status_code == StatusCode.ERROR
    assert "upstream returned 503" in tool.status_message
    event = tool.exception_events[0]
    assert event.attributes["exception.message"] == "upstream returned 503"
    assert event.attributes["exception.type"].endswith("ToolFailure")
    assert "Traceback" in event.attributes["exception.stacktrace"]
    assert by_name(trace, "invoke_agent async-fail").is_error
    assert by_name(trace, "invoke_agent ctx").is_error
    assert not by_name(trace, "invoke_workflow w").is_error


def test_content_capture_and_redaction(tmp_path):
    start(tmp_path, capture_content=True, redact_patterns=[r"ACME-\d{6}"])
    secrets = [
        "sk-proj-abcdefghijklmnop1234567890",
        "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "postgres://admin:hunter22@db.internal:5432/app",
        "AKIAIOSFODNN7EXAMPLE",
        "ACME-123456",
    ]

    @rs.tool("http_get")
    def http_get(url: str, headers: dict) -> str:
        return f"fetched {url} with {headers['Authorization']}"

    with rs.workflow("w"):
        with rs.llm_call(model="m", provider="p") as call:
            call.messages(input=[{"role": "user", "content": "my key is " + secrets[0]}], output="use " + secrets[3])
        http_get(secrets[2], {"Authorization": secrets[1]})
        with rs.agent_span("a"):
            rs.record_output("internal id " + secrets[4])
        with pytest.raises(ConnectionError):
            with rs.tool_span("db"):
                raise ConnectionError(f"cannot reach {secrets[2]}")
        rs.outcome(success=True, answer="done")
    trace = only_trace(finish(tmp_path))
    text = (tmp_path / TRACES_FILE).read_text()
    for secret in ("abcdefghijklmnop1234567890", "eyJhbGciOiJIUzI1NiJ9", "hunter22", "AKIAIOSFODNN7EXAMPLE", "123456"):
        assert secret not in text
    llm = by_name(trace, "chat m")
    messages = json.loads(llm.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert messages == [{"role": "user", "parts": [{"type": "text", "content": "my key is [REDACTED]"}]}]
    assert json.loads(llm.attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["role"] == "assistant"
    tool = by_name(trace, "execute_tool http_get")
    arguments = json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS])
    assert arguments["url"] == "postgres://admin:[REDACTED]@db.internal:5432/app"
    assert "Bearer [REDACTED]" in tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT]
    assert by_name(trace, "invoke_agent a").attributes[sc.ROOTSPAN_OUTPUT] == "internal id [REDACTED]"
    assert "admin:[REDACTED]@" in by_name(trace, "execute_tool db").exception_events[0].attributes["exception.message"]


def test_capture_env_var_turns_content_on(tmp_path, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    tracing = start(tmp_path)
    assert tracing.capture_content
    with rs.tool_span("t", arguments={"q": 1}) as call:
        call.set_result([1, 2])
    span = only_trace(finish(tmp_path)).spans[0]
    assert span.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"q": 1}'
    assert span.attributes[sc.GEN_AI_TOOL_CALL_RESULT] == "[1, 2]"


def test_outcome_lands_on_root(tmp_path):
    start(tmp_path)
    with rs.workflow("solve"):
        with rs.agent_span("solver"):
            with rs.tool_span("calc"):
                rs.outcome(success=False, reason="wrong answer", expected="42", answer="41")
    trace = only_trace(finish(tmp_path))
    root = by_name(trace, "invoke_workflow solve")
    assert root.attributes[sc.ROOTSPAN_OUTCOME] == "failure"
    assert root.attributes[sc.ROOTSPAN_OUTCOME_REASON] == "wrong answer"
    assert trace.outcome == "failure" and trace.expected == "42"
    assert sc.ROOTSPAN_OUTPUT not in root.attributes  # the answer is content: capture is off


def test_setup_twice_warns_and_keeps_first(tmp_path):
    first = start(tmp_path / "one")
    with pytest.warns(RuntimeWarning, match="called again"):
        second = rs.setup(run_dir=tmp_path / "two")
    assert second is first
    rs.shutdown()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        third = start(tmp_path / "three")  # after shutdown, setup builds a fresh pipeline
    assert third is not first and third.run_dir == tmp_path / "three"


def test_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOTSPAN_RUN_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("ROOTSPAN_PROFILE", "off")
    tracing = rs.setup(run_dir=tmp_path / "from-arg", profile="full")
    assert tracing.run_dir == tmp_path / "from-env" and tracing.profile == "off"
    with pytest.raises(ValueError):
        rs.shutdown()
        monkeypatch.setenv("ROOTSPAN_PROFILE", "sometimes")
        rs.setup(run_dir=tmp_path)


def test_missing_profilers_warn_once_unless_auto(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "rootspan.profilers", None)  # as if the part were not installed
    start(tmp_path, profile="auto")
    rs.shutdown()
    assert capsys.readouterr().err == ""
    start(tmp_path, profile="device")
    rs.shutdown()
    start(tmp_path, profile="device")
    rs.shutdown()
    assert capsys.readouterr().err.count("rootspan.profilers is not available") == 1


def test_spans_without_setup_are_harmless():
    @rs.agent("idle")
    def idle() -> int:
        with rs.llm_call(model="m", provider="p") as call:
            call.usage(input_tokens=1)
            rs.consumed("00f067aa0ba902b7")
            rs.outcome(success=True)
        return 1

    assert idle() == 1
    assert rs.current_span_id() is None


def test_service_name_from_argument_env_or_default(tmp_path, monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert rs.setup(run_dir=tmp_path, profile="off").service == "from-env"
    rs.shutdown()
    assert rs.setup(service="explicit", run_dir=tmp_path, profile="off").service == "explicit"
    rs.shutdown()
    monkeypatch.delenv("OTEL_SERVICE_NAME")
    assert rs.setup(run_dir=tmp_path, profile="off").service == "rootspan-app"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:s3cr3t@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
        ('{"password": "hunter2", "user": "bob"}', '{"password": "[REDACTED]", "user": "bob"}'),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = [REDACTED]"),
        ("token ghp_" + "a" * 36, "token [REDACTED]"),
        ("api-key: abcdef123", "api-key: [REDACTED]"),
        # Not secrets: left alone.
        ("http://example.com:8080/path", "http://example.com:8080/path"),
        ("ask sk-short questions", "ask sk-short questions"),
    ],
)
def test_redactor_patterns(text, expected):
    assert rs.Redactor()(text) == expected


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for this object")

    __repr__ = __str__


def test_content_that_cannot_be_shown_does_not_break_the_call_or_its_context(tmp_path):
    start(tmp_path, capture_content=True)

    @rs.tool("store")
    def store(item: object) -> object:
        return _Unprintable()

    with rs.workflow("w") as workflow:
        assert isinstance(store(_Unprintable()), _Unprintable)
        assert rs.current_span_id() == workflow.span_id  # the tool's span is no longer current
    tool = by_name(only_trace(finish(tmp_path)), "execute_tool store")
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT] == "<_Unprintable that cannot be shown>"
