"""Returns desk for a web shop: planner -> refund_calculator -> notifier -> reconciler.

A customer returned one of three mugs. The billing API reports every amount in minor units
(cents), as its ``amount_unit`` field says, but the planner reads 1450 as $1,450.00 and plans a
refund of $1,566.00 instead of $15.66. The calculator correctly converts the planned dollars to
cents for the payments API, the notifier restates the amount, and the reconciler's dry run against
the ledger is where it finally blows up, eight steps after the misreading.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

ORDERS = {
    "ORD-77120": {
        "order_id": "ORD-77120", "customer": "CUST-88213", "currency": "usd", "amount_unit": "minor",
        "line_items": [{"sku": "MUG-12OZ-BLK", "qty": 3, "unit_amount": 1450, "tax_amount": 348}],
        "shipping_amount": 599, "amount_total": 5297, "captured": 5297, "created": "2024-05-02T14:11:09Z",
    }
}

sc = Scenario(
    "refund-cents-as-dollars", klass="provenance",
    task="Order ORD-77120: the customer returned 1 of the 3 mugs (MUG-12OZ-BLK). Refund that mug and its "
         "share of the sales tax (not shipping), and email the customer the refunded amount.",
    description="the planner reads the billing API's cent amounts as dollars and plans a $1,566.00 refund instead of $15.66",
    expected=1566, category="tool_output_misread",
)


@rs.tool("get_order")
def get_order(order_id: str) -> dict:
    return ORDERS[order_id]


@rs.tool("to_minor_units")
def to_minor_units(amount: float, currency: str) -> int:
    return int(round(amount * 100))


@rs.tool("ledger_dry_run")
def ledger_dry_run(order_id: str, refund_minor: int) -> dict:
    order = ORDERS[order_id]
    remaining = order["captured"]
    ok = refund_minor <= remaining
    return {"order_id": order_id, "requested": refund_minor, "refundable": remaining, "accepted": ok,
            "error": None if ok else "refund exceeds refundable balance"}


@rs.agent("planner")
def planner(task: str) -> dict:
    order = get_order("ORD-77120")
    reply = sc.llm(
        [{"role": "system", "content": "You plan refunds. Output JSON with refund_usd and a rationale."},
         {"role": "user", "content": f"{task}\n\nOrder record:\n{json.dumps(order, indent=2)}"}],
        "Plan for ORD-77120:\n- 1 of 3 x MUG-12OZ-BLK returned, unit price $1,450.00\n"
        "- tax on the line is $348.00 for 3 units, so $116.00 per unit\n- shipping ($599.00) is excluded\n\n"
        '```json\n{"order_id": "ORD-77120", "refund_usd": 1566.00, "items": [{"sku": "MUG-12OZ-BLK", "qty": 1}], '
        '"rationale": "1 x 1450.00 + 116.00 tax share"}\n```',
    )
    sc.mark_culprit(agent="planner")
    return json.loads(re.search(r"\{.*\}", reply, re.S).group(0))


@rs.agent("refund_calculator")
def refund_calculator(plan: dict) -> dict:
    minor = to_minor_units(plan["refund_usd"], "usd")
    return {"order_id": plan["order_id"], "refund_minor": minor, "refund_usd": plan["refund_usd"]}


@rs.agent("notifier")
def notifier(refund: dict) -> str:
    return sc.llm(
        f"Draft a short refund confirmation email. Order {refund['order_id']}, refund ${refund['refund_usd']:,.2f}.",
        f"Subject: Your refund for order {refund['order_id']}\n\nHi there,\n\nThanks for sending back the mug. "
        f"We've issued a refund of ${refund['refund_usd']:,.2f} to your original payment method; it should appear "
        "within 5-10 business days.\n\nBest,\nThe Returns Team",
    )


@rs.agent("reconciler")
def reconciler(refund: dict, email: str) -> dict:
    result = ledger_dry_run(refund["order_id"], refund["refund_minor"])
    note = sc.llm(
        f"Ledger dry run result: {json.dumps(result)}. Should the refund be released?",
        "Do not release. The ledger rejected the dry run: the requested refund (156600) is larger than the "
        "refundable balance (5297). Sending back for review.",
    )
    return {"refund_minor": refund["refund_minor"], "accepted": result["accepted"], "note": note}


def app(sc):
    plan = planner(sc.task)
    refund = refund_calculator(plan)
    email = notifier(refund)
    outcome = reconciler(refund, email)
    return outcome["refund_minor"]


def check(answer):
    if answer != 1566:
        return False, f"refund of {answer} cents prepared; expected 1566 (one mug 1450 + tax share 116)"
    return True, "refund correct"


if __name__ == "__main__":
    sc.main(app, check)
