"""Monthly expense claim, one categorisation turn per transaction: collector -> categoriser (x11) -> fx -> aggregator.

The claim must cover card transactions dated 1-31 March 2024 only. The collector decides to "add a
buffer for late-posting items" and calls the card API from 2024-02-01, so four February
transactions come back with the seven March ones. Each is categorised (correctly), the FX agent
converts EUR and GBP lines at the month-end rates (correctly), and the aggregator's category
totals are right for what it was given; the claim includes February spend.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from harness import Scenario
import rootspan.tracer as rs

TXNS = [  # id, posted date, merchant, amount, currency
    ("TX-240203-01", "2024-02-03", "Uber *TRIP", 23.40, "USD"), ("TX-240211-07", "2024-02-11", "Delta Air Lines", 412.80, "USD"),
    ("TX-240219-02", "2024-02-19", "Pret A Manger London", 8.95, "GBP"), ("TX-240227-04", "2024-02-27", "WeWork Day Pass", 45.00, "USD"),
    ("TX-240304-03", "2024-03-04", "Marriott Berlin", 537.00, "EUR"), ("TX-240305-11", "2024-03-05", "BVG Ticket", 9.90, "EUR"),
    ("TX-240305-12", "2024-03-05", "Restaurant Lutter & Wegner", 86.50, "EUR"), ("TX-240312-05", "2024-03-12", "Lufthansa", 389.20, "EUR"),
    ("TX-240318-02", "2024-03-18", "Staples #1142", 64.17, "USD"), ("TX-240322-09", "2024-03-22", "Zoom Video Pro", 15.99, "USD"),
    ("TX-240329-01", "2024-03-29", "Lyft *RIDE", 31.25, "USD"),
]
CATEGORY = {"Uber": "ground transport", "Lyft": "ground transport", "BVG": "ground transport", "Delta": "airfare",
            "Lufthansa": "airfare", "Marriott": "lodging", "Pret": "meals", "Restaurant": "meals", "WeWork": "workspace",
            "Staples": "office supplies", "Zoom": "software"}
RATES = {"EUR": 1.0811, "GBP": 1.2623, "USD": 1.0}
sc = Scenario(
    "expense-claim-wrong-dates", klass="constraint",
    task="Prepare Jordan Lee's March 2024 expense claim from corporate card AMEX-1009: include only transactions dated "
         "1-31 March 2024, categorise each, convert to USD at month-end rates, and total by category.",
    description="the collector queries the card API from 2024-02-01, pulling four February transactions into a March claim",
    category="tool_misuse",
)


@rs.tool("fetch_card_transactions")
def fetch_card_transactions(card: str, start: str, end: str) -> list:
    return [{"id": i, "date": d, "merchant": m, "amount": a, "currency": c} for i, d, m, a, c in TXNS if start <= d <= end]


@rs.tool("fx_month_end")
def fx_month_end(currency: str, month: str) -> float:
    return RATES[currency]


@rs.agent("collector")
def collector(task: str) -> list:
    reply = sc.llm(
        [{"role": "system", "content": "You gather card data for expense claims. Reply with the tool call as JSON."},
         {"role": "user", "content": task}],
        "I'll pull the statement with a buffer so late-posting items aren't missed.\n"
        '{"tool": "fetch_card_transactions", "args": {"card": "AMEX-1009", "start": "2024-02-01", "end": "2024-03-31"}}',
    )
    sc.mark_culprit(agent="collector")
    call = json.loads(reply[reply.index("{"):])
    return fetch_card_transactions(**call["args"])


@rs.agent("categoriser")
def categoriser(txn: dict) -> dict:
    cat = next(v for k, v in CATEGORY.items() if txn["merchant"].startswith(k))
    sc.llm(f"Categorise this card transaction: {json.dumps(txn)}", json.dumps({"id": txn["id"], "category": cat}))
    return {**txn, "category": cat}


@rs.agent("fx")
def fx(lines: list) -> list:
    rates = {c: fx_month_end(c, "2024-03") for c in sorted({l["currency"] for l in lines} - {"USD"})}
    rates["USD"] = 1.0
    return [{**l, "usd": round(l["amount"] * rates[l["currency"]], 2)} for l in lines]


@rs.agent("aggregator")
def aggregator(lines: list) -> dict:
    totals: dict = {}
    for l in lines:
        totals[l["category"]] = round(totals.get(l["category"], 0) + l["usd"], 2)
    grand = round(sum(totals.values()), 2)
    sc.llm(f"Write the claim summary: {json.dumps(totals)}, {len(lines)} lines",
           "**Expense claim: Jordan Lee, March 2024 (AMEX-1009)**\n\n| Category | USD |\n|---|---|\n"
           + "\n".join(f"| {k} | {v:,.2f} |" for k, v in sorted(totals.items())) + f"\n| **Total** | **{grand:,.2f}** |")
    return {"lines": lines, "by_category": totals, "total_usd": grand}


def app(sc):
    txns = collector(sc.task)
    lines = [categoriser(t) for t in txns]
    return aggregator(fx(lines))


def check(answer):
    outside = [l["id"] for l in answer["lines"] if not l["date"].startswith("2024-03")]
    return (not outside, f"claim includes transactions outside March 2024: {', '.join(outside)}" if outside else "ok")


if __name__ == "__main__":
    sc.main(app, check)
