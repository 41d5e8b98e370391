"""``rootspan serve``: load the MoE model, start the batching engine, serve it with uvicorn.

Tracing goes through rootspan's own pipeline (``rs.setup``), so the server's spans get the
profiler's ``rootspan.cpu.*``/``rootspan.gpu.*`` aggregates, land in the server's run directory
and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, at that endpoint too.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@dataclass
class Served:
    """A loaded model with its engine and app, before any socket is bound."""

    backend: Any
    engine: Any
    app: Any
    model_name: str


def build(
    checkpoint: str | Path | None = None,
    device: str = "cpu",
    model_name: str | None = None,
    max_batch: int = 16,
    max_queue: int = 64,
    tracer: Any = None,
    threads: int | None = None,
) -> Served:
    """Load the checkpoint (default: the shipped demo model) and wire the engine to an app."""
    import torch

    from rootspan.agents.moe_backend import DEMO_CHECKPOINT, MoEBackend
    from rootspan.agents.serve_app import build_app
    from rootspan.agents.serve_engine import Engine

    if device == "cpu":
        # Same reasoning as the demo: one thread is fastest for the tiny model on shared cores.
        torch.set_num_threads(threads or 1)
    backend = MoEBackend(checkpoint or DEMO_CHECKPOINT, device=device, model_name=model_name)
    engine = Engine(backend, tracer=tracer, max_batch=max_batch, max_queue=max_queue)
    return Served(backend, engine, build_app(engine, backend.model, tracer), backend.model)


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(app: Any, host: str = DEFAULT_HOST, port: int | None = None, timeout_s: float = 20.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a thread of this process; yields the base URL (``.../v1``)."""
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="rootspan-serve-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout_s)


def serve_forever(
    checkpoint: Path | None,
    host: str,
    port: int,
    run_dir: Path,
    device: str,
    model_name: str | None,
    max_batch: int,
    max_queue: int,
    profile: str,
    announce: Any = print,
) -> None:
    """Trace into ``run_dir`` and serve until interrupted (what the CLI command runs)."""
    import uvicorn

    import rootspan.tracer as rs

    tracing = rs.setup(service="rootspan-serve", run_dir=run_dir, profile=profile)
    try:
        served = build(checkpoint, device, model_name, max_batch, max_queue, tracer=tracing.tracer)
        announce(f"rootspan serve: model {served.model_name!r} on {device} at http://{host}:{port}/v1, "
                 f"spans to {tracing.run_dir}")
        try:
            uvicorn.run(served.app, host=host, port=port, log_level="warning", lifespan="off")
        finally:
            served.engine.close()
    finally:
        rs.shutdown()
