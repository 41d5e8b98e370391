"""Trip planner whose hotel-search API got slow.

The app: a ``planner`` agent turns the request into a trip plan, a ``flights`` agent and a
``hotels`` agent each call a partner HTTP API (plus an exchange-rate lookup) and have the model
pick an option, and a ``writer`` agent drafts the itinerary. Four agents, four remote model calls
(OpenAI), four tools.

What slows down: in the candidate the hotel partner's search endpoint answers in ~0.9 s instead
of ~0.18 s (their side is degraded; same request, same 200 response, just slow). The span a user
wants named is that tool call, ``execute_tool search_hotels``: a leaf that spends its time
waiting on a remote service, so it is bound by ``tool_io``.
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
    "slow-hotel-api",
    klass="slowdown",
    task="Plan a 3-night trip from Berlin to Lisbon, 12-15 June, under 900 EUR.",
    description="the hotel partner's search API answers 5x slower in the candidate",
)
RNG = random.Random(time.time_ns())


def wait(seconds: float) -> None:
    """Sleep for a remote call's latency, with the +-10% jitter real runs have."""
    time.sleep(seconds * RNG.uniform(0.9, 1.1))


def chat(prompt: str, reply: str, input_tokens: int, model: str = "gpt-4o-mini") -> str:
    """One streamed chat completion against a remote provider: TTFT, then ~110 tokens/s."""
    output_tokens = max(1, round(len(reply.split()) * 1.3))
    with rs.llm_call(model=model, provider="openai") as call:
        start = time.perf_counter()
        wait(0.09 + input_tokens * 2e-5)
        ttft = time.perf_counter() - start
        wait(output_tokens / 110)
        call.messages(input=[{"role": "user", "content": prompt}], output=reply)
        call.usage(input_tokens=input_tokens, output_tokens=output_tokens)
        call.response_model(f"{model}-2024-07-18")
        call.finish_reasons(["stop"])
        call.set_attribute("gen_ai.server.time_to_first_token", round(ttft, 4))
    return reply


def http_tool(name: str, url: str, latency: float, result: object, culprit: bool = False) -> object:
    """A tool that is one GET to a partner API."""
    with rs.tool_span(name, call_id=f"call_{name}", arguments={"url": url}) as call:
        call.set_attribute("http.request.method", "GET")
        call.set_attribute("url.full", url)
        call.set_attribute("server.address", url.split("/")[2])
        if culprit:
            sc.mark_culprit(agent="hotels", bound_by="tool_io")
        wait(latency)
        call.set_attribute("http.response.status_code", 200)
        call.set_result(result)
    return result


@rs.agent("planner")
def planner(task: str) -> str:
    return chat(f"Plan this trip: {task}", "Fly BER->LIS 12 June, back 15 June; 3 nights central Lisbon; "
                "budget 550 EUR flights, 350 EUR hotel.", input_tokens=420)


@rs.agent("flights")
def flights(plan: str) -> str:
    offers = http_tool("search_flights", "https://api.skyfare.example/v2/offers?from=BER&to=LIS&d=2025-06-12",
                       0.22, [{"id": "TP541", "price_eur": 212}, {"id": "FR1234", "price_eur": 148}])
    return chat(f"Pick a flight for: {plan}\nOffers: {offers}", "FR1234 out, FR1235 back: 296 EUR total.",
                input_tokens=610)


@rs.agent("hotels")
def hotels(plan: str) -> str:
    latency = 0.18 if sc.variant == "baseline" else 0.9
    found = http_tool("search_hotels", "https://partners.staywell.example/v1/search?city=LIS&nights=3",
                      latency, [{"id": "H-88", "name": "Casa Baixa", "eur_night": 104},
                                {"id": "H-17", "name": "Alfama Loft", "eur_night": 131}], culprit=True)
    rate = http_tool("exchange_rate", "https://fx.example/latest?base=EUR", 0.05, {"EUR": 1.0})
    return chat(f"Pick a hotel for: {plan}\nHotels: {found}\nFX: {rate}",
                "Casa Baixa, 3 nights at 104 EUR: 312 EUR.", input_tokens=720)


@rs.agent("writer")
def writer(plan: str, flight: str, hotel: str) -> str:
    return chat(f"Write the itinerary.\nPlan: {plan}\nFlight: {flight}\nHotel: {hotel}",
                "Day 1: FR1234 to Lisbon, check in at Casa Baixa. Day 2-3: Alfama, Belem, LX Factory. "
                "Day 4: FR1235 home. Total 608 EUR, under budget.", input_tokens=540)


def app(sc: Scenario) -> str:
    plan = planner(sc.task)
    return writer(plan, flights(plan), hotels(plan))


def check(answer: str) -> tuple[bool, str]:
    return ("608 EUR" in answer, "the itinerary lost its total")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
