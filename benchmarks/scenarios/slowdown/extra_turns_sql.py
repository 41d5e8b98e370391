"""Text-to-SQL analyst that needs three more model turns after a schema change (OpenInference).

The app: a ``router`` agent decides the question needs the warehouse, a ``sql_analyst`` agent
drafts a query, checks its columns against the cached warehouse schema (plain code, no span)
and re-prompts the model with the error until the query is valid, then runs it, and an
``explainer`` agent turns the rows into a sentence. The model calls are traced with
OpenInference (``OITracer``, LLM span kind, ``llm.*`` attributes), as an app instrumented with
openinference-instrumentation-openai records them; the agents and tools with rootspan.

What slows down: in the candidate the warehouse renamed ``orders.amount`` to
``orders.amount_cents`` and ``orders.created`` to ``orders.created_at``, and the prompt template
still shows the old schema, so the model's first three drafts fail the column check: three more
model calls, each a little longer than the last (the errors pile up in the conversation). No
single call is slower; the ``sql_analyst`` agent span is what a user wants named ("the analyst
now takes 4 turns instead of 1"), and its extra time is spent waiting on the remote model:
``llm_remote_latency``.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from pathlib import Path

from openinference.instrumentation import OITracer, TraceConfig
from opentelemetry import trace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rootspan.tracer as rs  # noqa: E402
from harness import Scenario  # noqa: E402

sc = Scenario(
    "extra-turns-sql",
    klass="slowdown",
    task="What was our revenue in EMEA last quarter?",
    description="a schema rename makes the SQL agent's first three drafts invalid: three more model calls",
)
RNG = random.Random(time.time_ns())
OI = OITracer(trace.get_tracer(__name__), config=TraceConfig())
SCHEMA = {"orders": {"id", "customer_id", "amount_cents", "created_at"}, "customers": {"id", "region"}}
GOOD = ("SELECT SUM(o.amount_cents) / 100.0 FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.region = 'EMEA' AND o.created_at >= '2025-04-01' AND o.created_at < '2025-07-01'")
STALE = [GOOD.replace("amount_cents", "amount").replace("created_at", "created"),
         GOOD.replace("amount_cents", "amount"),
         GOOD.replace("amount_cents", "total_cents")]


def wait(seconds: float) -> None:
    """Sleep for a remote call's latency, with the +-10% jitter real runs have."""
    time.sleep(seconds * RNG.uniform(0.9, 1.1))


def chat(messages: list[dict], reply: str, model: str = "gpt-4o") -> str:
    """One OpenAI chat completion, recorded as openinference-instrumentation-openai does."""
    prompt_tokens = sum(len(m["content"].split()) for m in messages) * 4 // 3 + 600  # + system prompt
    completion_tokens = max(1, len(reply.split()) * 4 // 3)
    with OI.start_as_current_span("ChatCompletion", openinference_span_kind="llm") as span:
        span.set_input(json.dumps({"model": model, "messages": messages}), mime_type="application/json")
        span.set_attribute("llm.model_name", model)
        span.set_attribute("llm.provider", "openai")
        span.set_attribute("llm.system", "openai")
        for i, m in enumerate(messages):
            span.set_attribute(f"llm.input_messages.{i}.message.role", m["role"])
            span.set_attribute(f"llm.input_messages.{i}.message.content", m["content"])
        wait(0.12 + prompt_tokens * 2e-5 + completion_tokens / 120)
        span.set_attribute("llm.output_messages.0.message.role", "assistant")
        span.set_attribute("llm.output_messages.0.message.content", reply)
        span.set_attribute("llm.token_count.prompt", prompt_tokens)
        span.set_attribute("llm.token_count.completion", completion_tokens)
        span.set_attribute("llm.token_count.total", prompt_tokens + completion_tokens)
        span.set_output(reply)
    return reply


def bad_columns(sql: str) -> list[str]:
    """Columns the query names that the cached warehouse schema does not have."""
    return [f"{t}.{c}" for a, c in re.findall(r"\b([oc])\.(\w+)", sql)
            for t in ["orders" if a == "o" else "customers"] if c not in SCHEMA[t]]


@rs.agent("router")
def router(question: str) -> str:
    return chat([{"role": "user", "content": f"Route this question (warehouse|docs|smalltalk): {question}"}],
                "warehouse")


@rs.agent("sql_analyst")
def sql_analyst(question: str) -> list[tuple]:
    sc.mark_culprit(agent="sql_analyst", bound_by="llm_remote_latency")
    schema = "orders(id, customer_id, amount, created), customers(id, region)" if sc.variant == "candidate" \
        else "orders(id, customer_id, amount_cents, created_at), customers(id, region)"
    drafts = (STALE if sc.variant == "candidate" else []) + [GOOD]
    messages = [{"role": "user", "content": f"Schema: {schema}\nWrite one SQL query for: {question}"}]
    for draft in drafts:
        sql = chat(messages, draft)
        errors = bad_columns(sql)
        if not errors:
            break
        feedback = f"Invalid query: unknown column(s) {', '.join(errors)}. Fix it."
        messages += [{"role": "assistant", "content": sql}, {"role": "user", "content": feedback}]
    with rs.tool_span("run_query", arguments={"sql": sql}) as call:
        call.set_attribute("db.system.name", "snowflake")
        wait(0.15)
        rows = [(4_812_330.25,)]
        call.set_result(rows)
    return rows


@rs.agent("explainer")
def explainer(question: str, rows: list[tuple]) -> str:
    return chat([{"role": "user", "content": f"Answer '{question}' from these rows: {rows}"}],
                "EMEA revenue in Q2 2025 was 4,812,330.25 USD.")


def app(sc: Scenario) -> str:
    router(sc.task)
    return explainer(sc.task, sql_analyst(sc.task))


def check(answer: str) -> tuple[bool, str]:
    return ("4,812,330.25" in answer, "the revenue figure is wrong")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
