"""A model server's spans joined to the client's trace (rootspan serve: queue_wait, prefill,
decode with rootspan.serve.phase) are bound by queueing / llm_prefill / llm_decode, so the slowdown
engine names the server-side phase that made the client's LLM call slow."""

from __future__ import annotations

from slowdown_fixtures import agent, llm, span, workflow, trace

from rootspan.attribution.slowdown import analyze_slowdown


def _server_trace(queue_ms: float, prefill_ms: float, decode_ms: float) -> list:
    end = queue_ms + prefill_ms + decode_ms
    return trace(
        workflow("w", 0, end + 10),
        agent("a", 0, end + 5, "w", "planner"),
        llm("chat", 0, end + 2, "a", provider="rootspan-serve"),
        span("serve", 1, end + 1, "chat", name="serve demo-moe"),
        span("queue", 1, 1 + queue_ms, "serve", name="queue_wait", rootspan__serve__phase="queue"),
        span("prefill", 1 + queue_ms, 1 + queue_ms + prefill_ms, "serve", name="prefill", rootspan__serve__phase="prefill"),
        span("decode", 1 + queue_ms + prefill_ms, 1 + end, "serve", name="decode", rootspan__serve__phase="decode"),
    )


def _top(t) -> tuple[str, str]:
    best = max(analyze_slowdown(t), key=lambda b: b.share)
    return best.span_id, best.bound_by


def test_a_long_queue_at_the_server_is_queueing() -> None:
    assert _top(_server_trace(900, 20, 80)) == ("queue", "queueing")


def test_a_long_decode_at_the_server_is_llm_decode() -> None:
    assert _top(_server_trace(1, 20, 900)) == ("decode", "llm_decode")


def test_a_long_prefill_at_the_server_is_llm_prefill() -> None:
    assert _top(_server_trace(1, 900, 30)) == ("prefill", "llm_prefill")


def test_without_the_server_run_the_call_is_remote_latency() -> None:
    t = trace(workflow("w", 0, 1000), agent("a", 0, 990, "w", "planner"), llm("chat", 0, 980, "a", provider="rootspan-serve"))
    assert _top(t) == ("chat", "llm_remote_latency")
