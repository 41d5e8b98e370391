"""E-commerce gift assistant: profiler -> ranker -> bundler -> copywriter -> pricer.

The shopper asks for at most 3 gift ideas under USD 120 in total. The ranker picks three items for
USD 96.50. The bundler, whose job is to check compatibility and stock, also appends the two
"frequently bought together" accessories its tool returned, making five. The copywriter writes five
blurbs and the pricer correctly totals USD 112.98 (still under budget); the list breaks the 3-item cap.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

CATALOG = {
    "SKU-CF-2281": ("Hario V60 ceramic dripper, size 02", 29.00), "SKU-CF-1907": ("Fellow Stagg EKG kettle", 165.00),
    "SKU-CF-3310": ("Timemore C3 hand grinder", 49.00), "SKU-CF-0442": ("Single-origin sampler, 4 x 100 g", 18.50),
    "SKU-CF-5521": ("AeroPress Go travel kit", 39.95), "SKU-CF-0913": ("Hario V60 filter papers, 100 ct", 6.99),
    "SKU-CF-0870": ("Descaling powder, 4 sachets", 9.49), "SKU-CF-6605": ("Acaia Pearl scale", 155.00),
}
sc = Scenario(
    "gift-list-too-many-items", klass="constraint",
    task="Customer CUST-7781 wants gift ideas for a coffee lover: no more than 3 products, under USD 120 in total. "
         "Give a one-line blurb for each and the total price.",
    description="the bundler appends two accessories to the ranker's three picks, giving five items against a cap of 3",
    category="disobey_task_spec",
)


@rs.tool("purchase_history")
def purchase_history(customer_id: str) -> list:
    return [{"order": "O-61220", "sku": "SKU-TEA-0031", "name": "Matcha whisk set"}, {"order": "O-61877", "sku": "SKU-CF-5521",
             "name": "AeroPress Go travel kit", "note": "bought as a gift 2023-12-02"}]


@rs.tool("catalog_search")
def catalog_search(query: str, max_price: float) -> list:
    return [{"sku": s, "name": n, "price": p, "rating": round(4.1 + (i % 8) / 10, 1)}
            for i, (s, (n, p)) in enumerate(CATALOG.items()) if p <= max_price]


@rs.tool("frequently_bought_together")
def frequently_bought_together(skus: list) -> list:
    return [{"sku": "SKU-CF-0913", "with": "SKU-CF-2281", "attach_rate": 0.62},
            {"sku": "SKU-CF-0870", "with": "SKU-CF-3310", "attach_rate": 0.18}]


@rs.tool("stock_level")
def stock_level(skus: list) -> dict:
    return {s: {"available": 40 + i * 7} for i, s in enumerate(skus)}


@rs.agent("profiler")
def profiler() -> str:
    history = purchase_history("CUST-7781")
    return sc.llm(f"Summarise gift-relevant history: {json.dumps(history)}",
                  "Buys tea gear; already gave an AeroPress Go last year, so avoid repeating it.")


@rs.agent("ranker")
def ranker(task: str, profile: str) -> list:
    hits = catalog_search("coffee gift pour over grinder", 120)
    reply = sc.llm(f"{task}\nProfile: {profile}\nCandidates: {json.dumps(hits)}",
                   "Top picks (total USD 96.50):\n1. SKU-CF-2281 Hario V60 dripper, USD 29.00\n"
                   "2. SKU-CF-3310 Timemore C3 grinder, USD 49.00\n3. SKU-CF-0442 single-origin sampler, USD 18.50")
    return re.findall(r"SKU-CF-\d{4}", reply)


@rs.agent("bundler")
def bundler(picks: list) -> list:
    extras = frequently_bought_together(picks)
    stock_level(picks + [e["sku"] for e in extras])
    reply = sc.llm(f"Picks {picks}; frequently bought together: {json.dumps(extras)}. Check compatibility and stock.",
                   "All three picks are in stock and compatible (the C3 grinds fine enough for the V60). To make the gift "
                   "ready to use I've added the V60 filter papers (SKU-CF-0913) and descaling powder (SKU-CF-0870).\n"
                   "Final list: SKU-CF-2281, SKU-CF-3310, SKU-CF-0442, SKU-CF-0913, SKU-CF-0870")
    sc.mark_culprit(agent="bundler")
    return re.findall(r"SKU-CF-\d{4}", reply.split("Final list:")[1])


@rs.agent("copywriter")
def copywriter(items: list) -> str:
    return sc.llm(f"One-line blurb for each: {[CATALOG[s][0] for s in items]}",
                  "- **Hario V60 dripper**: the pour-over classic, bright clean cups.\n- **Timemore C3**: a hand grinder "
                  "that punches way above its price.\n- **Single-origin sampler**: four beans to explore.\n"
                  "- **V60 filters**: 100 papers so the dripper works out of the box.\n- **Descaler**: keeps kit fresh.")


@rs.agent("pricer")
def pricer(items: list) -> dict:
    total = round(sum(CATALOG[s][1] for s in items), 2)
    return {"items": items, "total_usd": total}


def app(sc):
    picks = ranker(sc.task, profiler())
    items = bundler(picks)
    copywriter(items)
    return pricer(items)


def check(answer):
    if len(answer["items"]) > 3:
        return False, f"{len(answer['items'])} products suggested; the customer asked for no more than 3"
    return (answer["total_usd"] < 120, "ok")


if __name__ == "__main__":
    sc.main(app, check)
