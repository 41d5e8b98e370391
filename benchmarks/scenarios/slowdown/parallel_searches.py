"""Market-research crew whose four web searches stopped running in parallel.

The app: a ``lead`` agent breaks the question into four search queries, a ``researcher`` agent
runs the searches against a web-search API and has the model condense the hits, and an
``analyst`` agent writes the brief. Three agents, three remote model calls, four tools.

What slows down: the baseline runs the four searches concurrently on a
``rs.propagating_executor(max_workers=4)``; in the candidate a refactor replaced the pool with
a plain loop, so the searches run one after another. No single search is slower (each takes
0.3-0.45 s in both runs); what grew is the ``researcher`` agent's wall time, from the longest
search to the sum of all four. That agent span is what a user wants named ("the researcher got
1 s slower because its searches are serialised"), and the time it gained is spent waiting on
the search API, one request at a time: it is bound by ``tool_io``.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from opentelemetry import trace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rootspan.tracer as rs  # noqa: E402
from harness import Scenario  # noqa: E402

sc = Scenario(
    "parallel-searches",
    klass="slowdown",
    task="Is the EU market for heat pumps still growing in 2025, and who leads it?",
    description="the researcher's four searches run sequentially instead of concurrently",
)
RNG = random.Random(time.time_ns())
QUERIES = {
    "EU heat pump sales 2025": ("EHPA: sales fell 21% in 2024, Q1 2025 up 7%", 0.42),
    "heat pump market share Europe manufacturers": ("Daikin, Vaillant, Bosch, NIBE lead", 0.36),
    "heat pump subsidies Germany 2025": ("BEG subsidy up to 70% kept for 2025", 0.32),
    "heat pump installations France Italy 2025": ("France flat, Italy down after Superbonus", 0.40),
}


def wait(seconds: float) -> None:
    """Sleep for a remote call's latency, with the +-10% jitter real runs have."""
    time.sleep(seconds * RNG.uniform(0.9, 1.1))


def chat(prompt: str, reply: str, input_tokens: int, model: str = "gpt-4o") -> str:
    """One streamed chat completion against a remote provider: TTFT, then ~110 tokens/s."""
    output_tokens = max(1, round(len(reply.split()) * 1.3))
    with rs.llm_call(model=model, provider="openai") as call:
        start = time.perf_counter()
        wait(0.11 + input_tokens * 2e-5)
        ttft = time.perf_counter() - start
        wait(output_tokens / 110)
        call.messages(input=[{"role": "user", "content": prompt}], output=reply)
        call.usage(input_tokens=input_tokens, output_tokens=output_tokens)
        call.finish_reasons(["stop"])
        call.set_attribute("gen_ai.server.time_to_first_token", round(ttft, 4))
    return reply


@rs.tool("web_search")
def web_search(query: str) -> str:
    snippet, latency = QUERIES[query]
    trace.get_current_span().set_attribute("server.address", "api.search.example")
    wait(latency)
    return snippet


@rs.agent("lead")
def lead(question: str) -> list[str]:
    chat(f"Split into 4 web searches: {question}", "\n".join(QUERIES), input_tokens=260)
    return list(QUERIES)


@rs.agent("researcher")
def researcher(queries: list[str]) -> str:
    sc.mark_culprit(agent="researcher", bound_by="tool_io")
    if sc.variant == "baseline":
        with rs.propagating_executor(max_workers=4) as pool:
            hits = list(pool.map(web_search, queries))
    else:
        hits = [web_search(q) for q in queries]  # the refactored loop: one search at a time
    return chat("Condense these search hits:\n" + "\n".join(hits),
                "2024 -21%, Q1 2025 +7% (German subsidies); leaders Daikin, Vaillant, Bosch, NIBE.",
                input_tokens=980)


@rs.agent("analyst")
def analyst(question: str, notes: str) -> str:
    return chat(f"Write a 3-line brief answering: {question}\nNotes: {notes}",
                "Growing again: after a 21% drop in 2024, EU heat pump sales rose 7% in Q1 2025. "
                "Germany drives the rebound. Leaders: Daikin, Vaillant, Bosch, NIBE.", input_tokens=640)


def app(sc: Scenario) -> str:
    queries = lead(sc.task)
    return analyst(sc.task, researcher(queries))


def check(answer: str) -> tuple[bool, str]:
    return ("Daikin" in answer and "2025" in answer, "the brief lost the leaders or the year")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
