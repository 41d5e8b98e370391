"""Competitor price monitor whose scraper agent now parses a 15x bigger page in its own code.

The app: a ``scraper`` agent fetches a competitor's category page with its ``fetch_page`` tool and
then extracts every product card's SKU and price itself (``html.parser`` in the agent's code, not
a tool), an ``analyst`` agent loads our own prices and has the model compare, and a ``reporter``
agent writes the alert for the pricing team. Three agents, two remote model calls, two tools.

What slows down: in the candidate the competitor redesigned the page for infinite scroll and now
ships its whole catalogue (5,000 cards, ~1.3 MB) in the first HTML response instead of one page of
300. The download is compressed and costs only a little more; the parsing in the scraper's own
code does ~15x the work. The span a user wants named is the ``scraper`` agent span (its own time,
outside any tool, grew), and that time keeps one core busy: bound by ``cpu``.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rootspan.tracer as rs  # noqa: E402
from harness import Scenario  # noqa: E402

sc = Scenario(
    "agent-cpu-parse",
    klass="slowdown",
    task="Check trailrunner.example's trail-shoe prices against ours and flag undercuts.",
    description="the scraper agent parses 5,000 product cards in its own code instead of 300",
)
RNG = random.Random(time.time_ns())


def wait(seconds: float) -> None:
    """Sleep for a remote call's latency, with the +-10% jitter real runs have."""
    time.sleep(seconds * RNG.uniform(0.9, 1.1))


def chat(prompt: str, reply: str, input_tokens: int, model: str = "gpt-4o") -> str:
    """One streamed chat completion against a remote provider: TTFT, then ~100 tokens/s."""
    output_tokens = max(1, round(len(reply.split()) * 1.3))
    with rs.llm_call(model=model, provider="openai") as call:
        start = time.perf_counter()
        wait(0.12 + input_tokens * 2e-5)
        ttft = time.perf_counter() - start
        wait(output_tokens / 100)
        call.messages(input=[{"role": "user", "content": prompt}], output=reply)
        call.usage(input_tokens=input_tokens, output_tokens=output_tokens)
        call.finish_reasons(["stop"])
        call.set_attribute("gen_ai.response.time_to_first_chunk", round(ttft, 4))
    return reply


class PriceCards(HTMLParser):
    """Collects (sku, price) from ``<div class="card" data-sku=...>`` ... ``<span class="price">``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, float]] = []
        self._sku: str | None = None
        self._in_price = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "div" and attributes.get("class") == "card":
            self._sku = attributes.get("data-sku")
        elif tag == "span" and attributes.get("class") == "price":
            self._in_price = True

    def handle_data(self, data: str) -> None:
        if self._in_price and self._sku:
            self.rows.append((self._sku, float(data)))
            self._in_price = False


def fetch_page(url: str) -> str:
    """The HTTP GET (the page's HTML is the response body; only its size is recorded)."""
    cards = 300 if sc.variant == "baseline" else 5000
    with rs.tool_span("fetch_page", arguments={"url": url}) as call:
        call.set_attribute("http.request.method", "GET")
        call.set_attribute("server.address", url.split("/")[2])
        wait(0.22 + cards * 1.5e-5)  # gzip: 15x the HTML is ~1.4x the transfer
        html = "<html><body><main>" + "".join(
            f'<div class="card" data-sku="TR-{i:05d}"><a href="/p/{i}">'
            f'<img src="/img/{i}.webp" alt="Shoe {i}"></a><h3 class="title">Trail shoe model {i}</h3>'
            f'<span class="price" itemprop="price">{59 + i % 90}.99</span>'
            '<ul class="tags"><li>running</li><li>trail</li></ul></div>'
            for i in range(cards)) + "</main></body></html>"
        call.set_attribute("http.response.status_code", 200)
        call.set_attribute("http.response.body.size", len(html))
        call.set_result({"status": 200, "bytes": len(html)})
    return html


@rs.agent("scraper")
def scraper(url: str) -> dict[str, float]:
    html = fetch_page(url)
    sc.mark_culprit(agent="scraper", bound_by="cpu")
    parser = PriceCards()
    parser.feed(html)
    parser.close()
    prices = dict(parser.rows)
    return {"cards": len(prices), "median": statistics.median(prices.values()),
            "TR-00042": prices["TR-00042"], "TR-00117": prices["TR-00117"]}


@rs.agent("analyst")
def analyst(theirs: dict[str, float]) -> str:
    with rs.tool_span("get_our_prices", arguments={"category": "trail-shoes"}) as call:
        call.set_attribute("server.address", "pricing.internal")
        wait(0.08)
        ours = {"TR-00042": 109.0, "TR-00117": 89.0}
        call.set_result(ours)
    return chat(f"Compare competitor prices {theirs} with ours {ours}; list undercuts over 5%.",
                "Undercuts: TR-00042 at 101.99 vs our 109.00 (-6.4%); TR-00117 at 86.99 vs 89.00 is "
                "within 5%.", input_tokens=520)


@rs.agent("reporter")
def reporter(findings: str) -> str:
    return chat(f"Write a two-line alert for the pricing team: {findings}",
                "Price alert: trailrunner.example undercuts TR-00042 by 6.4% (101.99 vs 109.00). "
                "No other undercut above 5%.", input_tokens=300)


def app(sc: Scenario) -> str:
    return reporter(analyst(scraper("https://trailrunner.example/c/trail-shoes")))


def check(answer: str) -> tuple[bool, str]:
    return ("TR-00042" in answer, "the alert misses the undercut")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
