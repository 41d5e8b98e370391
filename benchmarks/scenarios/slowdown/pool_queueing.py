"""Order-status bot whose database lookup queues behind a report export for a pooled connection.

The app: an ``intake`` agent extracts the order number from the customer's message (remote
model), an ``orders`` agent looks the order up in Postgres and asks the carrier's API where the
parcel is, and a ``responder`` agent writes the answer. The database is reached through the
worker's shared connection pool (2 connections); the query itself is a ``SELECT`` client span
under the tool span, as psycopg instrumentation records it. Waiting for a pooled connection is
not traced, as with most pools.

What slows down: in the candidate the nightly CSV export, scheduled in the same worker process,
is running: it holds both pooled connections for about a second. The bot's ``lookup_orders``
tool waits ~0.8 s for a connection, then runs its 40 ms query as before. The span a user wants
named is ``execute_tool lookup_orders``: its own time before the query grew, with the CPU idle
and no I/O of its own, held back by a shared resource: bound by ``queueing``.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

from opentelemetry import trace
from opentelemetry.trace import SpanKind

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rootspan.tracer as rs  # noqa: E402
from harness import Scenario  # noqa: E402

sc = Scenario(
    "pool-queueing",
    klass="slowdown",
    task="Hi, where is my order #58213? It was supposed to arrive yesterday.",
    description="the lookup waits for a pooled DB connection held by a concurrent report export",
)
RNG = random.Random(time.time_ns())
DB = trace.get_tracer("opentelemetry.instrumentation.psycopg")
POOL = threading.BoundedSemaphore(2)  # the worker's shared Postgres pool: 2 connections


def wait(seconds: float) -> None:
    """Sleep for a remote call's latency, with the +-10% jitter real runs have."""
    time.sleep(seconds * RNG.uniform(0.9, 1.1))


def chat(prompt: str, reply: str, input_tokens: int, model: str = "gpt-4o-mini") -> str:
    """One streamed chat completion against a remote provider: TTFT, then ~120 tokens/s."""
    output_tokens = max(1, round(len(reply.split()) * 1.3))
    with rs.llm_call(model=model, provider="openai") as call:
        start = time.perf_counter()
        wait(0.1 + input_tokens * 2e-5)
        ttft = time.perf_counter() - start
        wait(output_tokens / 120)
        call.messages(input=[{"role": "user", "content": prompt}], output=reply)
        call.usage(input_tokens=input_tokens, output_tokens=output_tokens)
        call.finish_reasons(["stop"])
        call.set_attribute("gen_ai.server.time_to_first_token", round(ttft, 4))
    return reply


def export_worker() -> None:
    """The nightly export (untraced): one long COPY per connection it holds."""
    with POOL:
        wait(1.0)


def query(sql: str, latency: float) -> None:
    with DB.start_as_current_span("SELECT shop.orders", kind=SpanKind.CLIENT) as span:
        span.set_attribute("db.system.name", "postgresql")
        span.set_attribute("db.namespace", "shop")
        span.set_attribute("db.query.text", sql)
        span.set_attribute("server.address", "pg-primary.internal")
        wait(latency)


@rs.agent("intake")
def intake(message: str) -> str:
    return chat(f"Extract the order number and the intent: {message}", '{"order": 58213, "intent": "wismo"}',
                input_tokens=230)


@rs.agent("orders")
def orders(order_id: int) -> dict:
    with rs.tool_span("lookup_orders", arguments={"order_id": order_id}) as call:
        sc.mark_culprit(agent="orders", bound_by="queueing")
        with POOL:  # acquire a pooled connection: blocks while the export holds both
            query("SELECT id, status, carrier, tracking_no FROM orders WHERE id = %s", 0.04)
        row = {"id": order_id, "status": "shipped", "carrier": "DHL", "tracking_no": "JD0146000038"}
        call.set_result(row)
    with rs.tool_span("carrier_status", arguments={"tracking_no": row["tracking_no"]}) as call:
        call.set_attribute("server.address", "api-eu.dhl.example")
        call.set_attribute("http.response.status_code", 200)
        wait(0.15)
        row["carrier_status"] = "delayed at hub Leipzig, new ETA tomorrow"
        call.set_result(row["carrier_status"])
    return row


@rs.agent("responder")
def responder(message: str, order: dict) -> str:
    return chat(f"Answer the customer.\nMessage: {message}\nOrder: {order}",
                "Your order #58213 shipped with DHL (JD0146000038). It is delayed at the Leipzig hub; "
                "the new delivery estimate is tomorrow. Sorry for the wait!", input_tokens=380)


def app(sc: Scenario) -> str:
    export = [threading.Thread(target=export_worker, name=f"export-{i}") for i in range(2)]
    if sc.variant == "candidate":
        for worker in export:
            worker.start()
    try:
        intake(sc.task)
        return responder(sc.task, orders(58213))
    finally:
        for worker in export:
            if worker.is_alive():
                worker.join()


def check(answer: str) -> tuple[bool, str]:
    return ("tomorrow" in answer, "the answer lost the new ETA")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
