"""``rootspan bench serve``: throughput and latency of ``rootspan serve`` under concurrent clients.

The same requests (demo planner prompts, a fixed number of output tokens via ``ignore_eos``) go
to the batching server at 1, 4 and 16 concurrent clients, and to a server that decodes one
request at a time (``max_batch=1``) at the highest concurrency. The server runs in this process
on a free port (uvicorn on a thread), the clients are threads speaking HTTP through httpx, and
tracing is off: this measures the engine and the HTTP layer, not the exporter.
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any


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


def bench_serve(
    requests: int = 16,
    max_tokens: int = 24,
    levels: tuple[int, ...] = (1, 4, 16),
    device: str = "cpu",
    threads: int = 1,
) -> dict[str, Any]:
    """Run the benchmark; returns the JSON-ready result (see docs/benchmarks.md)."""
    import torch

    from rootspan.agents import tasks as T
    from rootspan.agents.serve import build, running

    torch.manual_seed(0)
    questions = [t.question for t in T.make_tasks(requests, seed=11)]
    bodies = [
        {"model": "demo-moe", "messages": [{"role": "user", "content": T.planner_prompt(q)}],
         "max_tokens": max_tokens, "ignore_eos": True}
        for q in questions
    ]
    results: dict[str, Any] = {"batched": [], "one_at_a_time": None}
    top = max(levels)
    for label, max_batch, run_levels in (("batched", top, levels), ("one_at_a_time", 1, (top,))):
        served = build(device=device, max_batch=max_batch, max_queue=max(requests, 1), threads=threads)
        try:
            with running(served.app) as url:
                _drive(url, bodies[:2], 1)  # warm-up: first-call allocations and lazy imports
                rows = [_drive(url, bodies, clients) for clients in run_levels]
        finally:
            served.engine.close()
        if label == "batched":
            results["batched"] = rows
        else:
            results["one_at_a_time"] = rows[0]
    best = next(r for r in results["batched"] if r["clients"] == top)
    baseline = results["one_at_a_time"]
    return {
        "benchmark": "serve",
        "device": device,
        "model": "demo-moe",
        "torch_threads": threads,
        "requests": requests,
        "max_tokens": max_tokens,
        **results,
        f"speedup_at_{top}_clients": round(best["tokens_per_s"] / baseline["tokens_per_s"], 2),
    }
