"""B2B order desk: the inventory agent knows most of the order is backordered and doesn't pass that on.

A sales agent handles a distributor's order, asks an inventory agent whether the quantity can ship
by the requested date, and confirms the order with a promised delivery date; a credit agent
checks the account's limit in between. The inventory tools show 120 units on hand at Rotterdam
and the remaining 280 on a supplier backorder due 22 Nov. The inventory agent answers sales with
"all 400 units can be covered (on hand plus supplier replenishment)", without the backorder
date. Sales promises 25 Oct for the full quantity.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json
from datetime import date, timedelta

from harness import Scenario
import rootspan.tracer as rs

STOCK = {"VX-880": {"on_hand": {"NL-RTM": 120, "DE-DUS": 0}, "reserved": 0}}
SUPPLIER_POS = {"VX-880": [{"po": "SPO-44817", "qty": 300, "eta": "2024-11-22", "confirmed": True}]}
TRANSIT_DAYS = {"NL-RTM": 3}

sc = Scenario(
    "distributor-order-desk", klass="process",
    task="Distributor D-4410 (Kessler Elektro) orders 400 units of VX-880 (industrial relay 24V) for delivery to "
         "Vienna by Fri 25 Oct 2024. Confirm the order with a delivery date we can keep.",
    description="The inventory agent reports the 400 units as coverable without saying 280 of them arrive only on "
                "22 Nov; sales promises the full quantity for 25 Oct.",
    expected="a promise on or after 2024-11-25 for the full 400, or a split shipment", category="information_withholding",
)


@rs.tool("check_stock")
def check_stock(sku: str) -> dict:
    return STOCK[sku]


@rs.tool("open_supplier_orders")
def open_supplier_orders(sku: str) -> list[dict]:
    return SUPPLIER_POS[sku]


@rs.tool("credit_check")
def credit_check(customer: str, amount_eur: float) -> dict:
    return {"customer": customer, "limit_eur": 60000, "open_eur": 18250.0, "ok": amount_eur + 18250.0 <= 60000}


@rs.tool("confirm_order")
def confirm_order(customer: str, sku: str, qty: int, promise_date: str, shipments: list[dict]) -> dict:
    return {"order": "SO-2024-10571", "customer": customer, "sku": sku, "qty": qty, "promise_date": promise_date,
            "shipments": shipments}


@rs.agent("inventory_agent")
def inventory_agent(sku: str, qty: int, need_by: str) -> str:
    stock = check_stock(sku)
    incoming = open_supplier_orders(sku)
    answer = sc.llm(f"Can we ship {qty} x {sku} to Vienna by {need_by}?\nStock: {json.dumps(stock)}\n"
                    f"Supplier orders: {json.dumps(incoming)}",
                    "Yes, VX-880 is covered: 120 units on hand in Rotterdam and a confirmed supplier replenishment "
                    "(SPO-44817, 300 units) for the rest, so all 400 can be allocated to D-4410.")
    sc.mark_culprit(agent="inventory_agent")
    return answer


@rs.agent("credit_agent")
def credit_agent(customer: str, amount: float) -> bool:
    result = credit_check(customer, amount)
    sc.llm(f"Credit check: {result}", f"D-4410 has EUR {result['limit_eur'] - result['open_eur']:,.2f} of headroom; "
                                      f"this EUR {amount:,.2f} order fits. Approved.")
    return result["ok"]


@rs.agent("sales_agent")
def sales_agent(task: str) -> dict:
    stock_answer = inventory_agent("VX-880", 400, "2024-10-25")
    amount = 400 * 31.40
    if not credit_agent("D-4410", amount):
        return {"status": "credit_hold"}
    ship = date(2024, 10, 25) - timedelta(days=TRANSIT_DAYS["NL-RTM"])
    sc.llm(f"{task}\nInventory says: {stock_answer}\nCredit: approved",
           f"Inventory confirms all 400 units, so we can ship from Rotterdam on {ship:%a %d %b} and deliver to "
           "Vienna on Fri 25 Oct. Confirming SO for 400 x VX-880 at EUR 31.40 (EUR 12,560.00).")
    return confirm_order("D-4410", "VX-880", 400, "2024-10-25",
                         [{"from": "NL-RTM", "qty": 400, "ship_date": ship.isoformat()}])


def app(sc):
    return sales_agent(sc.task)


def check(answer) -> tuple[bool, str]:
    on_hand = sum(STOCK["VX-880"]["on_hand"].values())
    earliest_rest = min(p["eta"] for p in SUPPLIER_POS["VX-880"])
    for shipment in answer["shipments"]:
        if shipment["qty"] > on_hand and shipment["ship_date"] < earliest_rest:
            return False, (f"order {answer['order']} promises {shipment['qty']} units shipping {shipment['ship_date']}; "
                           f"only {on_hand} are on hand before {earliest_rest}")
    return True, "promise is feasible"


if __name__ == "__main__":
    sc.main(app, check)
