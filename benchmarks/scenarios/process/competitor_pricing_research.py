"""Competitive-pricing research: the researcher re-runs the same web search until the turn limit.

A manager agent asks a researcher for Contoso Cloud's Business-plan price per seat, then would hand the
finding to an analyst for the pricing memo. The first search is reasonable, and its results point
at the official pricing page (result 3) without quoting the price in the snippet. From the second
turn on the researcher issues the identical query again instead of opening that page with
fetch_page; each search returns the same ~3 KB of results, the manager keeps saying "continue",
and the run stops at the manager's 7-turn limit with no price.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

QUERY = "Contoso Cloud Business plan price per seat 2024"
PAGES = {"https://contoso.example/pricing": "Starter $6/seat/mo (up to 10 seats). Business $14/seat/mo billed "
                                             "annually, $17 monthly. Enterprise: contact sales."}
RESULTS = [
    {"rank": 1, "url": "https://saasreviews.example/contoso-cloud-review-2023", "title": "Contoso Cloud review (2023)",
     "snippet": "Contoso's tiers start cheap, but the Business tier is where SSO and audit logs live. Prices changed "
                "twice in 2023 so check the vendor's site for current numbers."},
    {"rank": 2, "url": "https://forum.example/t/contoso-vs-fabrikam/88213", "title": "Contoso vs Fabrikam for a 40-person team?",
     "snippet": "We pay something like twelve or thirteen bucks a seat but we negotiated. YMMV. Fabrikam was more."},
    {"rank": 3, "url": "https://contoso.example/pricing", "title": "Pricing | Contoso Cloud",
     "snippet": "Compare plans: Starter, Business and Enterprise. Annual billing saves up to 18%. See plan details."},
    {"rank": 4, "url": "https://news.example/2024/02/contoso-raises-prices", "title": "Contoso raises prices for new customers",
     "snippet": "Existing customers keep 2023 pricing until renewal; new Business customers pay more from 1 March 2024."},
] + [
    {"rank": n, "url": f"https://blog{n}.example/posts/{2024 - n % 2}/saas-pricing-roundup-{n * 17}",
     "title": f"SaaS pricing roundup #{n * 17}: collaboration tools",
     "snippet": "We compared 23 collaboration suites on seat price, storage and admin features. Contoso, Fabrikam, "
                "Northwind and Tailspin all moved to annual-first pricing; per-seat numbers in our sheet are list "
                "prices as of publication and may be out of date. Download the full CSV for details."}
    for n in range(5, 13)
]

sc = Scenario(
    "competitor-pricing-research", klass="process",
    task="For the Q4 pricing memo: what does Contoso Cloud charge per seat per month on its Business plan "
         "(annual billing), as listed on its site today?",
    description="The researcher repeats the identical web search every turn instead of opening the pricing page "
                "it found, until the manager's turn limit ends the run with no price.",
    expected="$14/seat/mo", category="step_repetition",
)


@rs.tool("web_search")
def web_search(query: str, max_results: int = 12) -> list[dict]:
    return RESULTS[:max_results]


@rs.tool("fetch_page")
def fetch_page(url: str) -> str:
    return PAGES.get(url, "404")


RESEARCHER_NOTES = [
    "The snippets don't state the current Business price. Result 3 is Contoso's own pricing page and result 4 "
    "says prices went up for new customers in March 2024, so the 2023 review numbers are stale. Next: get the "
    "figure from the vendor's page.",
    "Running the search again to find the current Business per-seat price.",
    "Still no explicit per-seat figure in the results. Searching again for the Business plan price.",
    "The results mention the Business tier and the 2024 increase but not the number. Trying the search once more.",
    "Searching again for Contoso Business pricing.",
    "No price in these results either; I'll run the query again.",
    "Same results. Searching again for the Business-tier per-seat price.",
    "Still looking for the exact per-seat number; running the search again.",
]


@rs.agent("researcher")
def researcher(turn: int, notes: list[str]) -> str:
    action = sc.llm([{"role": "system", "content": "You research facts on the web. Tools: web_search(query), "
                                                   "fetch_page(url). Reply with one tool call as JSON."},
                     {"role": "user", "content": f"Find: {sc.task}\nYour notes so far: {notes or 'none'}"}],
                    json.dumps({"tool": "web_search", "arguments": {"query": QUERY}}))
    call = json.loads(action)
    if turn == 2:
        sc.mark_culprit(agent="researcher")
    result = web_search(**call["arguments"]) if call["tool"] == "web_search" else fetch_page(**call["arguments"])
    return sc.llm(f"Tool result: {json.dumps(result)}\nUpdate your notes.", RESEARCHER_NOTES[turn - 1])


@rs.agent("manager")
def manager(task: str, max_turns: int = 7) -> dict:
    notes: list[str] = []
    for turn in range(1, max_turns + 1):
        sc.llm(f"Task: {task}\nResearcher notes: {notes[-1:] or 'none'}\nTurn {turn}/{max_turns}. Next instruction?",
               "Researcher: find Contoso Cloud's current Business-plan price per seat (annual billing)."
               if turn == 1 else "Researcher, please continue; we still need the Business per-seat figure.")
        notes.append(researcher(turn, notes))
        if "$" in notes[-1]:
            return {"price": notes[-1]}
    sc.llm(f"Turn limit reached. Notes: {notes}",
           "We've used all 7 research turns without a confirmed Business-plan price. Sending the memo back with "
           "the Contoso line marked 'price unverified'.")
    return {"price": None}


def app(sc):
    return manager(sc.task)


def check(answer) -> tuple[bool, str]:
    if answer["price"] and "$14" in answer["price"]:
        return True, "price found"
    return False, "no Contoso Business price after 7 research turns"


if __name__ == "__main__":
    sc.main(app, check)
