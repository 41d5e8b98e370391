"""The batching engine without HTTP: requests that join a running batch (alone or together,
shorter or longer than the batch's column, after others left) get exactly the tokens that
generating each alone gives, greedy and with a seed; a failed prefill fails only its requests."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from rootspan.agents.moe import generate
from rootspan.agents.moe_backend import MoEBackend
from rootspan.agents.serve_engine import Engine, Event, GenRequest


@pytest.fixture(scope="module")
def backend() -> MoEBackend:
    torch.set_num_threads(1)
    return MoEBackend()


def alone(backend: MoEBackend, ids: list[int], n: int) -> list[int]:
    return generate(backend.net, [ids], max_new_tokens=n)[0].tolist()


class Collector:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.last: Event | None = None

    def __call__(self, event: Event) -> None:
        if event.kind in ("done", "error"):
            self.last = event
            self.done.set()


def request(backend: MoEBackend, text: str, n: int, **kw) -> tuple[GenRequest, Collector]:
    sink = Collector()
    return GenRequest(ids=backend.encode(text), max_tokens=n, emit=sink, ignore_eos=True, **kw), sink


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


LONG = "Q:Ann has 12 pens. Ann gets 30 more. Ann loses 7. How many?\nP:"
SHORT = "V:ok"
MID = "Q:Bo has 4 cups. How many?\nP:"


def test_joins_and_leaves_keep_every_requests_tokens(backend, monkeypatch) -> None:
    engine = Engine(backend, max_batch=8)
    shifts: list[int] = []
    real_shift = engine._shift
    monkeypatch.setattr(engine, "_shift", lambda by: (shifts.append(by), real_shift(by)))
    try:
        r0, s0 = request(backend, LONG, 6)
        engine.submit(r0)
        wait_until(lambda: len(r0.tokens) >= 3)
        r1, s1 = request(backend, SHORT, 40)  # joins a running batch, prompt shorter than its column
        engine.submit(r1)
        s0.done.wait(60)
        wait_until(lambda: engine.active == 1)
        # r0 has left: the next join shifts the batch left, then right (prompts longer than the column).
        r2, s2 = request(backend, LONG + "x", 10)
        r3, s3 = request(backend, MID, 12)
        engine.submit(r2)
        engine.submit(r3)
        for sink in (s1, s2, s3):
            assert sink.done.wait(60)
    finally:
        engine.close()
    for r in (r0, r1, r2, r3):
        assert r.tokens == alone(backend, r.ids, r.max_tokens), backend.decode(r.ids)
    assert max(r1.batch_sizes) >= 2  # r1 really shared decode steps
    assert any(by < 0 for by in shifts) and any(by > 0 for by in shifts)  # both shifts ran


def test_requests_arriving_together_are_prefilled_together(backend) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = Engine(backend, tracer=provider.get_tracer("t"), max_batch=8)
    texts = [LONG, SHORT, MID, SHORT + "!"]
    pairs = [request(backend, t, 8) for t in texts]
    try:
        with engine._cond:  # hold the worker off so that all four wait together
            for r, _ in pairs:
                engine._waiting.append(r)
                r.queue_span = engine.tracer.start_span("queue_wait")
            engine._cond.notify()
        for _, sink in pairs:
            assert sink.done.wait(60)
    finally:
        engine.close()
    for r, _ in pairs:
        assert r.tokens == alone(backend, r.ids, 8)
    prefills = [s for s in exporter.get_finished_spans() if s.name == "prefill"]
    assert [s.attributes["rootspan.serve.prefill_batch"] for s in prefills] == [4] * 4


def test_seeded_sampling_in_a_batch_is_the_same_as_alone(backend) -> None:
    engine = Engine(backend, max_batch=4)
    try:
        a, sa = request(backend, MID, 10, temperature=1.0, seed=3)
        b, sb = request(backend, LONG, 10, temperature=1.0, seed=3)
        engine.submit(a)
        engine.submit(b)
        assert sa.done.wait(60) and sb.done.wait(60)
        c, sc = request(backend, MID, 10, temperature=1.0, seed=3)
        engine.submit(c)
        assert sc.done.wait(60)
    finally:
        engine.close()
    assert a.tokens == c.tokens  # same seed, alone or next to another request


def test_a_failing_prefill_fails_only_its_request(backend, monkeypatch) -> None:
    engine = Engine(backend, max_batch=4)
    try:
        ok, sok = request(backend, LONG, 30)
        engine.submit(ok)
        wait_until(lambda: len(ok.tokens) >= 2)
        real_step = backend.net.step

        def failing(ids, *args, **kwargs):
            if ids.shape[1] > 1:  # a prefill, not a decode step
                raise RuntimeError("simulated kernel failure")
            return real_step(ids, *args, **kwargs)

        monkeypatch.setattr(backend.net, "step", failing)
        bad, sbad = request(backend, MID, 5)
        engine.submit(bad)
        assert sbad.done.wait(60)
        assert sbad.last.kind == "error" and "simulated kernel failure" in sbad.last.text
        monkeypatch.setattr(backend.net, "step", real_step)
        assert sok.done.wait(60) and sok.last.kind == "done"
    finally:
        engine.close()
    assert ok.tokens == alone(backend, ok.ids, 30)


def test_a_failing_decode_step_fails_the_running_rows_and_the_engine_goes_on(backend, monkeypatch) -> None:
    engine = Engine(backend, max_batch=4)
    try:
        real_step = backend.net.step
        calls = {"n": 0}

        def failing(ids, *args, **kwargs):
            if ids.shape[1] == 1:  # decode steps only
                calls["n"] += 1
                if calls["n"] == 2:
                    raise RuntimeError("simulated decode failure")
            return real_step(ids, *args, **kwargs)

        monkeypatch.setattr(backend.net, "step", failing)
        a, sa = request(backend, MID, 10)
        engine.submit(a)
        assert sa.done.wait(60) and sa.last.kind == "error" and "simulated decode failure" in sa.last.text
        b, sb = request(backend, MID, 10)
        engine.submit(b)
        assert sb.done.wait(60) and sb.last.kind == "done"
    finally:
        engine.close()
    assert b.tokens == alone(backend, b.ids, 10)
