"""A support team of agents, instrumented with rootspan, that runs anywhere: no model needed.

Copy it as a starting point for your own app. A ticket goes through a workflow:

  triage     (agent)  classifies the ticket with an LLM call (faked by a deterministic function)
  research   (agent)  searches the knowledge base for several queries in a thread pool
  billing    (agent)  runs in a child process that continues the trace through TRACEPARENT
  writer     (agent)  drafts the reply in an asyncio task, consuming research and billing outputs
  reviewer   (agent)  checks the draft in a separate thread
  outcome             success if the reply answers what the customer asked

Run it:                 python examples/support_team.py
Record it somewhere:    rootspan record -o runs/support -- python examples/support_team.py
Look at it:             rootspan spans runs/support
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys

import rootspan.tracer as rs

TICKET = {
    "id": "T-1042",
    "text": "I was charged twice for order 8812 and my tracking link is broken. Please refund one charge.",
    "expected": "refund",
}
KNOWLEDGE_BASE = {
    "refund": "Duplicate charges are refunded to the original card within 5 business days.",
    "tracking": "Tracking links expire after 30 days; support can resend a fresh link.",
    "order": "Order 8812 shipped on 3 March with carrier ParcelCo.",
}


def fake_llm(prompt: str, model: str = "support-llm-small") -> str:
    """A deterministic stand-in for a model call: the same prompt always gives the same text."""
    with rs.llm_call(model=model, provider="fake") as call:
        call.messages(input=[{"role": "user", "content": prompt}])
        words = prompt.lower().split()
        if prompt.startswith("classify:"):
            labels = [label for label in ("refund", "tracking", "order") if any(label in word for word in words)]
            text = ",".join(labels) or "other"
        else:
            digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
            text = f"Hello! {prompt.split(':', 1)[1].strip()} (ref {digest})"
        call.messages(output=text)
        call.usage(input_tokens=len(words), output_tokens=len(text.split()))
        call.finish_reasons(["stop"])
        return text


@rs.agent("triage")
def triage(ticket: dict) -> list[str]:
    return fake_llm(f"classify: {ticket['text']}").split(",")


@rs.tool("search_kb")
def search_kb(topic: str) -> str:
    return KNOWLEDGE_BASE.get(topic, "")


@rs.agent("research")
def research(topics: list[str]) -> tuple[list[str], list[str]]:
    """Searches topics in parallel; the pool keeps each search under this agent."""
    span_ids = []

    def search(topic: str) -> str:
        with rs.tool_span("search_kb", call_id=f"search-{topic}", arguments={"topic": topic}) as call:
            span_ids.append(call.span_id)
            result = KNOWLEDGE_BASE.get(topic, "")
            call.set_result(result)
            return result

    with rs.propagating_executor(max_workers=3) as pool:
        facts = [fact for fact in pool.map(search, topics) if fact]
    return facts, span_ids


def billing_in_child_process(ticket_id: str) -> dict:
    """Hands the refund to a separate worker process, which continues this trace."""
    worker = subprocess.run(
        [sys.executable, __file__, "--billing-worker", ticket_id],
        env=rs.subprocess_env(),  # the environment plus TRACEPARENT and this run's directory
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(worker.stdout)


def billing_worker(ticket_id: str) -> None:
    """The child process: its own setup(), spans land under the caller's billing span."""
    rs.setup(service="support-team-billing")
    with rs.agent_span("refund-processor"):
        with rs.tool_span("issue_refund", call_id=f"refund-{ticket_id}") as call:
            result = {"ticket": ticket_id, "refunded": True, "amount": "49.90"}
            call.set_result(result)
    print(json.dumps(result))


@rs.agent("writer")
async def write_reply(facts: list[str], refund: dict, sources: list[str]) -> str:
    rs.consumed(*sources)  # the data-flow edges: which earlier steps this draft used
    await asyncio.sleep(0.01)  # stands in for a slow network call
    summary = " ".join(facts)
    status = "Your refund has been issued." if refund.get("refunded") else "We are checking your refund."
    return fake_llm(f"reply: {status} {summary}", model="support-llm-large")


@rs.agent("reviewer")
def review(draft: str, verdict: dict) -> None:
    verdict["approved"] = "refund" in draft.lower()


async def draft_concurrently(facts: list[str], refund: dict, sources: list[str]) -> str:
    """The writer runs as an asyncio task; tasks copy the trace context by themselves."""
    task = asyncio.create_task(write_reply(facts, refund, sources))
    return await task


def handle(ticket: dict) -> str:
    with rs.workflow("support-ticket", conversation_id=ticket["id"]):
        topics = triage(ticket)
        facts, search_spans = research(topics)
        with rs.agent_span("billing") as billing:
            refund = billing_in_child_process(ticket["id"])
        draft = asyncio.run(draft_concurrently(facts, refund, search_spans + [billing.span_id]))
        verdict: dict = {}
        reviewer = rs.Thread(target=review, args=(draft, verdict))  # keeps the trace context
        reviewer.start()
        reviewer.join()
        ok = verdict.get("approved", False) and ticket["expected"] in draft.lower()
        rs.outcome(success=ok, reason=None if ok else "reply does not address the refund",
                   expected=ticket["expected"], answer=draft)
        return draft


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--billing-worker":
        billing_worker(sys.argv[2])
        return 0
    tracing = rs.setup(service="support-team", run_dir="runs/support-team")
    print(handle(TICKET))
    rs.shutdown()
    print(f"spans written to {tracing.run_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
