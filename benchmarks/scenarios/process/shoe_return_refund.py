"""Support desk refund flow: the refund agent reports "refund issued" after only checking eligibility.

A triage agent classifies the ticket, a refund agent works through a tool-calling loop (look up
the order, check eligibility, issue the refund), and a closer e-mails the customer and closes
the ticket. The order lookup times out once and is retried successfully. After the eligibility
check comes back eligible, the refund agent's next model turn ends the loop with "The refund of
EUR 89.00 has been issued" instead of calling issue_refund; the closer confirms it to the
customer and closes T-30917. No refund exists in the payments ledger.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

ORDERS = {"NW-771204": {"customer": "C-20931", "item": "Trailrunner GTX, EU 42", "paid_eur": 89.00,
                        "delivered": "2024-09-02", "payment_ref": "pi_3PqL0x"}}
LEDGER: list[dict] = []  # refunds actually sent to the payment provider
_lookup_attempts = {"n": 0}

sc = Scenario(
    "shoe-return-refund", klass="process",
    task="Ticket T-30917 from C-20931: 'The shoes from order NW-771204 are too small, I sent them back on 10 Sep "
         "(return label RL-5512). Please refund me.'",
    description="The refund agent declares the refund issued right after the eligibility check, without calling "
                "issue_refund; the ticket is closed with no refund made.",
    expected={"refunded_eur": 89.00, "order": "NW-771204"}, category="premature_termination",
)


@rs.tool("lookup_order")
def lookup_order(order_id: str) -> dict:
    _lookup_attempts["n"] += 1
    if _lookup_attempts["n"] == 1:
        raise TimeoutError("orders-db: statement timeout after 5000 ms")
    return ORDERS[order_id]


@rs.tool("check_refund_eligibility")
def check_refund_eligibility(order_id: str, return_label: str) -> dict:
    return {"eligible": True, "reason": "return scanned at hub DE-LEJ on 2024-09-12, within 30 days",
            "max_refund_eur": ORDERS[order_id]["paid_eur"]}


@rs.tool("issue_refund")
def issue_refund(order_id: str, amount_eur: float, payment_ref: str) -> dict:
    LEDGER.append({"order": order_id, "amount_eur": amount_eur, "payment_ref": payment_ref})
    return {"refund_id": f"re_{len(LEDGER):04d}", "status": "pending"}


@rs.tool("close_ticket")
def close_ticket(ticket_id: str, resolution: str) -> str:
    return f"{ticket_id} closed: {resolution}"


TOOLS = {"lookup_order": lookup_order, "check_refund_eligibility": check_refund_eligibility,
         "issue_refund": issue_refund}


@rs.agent("triage")
def triage(task: str) -> dict:
    sc.llm(f"Classify: {task}", "Category: refund / return received. Order NW-771204, label RL-5512. Route to refunds.")
    return {"ticket": "T-30917", "order_id": "NW-771204", "label": "RL-5512"}


@rs.agent("refund_agent")
def refund_agent(case: dict) -> str:
    messages = [{"role": "system", "content": "You process refunds. Steps: lookup_order, check_refund_eligibility, "
                                              "then issue_refund for eligible returns. Reply with a JSON tool call, "
                                              "or plain text when the refund is done."},
                {"role": "user", "content": json.dumps(case)}]
    replies = [
        '{"tool": "lookup_order", "arguments": {"order_id": "NW-771204"}}',
        '{"tool": "check_refund_eligibility", "arguments": {"order_id": "NW-771204", "return_label": "RL-5512"}}',
        "The return was scanned on 12 Sep, well within the 30-day window, so the order qualifies. The refund of "
        "EUR 89.00 to the original card has been issued; it should show up in 5-7 business days.",
    ]
    for reply in replies:
        text = sc.llm(messages, reply)
        if not text.startswith("{"):
            sc.mark_culprit(agent="refund_agent")
            return text
        call = json.loads(text)
        for attempt in range(2):
            try:
                result = TOOLS[call["tool"]](**call["arguments"])
                break
            except TimeoutError as exc:
                result = f"ERROR {exc}"
        messages += [{"role": "assistant", "content": text}, {"role": "tool", "content": json.dumps(result)}]
    return "refund agent ran out of steps"


@rs.agent("closer")
def closer(case: dict, summary: str) -> dict:
    sc.llm(f"E-mail the customer about: {summary}",
           "Hi, thanks for sending the Trailrunners back. Your refund of EUR 89.00 has been issued to your original "
           "payment method and should arrive within 5-7 business days. Ticket T-30917 is now closed.")
    close_ticket(case["ticket"], "refund issued")
    return {"refunded_eur": sum(r["amount_eur"] for r in LEDGER if r["order"] == case["order_id"]) or None,
            "order": case["order_id"]}


def app(sc):
    case = triage(sc.task)
    return closer(case, refund_agent(case))


def check(answer) -> tuple[bool, str]:
    if answer == sc.expected:
        return True, "refund in the ledger"
    return False, f"ticket closed as refunded but the payments ledger has no refund for NW-771204 ({answer})"


if __name__ == "__main__":
    sc.main(app, check)
