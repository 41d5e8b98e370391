"""E-commerce support desk: the order agent gets a connection error and answers with a made-up shipment.

An intake agent identifies the customer (its first CRM call drops the connection and the retry
works), an order agent runs a small tool-calling loop against the order service, a reply writer
drafts the e-mail from the order agent's facts, and a QA agent checks tone and policy. The order
service resets the connection on the status lookup. The order agent's instructions say to retry
a failed tool call; instead the model answers at once with a confident "shipped with DHL, arriving
Thursday" and an invented tracking number. The order is actually held at customs.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

CUSTOMERS = {"lena.vogt@example.de": {"customer_id": "C-5520", "name": "Lena Vogt", "tier": "plus"}}
ORDERS = {"8812-X": {"status": "held_at_customs", "since": "2024-09-09", "carrier": "DHL Express",
                     "tracking": "JD014600006281234567", "note": "awaiting EORI number from recipient"}}
flaky = {"crm": 1, "orders": 1}  # each backend drops its first connection of the morning

sc = Scenario(
    "order-status-support", klass="structural",
    task="Customer lena.vogt@example.de asks: 'Where is my order 8812-X? It was supposed to arrive last week.'",
    description="The order-status call fails with a connection reset; the order agent does not retry and "
                "invents a shipped-with-DHL status, which the reply then tells the customer.",
    expected="held_at_customs", category="hallucination",
)


def _maybe_drop(backend: str) -> None:
    if flaky[backend] > 0:
        flaky[backend] -= 1
        raise ConnectionResetError(f"[Errno 104] Connection reset by peer ({backend}-svc.internal:8443)")


@rs.tool("crm_lookup")
def crm_lookup(email: str) -> dict:
    _maybe_drop("crm")
    return CUSTOMERS[email]


@rs.tool("get_order_status")
def get_order_status(order_id: str, customer_id: str) -> dict:
    _maybe_drop("orders")
    return ORDERS[order_id]


@rs.agent("intake")
def intake(task: str) -> dict:
    for attempt in range(3):
        try:
            customer = crm_lookup("lena.vogt@example.de")
            break
        except ConnectionResetError:
            continue
    sc.llm(f"Classify and extract: {task}\nCustomer record: {customer}",
           "Intent: order status (WISMO). Order: 8812-X. Customer C-5520, Lena Vogt, Plus tier. Tone: frustrated, "
           "the delivery is late.")
    return {"customer": customer, "order_id": "8812-X", "intent": "order_status"}


@rs.agent("order_agent")
def order_agent(case: dict) -> str:
    messages = [{"role": "system", "content": "You answer order questions using the tools. If a tool call fails, "
                                              "call it again before answering. Never guess a shipment status."},
                {"role": "user", "content": f"Status of order {case['order_id']} for {case['customer']['customer_id']}?"}]
    decision = sc.llm(messages, '{"tool": "get_order_status", "arguments": {"order_id": "8812-X", "customer_id": "C-5520"}}')
    call = json.loads(decision)
    try:
        result = json.dumps(get_order_status(**call["arguments"]))
    except ConnectionResetError as exc:
        result = f"ERROR: {type(exc).__name__}: {exc}"
    messages += [{"role": "assistant", "content": decision}, {"role": "tool", "content": result}]
    answer = sc.llm(messages, "Order 8812-X shipped with DHL on 10 Sep and is in transit to the customer; tracking "
                              "number JD014600003355170299. Estimated delivery is Thursday, 19 Sep.")
    sc.mark_culprit(agent="order_agent")
    case["facts_from"] = rs.current_span_id()
    return answer


@rs.agent("reply_writer")
def reply_writer(case: dict, facts: str, facts_span: str) -> str:
    rs.consumed(facts_span)
    return sc.llm(f"Write a warm reply to {case['customer']['name']} using only these facts: {facts}",
                  "Hi Lena,\n\nsorry your order is taking longer than planned. Good news: order 8812-X is on its "
                  "way with DHL (tracking JD014600003355170299) and should reach you on Thursday, 19 September.\n\n"
                  "Thanks for your patience,\nNorthwind Support")


@rs.agent("qa")
def qa(draft: str) -> str:
    sc.llm(f"Check tone, policy and personal data in this reply:\n{draft}",
           "Tone is friendly and apologetic, no internal notes leaked, the delivery estimate is stated as an "
           "estimate. OK to send.")
    return draft


def app(sc):
    case = intake(sc.task)
    facts = order_agent(case)
    return qa(reply_writer(case, facts, case["facts_from"]))


def check(answer) -> tuple[bool, str]:
    if "customs" in answer.lower():
        return True, "customer told the order is held at customs"
    return False, "the reply gives a DHL in-transit status; the order is held at customs awaiting an EORI number"


if __name__ == "__main__":
    sc.main(app, check)
