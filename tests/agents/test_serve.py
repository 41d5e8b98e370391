"""`rootspan serve` with the real OpenAI Python client: plain and streamed completions, the
same text as in-process generation (also when requests share decode steps), OpenAI-shaped errors
with their status codes, the queue limit, and cancellation when a streaming client goes away.

The server runs in this process (uvicorn on a thread, a free port) with the shipped demo model;
its spans go to a real OTel SDK provider with an in-memory exporter. Trace joining across two
processes is in test_serve_tracing.py.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rootspan.agents import tasks as T
from rootspan.agents.serve import build, running

QUESTIONS = [t.question for t in T.make_tasks(6, seed=3)]


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
def served(exporter: InMemorySpanExporter):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    served = build(tracer=provider.get_tracer("test"), max_batch=8, max_queue=16)
    with running(served.app) as url:
        served.url = url  # type: ignore[attr-defined]
        yield served
    served.engine.close()


@pytest.fixture(scope="module")
def client(served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url, api_key="unused", max_retries=0, timeout=60)


def planner(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You plan."}, {"role": "user", "content": T.planner_prompt(question)}]


def in_process(served, question: str, max_tokens: int = 24) -> str:
    return served.backend.complete(planner(question), max_tokens=max_tokens).text


def test_models_lists_the_served_model(client, served) -> None:
    ids = [m.id for m in client.models.list().data]
    assert ids == [served.model_name] == ["demo-moe"]


def test_completion_matches_in_process_generation(client, served) -> None:
    question = QUESTIONS[0]
    reply = client.chat.completions.create(model=served.model_name, messages=planner(question), max_tokens=24)
    expected = in_process(served, question)
    assert reply.choices[0].message.content == expected
    assert ">" in expected  # the demo model really planned (e.g. "18+34>solver")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens == len(served.backend.encode(T.planner_prompt(question)))
    assert reply.usage.completion_tokens == len(expected) + 1  # characters plus the end-of-message token


def test_stream_pieces_add_up_and_usage_comes_last(client, served) -> None:
    question = QUESTIONS[1]
    chunks = list(client.chat.completions.create(
        model=served.model_name, messages=planner(question), max_tokens=24, stream=True,
        stream_options={"include_usage": True},
    ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == in_process(served, question)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(text) + 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert all(c.usage is None for c in chunks[:-1])


def test_raw_stream_is_sse_ending_in_done(served) -> None:
    body = {"model": served.model_name, "messages": planner(QUESTIONS[2]), "max_tokens": 5, "stream": True}
    with httpx.stream("POST", served.url + "/chat/completions", json=body, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[6:]) for e in events[:-1]]
    assert all("usage" not in p for p in payloads)  # not asked for
    assert payloads[-1]["choices"][0]["finish_reason"] == "length"


def test_concurrent_requests_share_decode_steps_and_keep_their_text(client, served, exporter) -> None:
    expected = {q: in_process(served, q) for q in QUESTIONS}
    exporter.clear()
    barrier = threading.Barrier(len(QUESTIONS))

    def ask(question: str) -> str:
        barrier.wait()
        reply = client.chat.completions.create(model=served.model_name, messages=planner(question), max_tokens=24)
        return reply.choices[0].message.content

    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        got = dict(zip(QUESTIONS, pool.map(ask, QUESTIONS)))
    assert got == expected
    decodes = [s for s in exporter.get_finished_spans() if s.name == "decode"]
    assert len(decodes) == len(QUESTIONS)
    # Ragged prompts joined one running batch: some decode step held more than one request.
    assert max(s.attributes["rootspan.serve.batch_size_max"] for s in decodes) > 1


def test_sampling_with_a_seed_repeats(client, served) -> None:
    ask = dict(model=served.model_name, messages=planner(QUESTIONS[0]), max_tokens=12, temperature=1.5, seed=7)
    first = client.chat.completions.create(**ask).choices[0].message.content
    assert client.chat.completions.create(**ask).choices[0].message.content == first


def test_stop_strings_end_the_text_before_them(client, served) -> None:
    full = in_process(served, QUESTIONS[0])
    cut = full.index(">")
    reply = client.chat.completions.create(model=served.model_name, messages=planner(QUESTIONS[0]), max_tokens=24, stop=[">"])
    assert reply.choices[0].message.content == full[:cut]
    assert reply.choices[0].finish_reason == "stop"


def test_spans_of_a_request(client, served, exporter) -> None:
    exporter.clear()
    client.chat.completions.create(model=served.model_name, messages=planner(QUESTIONS[3]), max_tokens=24)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    request = spans["serve demo-moe"]
    for name in ("queue_wait", "prefill", "decode"):
        assert spans[name].parent.span_id == request.context.span_id
    assert request.attributes["gen_ai.usage.input_tokens"] == spans["prefill"].attributes["gen_ai.usage.input_tokens"]
    assert request.attributes["gen_ai.usage.output_tokens"] == spans["decode"].attributes["gen_ai.usage.output_tokens"] + 1
    assert request.attributes["rootspan.llm.time_to_first_token_s"] > 0
    assert request.attributes["rootspan.serve.tokens_per_s"] > 0
    # The MoE expert load of this request's prefill: one count per routed expert per MoE layer.
    load = json.loads(spans["prefill"].attributes["rootspan.gpu.moe.tokens_per_expert"])
    assert len(load) == 3 and all(len(layer) == 16 for layer in load)
    assert sum(load[0]) == 2 * request.attributes["gen_ai.usage.input_tokens"]  # top-2 routing


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, 400, "model"),
        ({"model": "demo-moe", "messages": []}, 400, "messages"),
        ({"model": "demo-moe", "messages": [{"role": "user", "content": "x"}], "temperature": 5}, 400, "temperature"),
        ({"model": "demo-moe", "messages": [{"role": "user", "content": "x"}], "n": 2}, 400, "n"),
        ({"model": "demo-moe", "messages": [{"role": "wizard", "content": "x"}]}, 400, "messages.0.role"),
        ({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}, 404, "model"),
        ({"model": "demo-moe", "messages": [{"role": "user", "content": "x" * 300}]}, 422, "messages"),
        ({"model": "demo-moe", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1000}, 422, "messages"),
        ({"model": "demo-moe", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}],
          "tool_choice": "required"}, 400, "tool_choice"),
    ],
)
def test_bad_requests_get_openai_errors(served, body, status, param) -> None:
    response = httpx.post(served.url + "/chat/completions", json=body, timeout=30)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["param"] == param and error["message"] and error["type"] == "invalid_request_error"


def test_errors_through_the_client(client, served) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.UnprocessableEntityError, match="context"):
        client.chat.completions.create(model=served.model_name, messages=[{"role": "user", "content": "x" * 300}])


def test_not_json_too_big_and_unknown_route(served) -> None:
    assert httpx.post(served.url + "/chat/completions", content=b"{nope", timeout=30).status_code == 400
    big = httpx.post(served.url + "/chat/completions", content=b" " * (5 * 1024 * 1024), timeout=30)
    assert big.status_code == 413 and "limit" in big.json()["error"]["message"]
    missing = httpx.get(served.url + "/completions", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def _wait(condition, timeout: float = 30.0, label: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {label or 'the condition'}"
        time.sleep(0.01)


def test_queue_limit_answers_503(exporter) -> None:
    served = build(max_batch=1, max_queue=1)
    long = {"model": "demo-moe", "messages": planner(QUESTIONS[0]), "max_tokens": 200, "stream": True, "ignore_eos": True}
    try:
        with running(served.app) as url, httpx.Client(base_url=url, timeout=60) as http:
            with http.stream("POST", "/chat/completions", json=long) as first:
                _wait(lambda: served.engine.active == 1)  # the one batch row is taken...
                with http.stream("POST", "/chat/completions", json=long) as second:
                    _wait(lambda: served.engine.queue_depth == 1)  # ...and the one queue place
                    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
                    with pytest.raises(openai.InternalServerError) as caught:
                        client.chat.completions.create(model="demo-moe", messages=planner(QUESTIONS[1]), max_tokens=4)
                    assert caught.value.status_code == 503
                    assert caught.value.response.headers["retry-after"] == "1"
                    assert caught.value.body["code"] == "overloaded"
                    second.close()
                first.close()
            _wait(lambda: served.engine.active == 0 and served.engine.queue_depth == 0)
    finally:
        served.engine.close()


def test_client_disconnect_cancels_generation(served, exporter) -> None:
    exporter.clear()
    body = {"model": served.model_name, "messages": planner(QUESTIONS[0]), "max_tokens": 200, "stream": True, "ignore_eos": True}
    with httpx.stream("POST", served.url + "/chat/completions", json=body, timeout=60) as response:
        lines = response.iter_lines()
        for _ in range(3):
            next(lines)
    _wait(lambda: any(s.name == "decode" for s in exporter.get_finished_spans()))
    decode = next(s for s in exporter.get_finished_spans() if s.name == "decode")
    assert decode.attributes["rootspan.serve.cancelled"] is True
    assert decode.attributes["gen_ai.usage.output_tokens"] < 199
    _wait(lambda: served.engine.active == 0)


def test_demo_team_over_http(served, tmp_path) -> None:
    import rootspan.tracer as rs
    from rootspan.agents.demo import run_demo
    from rootspan.rundir import load_run

    rs._reset_for_tests()
    try:
        result = run_demo(tmp_path / "run", tasks=2, seed=1, profile="off", backend_kind="openai", base_url=served.url)
    finally:
        rs._reset_for_tests()
    assert result.successes == 2
    chats = [s for s in load_run(tmp_path / "run").all_spans() if s.name == "chat demo-moe"]
    assert chats and all(s.attributes["server.port"] == int(served.url.split(":")[2].split("/")[0]) for s in chats)
    assert all(s.attributes["rootspan.llm.streaming"] is True for s in chats)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--backend", "openai"],
        ["demo", "--backend", "openai", "--base-url", "localhost:8000"],
        ["demo", "--base-url", "http://127.0.0.1:8000/v1"],
        ["demo", "--backend", "vllm"],
        ["demo", "--backend", "openai", "--base-url", "http://127.0.0.1:8000/v1", "--fault", "moe-routing-skew"],
        ["serve", "--model", "/nonexistent"],
        ["serve", "--port", "0"],
        ["serve", "--max-queue", "0"],
    ],
)
def test_bad_flags_are_one_line_errors(argv, capsys) -> None:
    from rootspan.cli import run as cli

    assert cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rootspan: error:") and "\n" not in err


def test_bench_serve_reports_every_level(capsys) -> None:
    from rootspan.cli import run as cli

    argv = ["bench", "serve", "--json", "--requests", "2", "--max-tokens", "2", "--clients", "1,2", "--rounds", "1"]
    assert cli(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert [level["clients"] for level in result["levels"]] == [1, 2]
    for level in result["levels"]:
        for row in (level["batched"], level["one_at_a_time"]):
            assert row["completion_tokens"] == 4  # ignore_eos: exactly max_tokens per request
            assert row["latency_p99_s"] >= row["latency_p50_s"] > 0
        assert level["speedup"] == round(level["batched"]["tokens_per_s"] / level["one_at_a_time"]["tokens_per_s"], 2)
    assert result["speedup_at_2_clients"] == result["levels"][-1]["speedup"]


def test_non_streaming_client_disconnect_cancels_generation(served, exporter) -> None:
    import socket

    exporter.clear()
    body = json.dumps({"model": served.model_name, "messages": planner(QUESTIONS[1]), "max_tokens": 150,
                       "ignore_eos": True}).encode()
    host, port = served.url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        _wait(lambda: any(s.name == "prefill" for s in exporter.get_finished_spans()), label="prefill")
    _wait(lambda: any(s.name == "decode" for s in exporter.get_finished_spans()))
    decode = next(s for s in exporter.get_finished_spans() if s.name == "decode")
    assert decode.attributes["rootspan.serve.cancelled"] is True
    assert decode.attributes["gen_ai.usage.output_tokens"] < 149


def test_a_bug_in_the_handler_is_a_500_in_openai_shape(served, exporter, monkeypatch) -> None:
    exporter.clear()

    def broken(text: str) -> list[int]:
        raise KeyError("simulated tokenizer bug")

    monkeypatch.setattr(served.backend, "encode", broken)
    response = httpx.post(served.url + "/chat/completions", timeout=30,
                          json={"model": served.model_name, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 500
    assert response.json()["error"] == {"message": "internal error: KeyError", "type": "server_error", "param": None, "code": None}
    span = next(s for s in exporter.get_finished_spans() if s.name == "serve demo-moe")
    assert span.attributes["http.response.status_code"] == 500


def test_demo_over_http_merged_with_the_servers_run(tmp_path) -> None:
    """Item 4 end to end: the demo team against a tracing server; the two run directories merged
    show every agent's chat call above the server's queue wait, prefill and decode."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import rootspan.tracer as rs
    from rootspan.agents.demo import run_demo
    from rootspan.cli import run as cli
    from rootspan.merge import load_runs
    from rootspan.tracer.exporter import RunDirSpanExporter

    server_dir = tmp_path / "server"
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(RunDirSpanExporter(server_dir)))
    served = build(tracer=provider.get_tracer("rootspan-serve"))
    rs._reset_for_tests()
    try:
        with running(served.app) as url:
            result = run_demo(tmp_path / "client", tasks=1, seed=2, profile="off", backend_kind="openai", base_url=url)
    finally:
        rs._reset_for_tests()
        served.engine.close()
        provider.shutdown()
    assert result.successes == 1
    run = load_runs([tmp_path / "client", server_dir])
    (trace,) = run.traces.values()
    chats = [s for s in trace.spans if s.name == "chat demo-moe"]
    assert {trace.agent_of(c) for c in chats} == {"planner", "solver", "verifier"}
    for chat in chats:
        (request,) = trace.children(chat.span_id)
        assert request.name == "serve demo-moe"
        assert sorted(s.name for s in trace.children(request.span_id)) == ["decode", "prefill", "queue_wait"]
    assert cli(["attribute", str(tmp_path / "client"), str(server_dir), "--no-write"]) == 0
