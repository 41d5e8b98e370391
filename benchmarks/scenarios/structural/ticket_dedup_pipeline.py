"""Support-ticket dedup pipeline (traced with OpenInference): the embedding worker runs out of memory.

An intake agent loads September's tickets, an embedder sends them to the embedding service in
fixed batches of 256, and a clusterer would group near-duplicates for the weekly report. Tickets
come back from the export sorted by length; the last ones are long e-mail threads with pasted
logs. Batch 8 needs more activation memory than the worker has free and the service answers
RESOURCE_EXHAUSTED; the pipeline aborts with seven of nine batches embedded and no report.
The app's spans come from OpenInference's OITracer (agent, tool and LLM kinds).
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes
from openinference.semconv.trace import SpanAttributes
from opentelemetry import trace

from harness import Scenario

sc = Scenario(
    "ticket-dedup-pipeline", klass="structural",
    task="Deduplicate the 2,304 support tickets from September 2024 (queue SUP-EU) and report the 5 largest "
         "duplicate clusters with their ticket counts.",
    description="The embedding service runs out of worker memory on batch 8 (long e-mail threads) and the "
                "dedup run aborts without a report.",
    expected="top-5 clusters over 2304 tickets", category="resource_exhausted",
)
tracer = OITracer(trace.get_tracer("ticket-dedup"), config=TraceConfig())

TOPICS = ["password reset loop", "invoice PDF blank", "2FA code not arriving", "export to CSV times out",
          "SSO redirect 404", "mobile app crash on login", "webhook retries duplicated"]


def _tickets() -> list[dict]:
    out = []
    for n in range(2304):
        words = 40 + (n * 7) % 90 if n < 1790 else 900 + (n * 13) % 1400  # long threads sort last
        out.append({"id": f"SUP-{880000 + n}", "topic": TOPICS[(n * 5) % 7], "tokens": words})
    return sorted(out, key=lambda t: t["tokens"])


class ResourceExhausted(Exception):
    pass


class EmbeddingWorker:
    FREE_MB = 910  # an 8 GiB worker with the model and KV pool resident
    MB_PER_1K_TOKENS = 3.1

    def embed(self, batch: list[dict]) -> list[list[float]]:
        need = sum(t["tokens"] for t in batch) / 1000 * self.MB_PER_1K_TOKENS
        if need > self.FREE_MB:
            raise ResourceExhausted(f"RESOURCE_EXHAUSTED: batch needs {need:.0f} MiB activation memory, "
                                    f"{self.FREE_MB} MiB free on embed-worker-2 (model e5-large-v2)")
        return [[TOPICS.index(t["topic"]) / 7.0, t["tokens"] / 2500.0] for t in batch]


WORKER = EmbeddingWorker()


def llm(prompt: str, reply: str) -> str:
    with tracer.start_as_current_span("ChatCompletion", openinference_span_kind="llm") as span:
        span.set_input(prompt)
        span.set_attributes(get_llm_attributes(
            provider="openai", model_name="gpt-4o-mini",
            input_messages=[{"role": "user", "content": prompt}],
            output_messages=[{"role": "assistant", "content": reply}],
            token_count={"prompt": len(prompt.split()), "completion": len(reply.split()),
                         "total": len(prompt.split()) + len(reply.split())}))
        span.set_output(reply)
    return reply


def tool(name: str, arguments: dict, fn):
    with tracer.start_as_current_span(name, openinference_span_kind="tool") as span:
        span.set_tool(name=name, parameters=arguments)
        span.set_input(json.dumps(arguments))
        result = fn()
        span.set_output(json.dumps(result) if not isinstance(result, str) else result)
        return result


def agent(name: str):
    span = tracer.start_as_current_span(name, openinference_span_kind="agent")
    return span


def intake() -> list[dict]:
    with agent("intake") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, "intake")
        span.set_input(sc.task)
        tickets = _tickets()
        tool("load_tickets", {"queue": "SUP-EU", "month": "2024-09"},
             lambda: {"count": len(tickets), "sample": tickets[:60], "sorted_by": "tokens"})
        summary = llm(f"Summarise the export: {len(tickets)} tickets, tokens {tickets[0]['tokens']}-"
                      f"{tickets[-1]['tokens']}",
                      "2,304 tickets loaded for SUP-EU / Sept 2024. Most are short (40-130 tokens); about 500 at "
                      "the end are long threads up to ~2,300 tokens. Ready to embed.")
        span.set_output(summary)
        return tickets


def embedder(tickets: list[dict]) -> list[list[float]]:
    with agent("embedder") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, "embedder")
        vectors: list[list[float]] = []
        batches = [tickets[i:i + 256] for i in range(0, len(tickets), 256)]
        for index, batch in enumerate(batches, start=1):
            args = {"batch": index, "of": len(batches), "ids": f"{batch[0]['id']}..{batch[-1]['id']}",
                    "tokens": sum(t["tokens"] for t in batch)}

            def call(batch=batch):
                try:
                    return WORKER.embed(batch)
                except ResourceExhausted:
                    sc.mark_culprit(agent=None)
                    raise
            result = tool("embed_batch", args, call)
            vectors.extend(result)
        span.set_output(f"{len(vectors)} vectors")
        return vectors


def coordinator(sc) -> dict:
    with agent("dedup_coordinator") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, "dedup_coordinator")
        tickets = intake()
        try:
            embedder(tickets)
        except ResourceExhausted as exc:
            note = llm(f"The embedding step failed: {exc}. Decide how to proceed.",
                       "Embedding stopped at batch 8 of 9 with RESOURCE_EXHAUSTED on embed-worker-2. Clustering "
                       "on 1,792 of 2,304 tickets would skew the counts, so I'm aborting this week's dedup report.")
            span.set_output(note)
            return {"status": "aborted", "reason": str(exc)}
        return {"status": "ok"}


def app(sc):
    return coordinator(sc)


def check(answer) -> tuple[bool, str]:
    if answer.get("status") == "ok":
        return True, "clusters reported"
    return False, f"no dedup report: {answer.get('reason')}"


if __name__ == "__main__":
    sc.main(app, check)
