"""Support-ticket responder whose model call gets rate-limited once (HTTP 429, Retry-After).

The app: a ``classifier`` agent labels the ticket (OpenAI), a ``retriever`` agent searches the
knowledge base and loads the customer record, and a ``responder`` agent drafts the reply with
Anthropic's API. The Anthropic client is instrumented at the HTTP level too, so every attempt
of a model call is a ``POST`` client span under the ``chat`` span, as httpx instrumentation does.

What slows down: in the candidate the organisation is over its tokens-per-minute limit when the
responder calls the model. The first POST comes back ``429 Too Many Requests`` with
``retry-after: 1``; the client sleeps that second and retries (``http.request.resend_count=1``),
which succeeds. The span a user wants named is the responder's ``chat`` span: its own time (the
backoff between attempts) grew by a second while the model itself was not slower. Nothing ran
and nothing was transferred during that second: the call was held back by the provider's rate
limiter, so it is bound by ``queueing``, not ``llm_remote_latency``.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rootspan.tracer as rs  # noqa: E402
from harness import Scenario  # noqa: E402

sc = Scenario(
    "rate-limited-llm",
    klass="slowdown",
    task="Ticket #4471: 'I was charged twice for my March invoice, please refund one.'",
    description="the responder's model call gets a 429 with retry-after: 1 and is retried once",
)
RNG = random.Random(time.time_ns())
HTTP = trace.get_tracer("opentelemetry.instrumentation.httpx")
MESSAGES_URL = "https://api.anthropic.com/v1/messages"


def wait(seconds: float) -> None:
    """Sleep for a remote call's latency, with the +-10% jitter real runs have."""
    time.sleep(seconds * RNG.uniform(0.9, 1.1))


def post(url: str, status: int, latency: float, attempt: int) -> None:
    """One HTTP attempt, as the httpx instrumentation records it."""
    with HTTP.start_as_current_span("POST", kind=SpanKind.CLIENT) as span:
        span.set_attribute("http.request.method", "POST")
        span.set_attribute("url.full", url)
        span.set_attribute("server.address", url.split("/")[2])
        if attempt:
            span.set_attribute("http.request.resend_count", attempt)
        wait(latency)
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_attribute("error.type", str(status))
            span.set_attribute("http.response.header.retry-after", ["1"])
            span.set_status(Status(StatusCode.ERROR))


def chat(prompt: str, reply: str, input_tokens: int, model: str, provider: str, url: str,
         agent: str | None = None, limited: bool = False) -> str:
    """A model call through an SDK that retries 429s after Retry-After seconds."""
    output_tokens = max(1, round(len(reply.split()) * 1.3))
    with rs.llm_call(model=model, provider=provider) as call:
        if agent:
            sc.mark_culprit(agent=agent, bound_by="queueing")
        attempt = 0
        if limited:
            post(url, 429, 0.07, attempt)
            time.sleep(1.0)  # the SDK honours retry-after exactly
            attempt += 1
        post(url, 200, 0.12 + input_tokens * 2e-5 + output_tokens / 80, attempt)
        call.messages(input=[{"role": "user", "content": prompt}], output=reply)
        call.usage(input_tokens=input_tokens, output_tokens=output_tokens)
        call.finish_reasons(["stop"])
    return reply


@rs.agent("classifier")
def classifier(ticket: str) -> str:
    return chat(f"Classify: {ticket}", "billing/duplicate-charge", 310, "gpt-4o-mini", "openai",
                "https://api.openai.com/v1/chat/completions")


@rs.agent("retriever")
def retriever(label: str) -> str:
    with rs.tool_span("kb_search", arguments={"query": label, "k": 3}) as call:
        wait(0.12)
        call.set_result(["KB-210 Refunding duplicate charges", "KB-044 Invoice cycles"])
    with rs.tool_span("get_customer", arguments={"ticket": 4471}) as call:
        wait(0.06)
        call.set_result({"customer": "C-9921", "plan": "Team", "charges_march": [49.0, 49.0]})
    return "KB-210: refund the second charge within 5 business days; customer C-9921 paid 49.00 twice."


@rs.agent("responder")
def responder(ticket: str, context: str) -> str:
    return chat(f"Reply to the customer.\nTicket: {ticket}\nContext: {context}",
                "Sorry about that! We refunded the duplicate 49.00 charge; it will reach your card within "
                "5 business days.", 1450, "claude-3-5-sonnet-20241022", "anthropic", MESSAGES_URL,
                agent="responder", limited=sc.variant == "candidate")


def app(sc: Scenario) -> str:
    label = classifier(sc.task)
    return responder(sc.task, retriever(label))


def check(answer: str) -> tuple[bool, str]:
    return ("refunded" in answer, "the reply does not confirm the refund")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
