"""``rootspan bench serve``: throughput and latency of ``rootspan serve`` under concurrent clients.

The same requests (demo planner prompts, a fixed number of output tokens via ``ignore_eos``) go
to the batching server at 1, 4 and 16 concurrent clients, and to a server that decodes one
request at a time (``--max-batch 1``) at the same concurrency. The server is a real
``rootspan serve`` in a child process (tracing into a temporary run directory, as deployed); the
clients are threads of this process speaking HTTP through httpx. In one process the clients'
threads and the server's would share one interpreter lock, and the benchmark would measure that.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _drive(url: str, bodies: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    tokens = 0
    lock = threading.Lock()

    def one(body: dict[str, Any], http: httpx.Client) -> None:
        nonlocal tokens
        started = time.perf_counter()
        response = http.post(url + "/chat/completions", json=body)
        response.raise_for_status()
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            tokens += int(response.json()["usage"]["completion_tokens"])

    pending = list(bodies)

    def worker() -> None:
        with httpx.Client(timeout=600) as http:
            while True:
                with lock:
                    if not pending:
                        return
                    body = pending.pop()
                one(body, http)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(bodies),
        "completion_tokens": tokens,
        "seconds": round(wall, 3),
        "tokens_per_s": round(tokens / wall, 2),
        "latency_p50_s": round(statistics.median(latencies), 4),
        "latency_p99_s": round(_percentile(latencies, 0.99), 4),
    }


@contextmanager
def _server(max_batch: int, max_queue: int, device: str, run_dir: Path, timeout_s: float = 120.0) -> Iterator[str]:
    """``rootspan serve`` in a child process; yields its base URL once /v1/models answers."""
    import httpx

    from rootspan.agents.serve import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOTSPAN_", "TRACEPARENT", "TRACESTATE"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rootspan", "serve", "--port", str(port), "-o", str(run_dir), "--device", device,
         "--max-batch", str(max_batch), "--max-queue", str(max_queue)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                if httpx.get(url + "/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rootspan serve did not start: {proc.stderr.read().decode(errors='replace')[-500:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median throughput, plus every round's tokens/s (the box is shared)."""
    ordered = sorted(rows, key=lambda r: r["tokens_per_s"])
    row = dict(ordered[(len(ordered) - 1) // 2])
    row["tokens_per_s_rounds"] = [r["tokens_per_s"] for r in rows]
    return row


def bench_serve(
    requests: int = 16,
    max_tokens: int = 64,
    levels: tuple[int, ...] = (1, 4, 16),
    device: str = "cpu",
    rounds: int = 3,
) -> dict[str, Any]:
    """Run the benchmark; returns the JSON-ready result (see docs/benchmarks.md).

    Both servers run at once and the measurements alternate between them, round after round, so
    a burst of load from other processes hits both alike; each figure is the median round."""
    from rootspan.agents import tasks as T

    questions = [t.question for t in T.make_tasks(requests, seed=11)]
    bodies = [
        {"model": "demo-moe", "messages": [{"role": "user", "content": T.planner_prompt(q)}],
         "max_tokens": max_tokens, "ignore_eos": True}
        for q in questions
    ]
    top = max(levels)
    samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="rootspan-bench-serve-") as tmp:
        with _server(top, max(requests, 1), device, Path(tmp) / "batched") as batched, \
                _server(1, max(requests, 1), device, Path(tmp) / "one") as one:
            urls = {"batched": batched, "one_at_a_time": one}
            for url in urls.values():
                _drive(url, bodies[:2], 1)  # warm-up: first-call allocations and lazy imports
            for _ in range(rounds):
                for clients in levels:
                    for label, url in urls.items():
                        samples.setdefault((label, clients), []).append(_drive(url, bodies, clients))
    rows = []
    for clients in levels:
        batched_row = _median_row(samples[("batched", clients)])
        one_row = _median_row(samples[("one_at_a_time", clients)])
        rows.append({
            "clients": clients,
            "batched": batched_row,
            "one_at_a_time": one_row,
            "speedup": round(batched_row["tokens_per_s"] / one_row["tokens_per_s"], 2),
        })
    return {
        "benchmark": "serve",
        "device": device,
        "model": "demo-moe",
        "torch_threads": 1 if device == "cpu" else None,
        "requests": requests,
        "max_tokens": max_tokens,
        "rounds": rounds,
        "levels": rows,
        f"speedup_at_{top}_clients": next(r["speedup"] for r in rows if r["clients"] == top),
    }
