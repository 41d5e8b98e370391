"""Contract-QA RAG pipeline whose answer prompt grew 10x (OpenInference-traced model calls).

The app: a ``rewriter`` agent turns the user's question into a search query, a ``retriever``
agent runs a vector search over the contract store and loads the matching chunks, and an
``answerer`` agent asks the model to answer from those chunks and checks the citations. The
model calls are recorded with OpenInference (``OITracer``, LLM span kind, ``llm.token_count.*``),
as openinference-instrumentation-openai records them; agents and tools with rootspan.

What slows down: in the candidate a config change raised the retriever's ``top_k`` from 5 to 50,
so the answer prompt carries 50 chunks (~20k input tokens) instead of 5 (~2k). The vector search
itself costs about the same; the answerer's model call spends ~0.9 s more before its first token
(the provider prefills 10x the prompt), and the answer is as long as before. The span a user
wants named is that call, the answerer's ``ChatCompletion`` span; it runs at a remote provider,
so it is bound by ``llm_remote_latency`` (the vocabulary keeps ``llm_prefill`` for local models;
``llm.token_count.prompt`` shows the 10x).
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from openinference.instrumentation import OITracer, TraceConfig
from opentelemetry import trace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rootspan.tracer as rs  # noqa: E402
from harness import Scenario  # noqa: E402

sc = Scenario(
    "long-prompt-rag",
    klass="slowdown",
    task="Can Acme terminate the supply agreement early, and with how much notice?",
    description="top_k 5 -> 50: the answer prompt carries 10x the input tokens",
)
RNG = random.Random(time.time_ns())
OI = OITracer(trace.get_tracer(__name__), config=TraceConfig())
CHUNK_TOKENS = 400


def wait(seconds: float) -> None:
    """Sleep for a remote call's latency, with the +-10% jitter real runs have."""
    time.sleep(seconds * RNG.uniform(0.9, 1.1))


def chat(prompt: str, reply: str, prompt_tokens: int, model: str, agent: str | None = None) -> str:
    """One OpenAI chat completion: prefill grows with the prompt, decode with the reply."""
    completion_tokens = max(1, len(reply.split()) * 4 // 3)
    with OI.start_as_current_span("ChatCompletion", openinference_span_kind="llm") as span:
        if agent:
            sc.mark_culprit(agent=agent, bound_by="llm_remote_latency")
        messages = [{"role": "user", "content": prompt}]
        span.set_input(json.dumps({"model": model, "messages": messages}), mime_type="application/json")
        span.set_attribute("llm.model_name", model)
        span.set_attribute("llm.provider", "openai")
        span.set_attribute("llm.system", "openai")
        span.set_attribute("llm.input_messages.0.message.role", "user")
        span.set_attribute("llm.input_messages.0.message.content", prompt)
        wait(0.12 + prompt_tokens * 4.5e-5 + completion_tokens / 150)
        span.set_attribute("llm.output_messages.0.message.role", "assistant")
        span.set_attribute("llm.output_messages.0.message.content", reply)
        span.set_attribute("llm.token_count.prompt", prompt_tokens)
        span.set_attribute("llm.token_count.completion", completion_tokens)
        span.set_attribute("llm.token_count.total", prompt_tokens + completion_tokens)
        span.set_output(reply)
    return reply


@rs.agent("rewriter")
def rewriter(question: str) -> str:
    return chat(f"Rewrite as a search query over supply contracts: {question}",
                "Acme supply agreement early termination notice period", 140, "gpt-4o-mini")


@rs.agent("retriever")
def retriever(query: str) -> list[str]:
    top_k = 5 if sc.variant == "baseline" else 50
    with rs.tool_span("vector_search", arguments={"query": query, "top_k": top_k}) as call:
        call.set_attribute("db.system.name", "qdrant")
        wait(0.07 + top_k * 2e-4)
        ids = [f"acme-msa-2023#{i:03d}" for i in range(top_k)]
        call.set_result(ids)
    with rs.tool_span("fetch_chunks", arguments={"ids": ids}) as call:
        wait(0.04 + top_k * 6e-4)
        chunks = [f"[{cid}] Clause {12 + n}.{n % 4}: " + ("either party may terminate for convenience on "
                  "ninety (90) days' written notice; " if n == 0 else "general terms and definitions; ") * 6
                  for n, cid in enumerate(ids)]
        call.set_result({"count": len(chunks)})
    return chunks


@rs.agent("answerer")
def answerer(question: str, chunks: list[str]) -> str:
    excerpts = "\n\n".join(chunks)
    prompt = f"Answer from the contract excerpts, cite clauses.\n\n{excerpts}\n\nQ: {question}"
    answer = chat(prompt, "Yes. Under Clause 12.0 either party, Acme included, may terminate for "
                  "convenience on 90 days' written notice [acme-msa-2023#000].",
                  120 + CHUNK_TOKENS * len(chunks), "gpt-4o", agent="answerer")
    with rs.tool_span("check_citations", arguments={"answer": answer}) as call:
        wait(0.03)
        call.set_result({"cited": ["acme-msa-2023#000"], "all_found": True})
    return answer


def app(sc: Scenario) -> str:
    return answerer(sc.task, retriever(rewriter(sc.task)))


def check(answer: str) -> tuple[bool, str]:
    return ("90 days" in answer, "the answer lost the notice period")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
