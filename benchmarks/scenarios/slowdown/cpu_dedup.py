"""Support-inbox digest whose near-duplicate detection got slow on a bigger inbox.

The app: an ``ingest`` agent pulls the day's tickets from the helpdesk API, a ``triage`` agent
runs a local ``dedup_tickets`` tool (word 3-shingles, pairwise Jaccard similarity, pure Python,
quadratic in the number of tickets) and has the model name the top issues, and a ``reporter``
agent writes the digest for the on-call lead. Three agents, two remote model calls, two tools.

What slows down: in the candidate an outage the day before flooded the inbox, so the digest runs
over 800 tickets instead of 300. Fetching them costs a little more (a few more pages of the
API), but the pairwise dedup does ~7x the work. The span a user wants named is the tool call
``execute_tool dedup_tickets``: it keeps one core busy the whole time, so it is bound by ``cpu``.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rootspan.tracer as rs  # noqa: E402
from harness import Scenario  # noqa: E402

sc = Scenario(
    "cpu-dedup",
    klass="slowdown",
    task="Write today's support digest: the top issues, with duplicates merged.",
    description="the dedup tool's pairwise similarity runs over 800 tickets instead of 300",
)
RNG = random.Random(time.time_ns())
WORDS = ("invoice refund login password reset charge twice app crash export csv slow sync calendar "
         "mobile android ios error 500 timeout billing plan upgrade downgrade seat invite email bounce "
         "webhook api key rotate sso saml okta").split()


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
        call.messages(input=[{"role": "user", "content": prompt[:2000]}], output=reply)
        call.usage(input_tokens=input_tokens, output_tokens=output_tokens)
        call.finish_reasons(["stop"])
        call.set_attribute("gen_ai.server.time_to_first_token", round(ttft, 4))
    return reply


def inbox(n: int) -> list[str]:
    """The helpdesk's tickets: fixed content per inbox size; ~30% are reworded duplicates."""
    rng = random.Random(n)
    tickets: list[str] = []
    for _ in range(n):
        if tickets and rng.random() < 0.3:
            words = rng.choice(tickets).split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            tickets.append(" ".join(words))
        else:
            tickets.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 45))))
    return tickets


@rs.agent("ingest")
def ingest() -> list[str]:
    n = 300 if sc.variant == "baseline" else 800
    with rs.tool_span("fetch_tickets", arguments={"since": "24h", "page_size": 100}) as call:
        call.set_attribute("server.address", "helpdesk.example.com")
        wait(0.08 + 0.012 * (n // 100))  # one request per page of 100
        tickets = inbox(n)
        call.set_result({"count": len(tickets)})
    return tickets


def shingles(text: str, k: int = 3) -> frozenset[str]:
    words = text.split()
    return frozenset(" ".join(words[i:i + k]) for i in range(len(words) - k + 1))


@rs.tool("dedup_tickets")
def dedup_tickets(tickets: list[str], threshold: float = 0.8) -> list[int]:
    sc.mark_culprit(agent="triage", bound_by="cpu")
    sets = [shingles(t) for t in tickets]
    duplicate: set[int] = set()
    for i in range(len(sets)):
        a = sets[i]
        for j in range(i + 1, len(sets)):
            b = sets[j]
            if len(a & b) / len(a | b) >= threshold:
                duplicate.add(j)
    return [i for i in range(len(tickets)) if i not in duplicate]


@rs.agent("triage")
def triage(tickets: list[str]) -> str:
    keep = dedup_tickets(tickets)
    sample = "\n".join(tickets[i] for i in keep[:40])
    return chat(f"{len(keep)} unique tickets. Name the top 3 issues:\n{sample}",
                "1. duplicate charges on invoices; 2. SSO/SAML login errors; 3. CSV export timeouts.",
                input_tokens=1900)


@rs.agent("reporter")
def reporter(issues: str, total: int) -> str:
    return chat(f"Write the digest for the on-call lead. {total} tickets. Issues: {issues}",
                f"Support digest ({total} tickets): top issues are duplicate invoice charges, SSO/SAML "
                "login errors and CSV export timeouts. Billing and identity teams paged.", input_tokens=420)


def app(sc: Scenario) -> str:
    tickets = ingest()
    return reporter(triage(tickets), len(tickets))


def check(answer: str) -> tuple[bool, str]:
    return ("SSO" in answer, "the digest misses the SSO issue")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
