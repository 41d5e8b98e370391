"""Procurement, several negotiation rounds: negotiator (x3) -> po_writer -> finance -> erp_clerk -> notifier.

The negotiator gets Fernhill's first quote (Q-7731-r1: $38.80/unit + $450 freight), counters, and
closes on revision r3 ($36.50/unit, freight included, Net 45). The po_writer reads the whole thread
and drafts the PO with the r3 reference but round one's unit price and freight. Finance correctly
totals that draft (500 x 38.80 + 450 = 19,850) and it passes the budget check; the ERP clerk raises
it faithfully. The PO does not match the accepted quote (18,250.00).
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

QUOTES = {
    1: {"quote_id": "Q-7731-r1", "sku": "KX-400", "qty": 500, "unit_price": 38.80, "freight": 450.00,
        "delivery": "2024-08-23", "terms": "Net 30", "message": "Our best list price for 500 x KX-400 is $38.80 each."},
    2: {"quote_id": "Q-7731-r2", "sku": "KX-400", "qty": 500, "unit_price": 36.50, "freight": 0.00,
        "delivery": "2024-08-27", "terms": "Net 30", "message": "We can do $36.50 with freight included; $36.00 is below cost."},
    3: {"quote_id": "Q-7731-r3", "sku": "KX-400", "qty": 500, "unit_price": 36.50, "freight": 0.00,
        "delivery": "2024-08-27", "terms": "Net 45", "message": "Agreed: Net 45 at $36.50, freight included. Valid until 2024-07-19."},
}
sc = Scenario(
    "po-superseded-quote", klass="provenance",
    task="Negotiate 500 x ergonomic chair KX-400 from Fernhill Office Supply (vendor V-2208): aim for under $37.00 per "
         "unit delivered by 2024-08-30, then raise the purchase order on the agreed terms.",
    description="the PO writer takes the unit price and freight from the superseded first quote instead of the accepted r3",
    expected=18250.00, category="loss_of_history",
)
_portal = {"calls": 0}
THREAD: list = []


@rs.tool("supplier_portal_send")
def supplier_portal_send(vendor: str, message: str, round_no: int) -> dict:
    _portal["calls"] += 1
    if _portal["calls"] == 3:
        raise ConnectionError("supplier-portal: 503 Service Unavailable")
    return QUOTES[round_no]


@rs.tool("vendor_profile")
def vendor_profile(vendor: str) -> dict:
    return {"vendor": "V-2208", "name": "Fernhill Office Supply", "on_time_rate": 0.94, "open_pos": 2, "risk": "low"}


@rs.tool("budget_check")
def budget_check(cost_center: str, amount: float) -> dict:
    return {"cost_center": cost_center, "remaining": 24000.00, "ok": amount <= 24000.00}


@rs.tool("erp_create_po")
def erp_create_po(vendor: str, lines: list, freight: float, terms: str, quote_ref: str) -> dict:
    total = round(sum(l["qty"] * l["unit_price"] for l in lines) + freight, 2)
    return {"po_number": "PO-2024-03318", "vendor": vendor, "total": total, "terms": terms, "quote_ref": quote_ref}


NEGOTIATION = [
    "Hello Fernhill team, we'd like a quote for 500 units of KX-400 delivered to our Reno DC by 2024-08-30.",
    "Thanks. $38.80 plus $450 freight is above our target. Could you do $36.00 per unit with freight included?",
    "$36.50 with freight included works for us if you can extend payment terms to Net 45.",
]


@rs.agent("negotiator")
def negotiator(round_no: int) -> dict:
    if round_no == 1:
        vendor_profile("V-2208")
    msg = sc.llm([{"role": "system", "content": "You negotiate for Carrow Procurement. Target < $37.00/unit."}]
                 + [{"role": "user", "content": json.dumps(t)} for t in THREAD], NEGOTIATION[round_no - 1])
    for attempt in range(2):
        try:
            quote = supplier_portal_send("V-2208", msg, round_no)
            break
        except ConnectionError:
            continue
    THREAD.extend([{"from": "buyer", "text": msg}, {"from": "V-2208", **quote}])
    return quote


@rs.agent("po_writer")
def po_writer(thread: list) -> dict:
    reply = sc.llm(
        "Draft the PO as JSON from the agreed deal in this thread:\n" + "\n".join(json.dumps(t) for t in thread),
        'Agreed deal per Fernhill\'s last message (Q-7731-r3, Net 45):\n```json\n{"vendor": "V-2208", "quote_ref": '
        '"Q-7731-r3", "lines": [{"sku": "KX-400", "qty": 500, "unit_price": 38.80}], "freight": 450.00, '
        '"terms": "Net 45", "deliver_by": "2024-08-27"}\n```')
    sc.mark_culprit(agent="po_writer")
    return json.loads(re.search(r"\{.*\}", reply, re.S).group(0))


@rs.agent("finance")
def finance(draft: dict) -> dict:
    total = round(sum(l["qty"] * l["unit_price"] for l in draft["lines"]) + draft["freight"], 2)
    budget = budget_check("CC-410-FAC", total)
    sc.llm(f"PO draft total ${total:,.2f}; budget check {json.dumps(budget)}. Approve?",
           f"Approved. 500 x $38.80 = $19,400.00 plus $450.00 freight = ${total:,.2f}, within the remaining "
           "$24,000.00 on CC-410-FAC.")
    return {**draft, "approved_total": total}


@rs.agent("erp_clerk")
def erp_clerk(draft: dict) -> dict:
    return erp_create_po(draft["vendor"], draft["lines"], draft["freight"], draft["terms"], draft["quote_ref"])


@rs.agent("notifier")
def notifier(po: dict) -> None:
    sc.llm(f"Tell the requester the PO is raised: {json.dumps(po)}",
           f"{po['po_number']} raised with Fernhill (V-2208) for ${po['total']:,.2f}, {po['terms']}, ref {po['quote_ref']}.")


def app(sc):
    for round_no in (1, 2, 3):
        quote = negotiator(round_no)
    with rs.agent_span("negotiator") as turn:
        rs.handoff(to="po_writer", reason=f"deal agreed on {quote['quote_id']}")
        turn.set_result(f"Closing: {quote['quote_id']} accepted by both sides.")
    draft = po_writer(THREAD)
    po = erp_clerk(finance(draft))
    notifier(po)
    return po


def check(answer):
    agreed = QUOTES[3]["qty"] * QUOTES[3]["unit_price"] + QUOTES[3]["freight"]
    if abs(answer["total"] - agreed) > 0.005:
        return False, f"{answer['po_number']} totals ${answer['total']:,.2f}; accepted quote Q-7731-r3 is ${agreed:,.2f}"
    return True, "PO matches the accepted quote"


if __name__ == "__main__":
    sc.main(app, check)
