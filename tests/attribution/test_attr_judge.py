"""The optional judge: an OpenAI-compatible endpoint faked on 127.0.0.1, and the Who&When strategies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Iterator

import pytest
from attr_builders import span, team_trace, trace

from rootspan.attribution import attribute_trace
from rootspan.attribution.graph import build_graph
from rootspan.attribution.judge import OpenAIJudge, all_at_once, binary_search, parse_agent, parse_step, step_by_step
from rootspan.errors import UserError


class FakeEndpoint(BaseHTTPRequestHandler):
    """Answers every chat completion with the server's scripted reply and records the requests."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, self.headers.get("Authorization"), body))  # type: ignore[attr-defined]
        if self.server.status != 200:  # type: ignore[attr-defined]
            self.send_response(self.server.status)  # type: ignore[attr-defined]
            self.end_headers()
            return
        reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": self.server.reply}}]})  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def endpoint() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), FakeEndpoint)
    server.requests = []  # type: ignore[attr-defined]
    server.reply = "Agent: solver\nStep: 6\nReason: it says 43"  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: HTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def test_openai_judge_posts_chat_completions(endpoint: HTTPServer) -> None:
    judge = OpenAIJudge(_url(endpoint), model="tiny", api_key="k")
    assert judge.complete([{"role": "user", "content": "hi"}]).startswith("Agent: solver")
    path, auth, body = endpoint.requests[0]  # type: ignore[attr-defined]
    assert path == "/v1/chat/completions" and auth == "Bearer k"
    assert body["model"] == "tiny" and body["messages"][0]["content"] == "hi" and body["temperature"] == 0


def test_openai_judge_errors_are_user_errors(endpoint: HTTPServer) -> None:
    endpoint.status = 500  # type: ignore[attr-defined]
    with pytest.raises(UserError, match="HTTP 500"):
        OpenAIJudge(_url(endpoint)).complete([{"role": "user", "content": "hi"}])
    with pytest.raises(UserError, match="http"):
        OpenAIJudge("localhost:1")


def test_rescore_lets_the_judge_pick_among_the_candidates(endpoint: HTTPServer) -> None:
    t = team_trace(tool_error="boom", tool_result="", solver_output="the total is 9731", verifier_output="no answer")
    engine = attribute_trace(t)
    assert engine.culprit is not None and engine.alternatives
    other = engine.alternatives[0]
    endpoint.reply = f"Agent: {other.agent}\nStep: {other.step}\nReason: the other one"  # type: ignore[attr-defined]
    judged = attribute_trace(t, judge=OpenAIJudge(_url(endpoint)))
    assert judged.culprit is not None and judged.culprit.step == other.step
    assert judged.alternatives[0].step == engine.culprit.step
    assert f"judge chose step {other.step}" in judged.evidence[0]
    prompt = endpoint.requests[0][2]["messages"][-1]["content"]  # type: ignore[attr-defined]
    assert "Candidate steps" in prompt and "Deterministic evidence" in prompt
    endpoint.reply = "Step: 99"  # not a candidate: the engine's choice stands  # type: ignore[attr-defined]
    kept = attribute_trace(t, judge=OpenAIJudge(_url(endpoint)))
    assert kept.culprit is not None and kept.culprit.step == engine.culprit.step


class Scripted:
    """A backend object with ``complete`` that answers from a function of the prompt."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def complete(self, messages: list[dict[str, str]]) -> str:
        self.prompts.append(messages[-1]["content"])
        return self.answer(messages[-1]["content"])


def _chain():
    return build_graph(trace(
        span("run", 0, 100, op="invoke_workflow", step=None, input="task", **{"rootspan.outcome": "failure",
                                                                              "rootspan.expected": "7"}),
        *[span(f"s{i}", 1 + 10 * i, 9 + 10 * i, "run", op="invoke_agent", agent=f"agent{i % 2}", step=i,
               output=f"message {i}") for i in range(8)],
    ))


def test_strategies_with_a_scripted_backend() -> None:
    graph = _chain()
    backend = Scripted(lambda prompt: "Agent: agent1\nStep: 3")
    assert all_at_once(backend, graph) == ("agent1", 3)
    assert "The correct answer is: 7" in backend.prompts[0] and "Step 7 - agent1: message 7" in backend.prompts[0]
    # yes on step 5 only
    backend = Scripted(lambda prompt: "Yes." if "Is step 5 the decisive" in prompt else "No.")
    assert step_by_step(backend, graph) == ("agent1", 5)
    assert len(backend.prompts) == 6
    # the error is in step 6: answer by whether the lower half holds it
    def halves(prompt: str) -> str:
        lower = prompt.split("LOWER HALF (steps ")[1]
        first, last = (int(x) for x in lower.split(")")[0].split("-"))
        return "lower" if first <= 6 <= last else "upper"
    backend = Scripted(halves)
    assert binary_search(backend, graph) == ("agent0", 6)
    assert len(backend.prompts) == 3  # log2(8)


def test_reply_parsing() -> None:
    assert parse_step("Agent: **WebSurfer**\nStep: 12\n") == 12
    assert parse_agent("Agent: WebSurfer\nStep: 12") == "WebSurfer"
    assert parse_step("no idea") is None and parse_agent("no idea") is None


def test_eval_cli_uses_the_judge_strategy(endpoint: HTTPServer, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    from rootspan.cli import run

    source = Path("/work/shared/data/whowhen/Algorithm-Generated/1.json")
    if not source.is_file():
        pytest.skip("Who&When data not present")
    folder = tmp_path / "Algorithm-Generated"
    folder.mkdir()
    (folder / "1.json").write_text(source.read_text())
    endpoint.reply = "Agent: Excel_Expert\nStep: 0"  # type: ignore[attr-defined]
    assert run(["eval", "whowhen", str(folder), "--json", "--judge", _url(endpoint), "--strategy", "all-at-once"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["Algorithm-Generated"]["n"] == 1
    assert len(endpoint.requests) == 1  # type: ignore[attr-defined]
    assert run(["eval", "whowhen", str(folder), "--judge", _url(endpoint), "--strategy", "guess"]) == 2


def test_an_agents_backend_is_a_judge_as_it_is() -> None:
    class Completion:
        def __init__(self, text: str) -> None:
            self.text = text

    class Backend:
        def complete(self, messages, **options):
            return Completion("Agent: agent0\nStep: 2")

    assert all_at_once(Backend(), _chain()) == ("agent0", 2)
