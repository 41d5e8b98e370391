"""B2B e-commerce quoting: intake -> pricing -> quote_writer -> reviewer.

The customer asks for a quote on two SKUs against the current price list. The ``price_lookup``
tool keeps an in-process cache that was warmed from the previous price list and never checks the
list version, so for HX-2210-B it silently returns last quarter's unit price. The quote writer
multiplies, adds 8.25% tax and formats the total correctly from that price, and the reviewer
signs off; the quote the ERP recomputes differs. An inventory call that timed out once and was
retried is a distractor.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from harness import Scenario
import rootspan.tracer as rs

PRICE_LIST_CURRENT = {"PL-2024-11": {"HX-2210-B": 114.50, "CBL-0457": 8.99, "PSU-65W-02": 39.00}}
_PRICE_CACHE = {"HX-2210-B": 129.00, "PSU-65W-02": 41.00}   # warmed at start-up from PL-2024-08
STOCK = {"HX-2210-B": 212, "CBL-0457": 1840}
TAX = 0.0825

sc = Scenario(
    "stale-cached-price", klass="provenance",
    task="Quote 40 x HX-2210-B (USB-C dock) and 15 x CBL-0457 (2 m cable) for customer ACME-3391 "
         "on price list PL-2024-11, including 8.25% sales tax.",
    description="price_lookup serves a stale cached unit price for HX-2210-B; the quote total is computed correctly from it",
    expected=5103.83, category="tool_wrong_result",
)
_inventory_calls = {"n": 0}


@rs.tool("price_lookup")
def price_lookup(sku: str, price_list: str) -> dict:
    if sku in _PRICE_CACHE:
        sc.mark_culprit(agent=None)
        return {"sku": sku, "unit_price": _PRICE_CACHE[sku], "currency": "USD"}
    price = PRICE_LIST_CURRENT[price_list][sku]
    _PRICE_CACHE[sku] = price
    return {"sku": sku, "unit_price": price, "currency": "USD"}


@rs.tool("inventory_check")
def inventory_check(skus: list) -> dict:
    _inventory_calls["n"] += 1
    if _inventory_calls["n"] == 1:
        raise TimeoutError("inventory-svc: upstream request timed out after 5000 ms")
    return {sku: {"on_hand": STOCK[sku], "warehouse": "DAL-2"} for sku in skus}


@rs.agent("intake")
def intake(task: str) -> list:
    reply = sc.llm(
        [{"role": "system", "content": "Extract quote line items as JSON."}, {"role": "user", "content": task}],
        '{"customer": "ACME-3391", "price_list": "PL-2024-11", "lines": ['
        '{"sku": "HX-2210-B", "qty": 40}, {"sku": "CBL-0457", "qty": 15}]}',
    )
    return json.loads(reply)


@rs.agent("pricing")
def pricing(order: dict) -> list:
    skus = [line["sku"] for line in order["lines"]]
    try:
        stock = inventory_check(skus)
    except TimeoutError:
        stock = inventory_check(skus)
    priced = []
    for line in order["lines"]:
        quote = price_lookup(line["sku"], order["price_list"])
        assert stock[line["sku"]]["on_hand"] >= line["qty"]
        priced.append({**line, "unit_price": quote["unit_price"]})
    rs.record_output(priced)
    return priced


@rs.agent("quote_writer")
def quote_writer(order: dict, priced: list) -> dict:
    subtotal = round(sum(line["qty"] * line["unit_price"] for line in priced), 2)
    tax = round(subtotal * TAX, 2)
    total = round(subtotal + tax, 2)
    rows = "\n".join(f"| {l['sku']} | {l['qty']} | ${l['unit_price']:,.2f} | ${l['qty'] * l['unit_price']:,.2f} |"
                     for l in priced)
    text = sc.llm(
        f"Write a short quote for {order['customer']}.\nLines:\n{rows}\nSubtotal ${subtotal:,.2f}, "
        f"tax 8.25% ${tax:,.2f}, total ${total:,.2f}",
        f"**Quote for ACME-3391** (price list PL-2024-11)\n\n| SKU | Qty | Unit | Line |\n|---|---|---|---|\n{rows}\n\n"
        f"Subtotal: ${subtotal:,.2f}  \nSales tax (8.25%): ${tax:,.2f}  \n**Total: ${total:,.2f}**\n\n"
        "Valid for 30 days. Stock is available from our Dallas warehouse (DAL-2).",
    )
    return {"total": total, "text": text}


@rs.agent("reviewer")
def reviewer(quote: dict) -> dict:
    verdict = sc.llm(
        f"Review this quote for arithmetic and formatting:\n{quote['text']}",
        "Checked: line totals multiply out, the 8.25% tax is applied to the subtotal and the total adds up. "
        "Formatting is consistent. Approved to send.",
    )
    return {**quote, "review": verdict}


def app(sc):
    order = intake(sc.task)
    priced = pricing(order)
    quote = quote_writer(order, priced)
    return reviewer(quote)["total"]


def check(answer):
    erp = PRICE_LIST_CURRENT["PL-2024-11"]
    subtotal = 40 * erp["HX-2210-B"] + 15 * erp["CBL-0457"]
    expected = round(subtotal + round(subtotal * TAX, 2), 2)
    if abs(answer - expected) > 0.01:
        return False, f"quote total ${answer:,.2f} does not match the ERP recomputation ${expected:,.2f}"
    return True, "quote matches ERP"


if __name__ == "__main__":
    sc.main(app, check)
