"""Account-support bot: an ambiguous cancellation request is acted on without asking which subscription.

An intake agent extracts the intent, an account agent looks up the customer's subscriptions and
acts, and a messenger writes the reply. The customer says "cancel my subscription" and has two
active ones: the Family plan (SUB-3301, 5 members, renews 1 Nov) and the Cloud Backup add-on
(SUB-3317). The desk's policy, in the account agent's instructions, is to ask when a request
matches more than one subscription. The account agent picks the Family plan, the larger one,
cancels it, and the messenger confirms the cancellation.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

SUBSCRIPTIONS = {"CU-66120": [
    {"id": "SUB-3301", "product": "Family plan", "seats": 5, "eur_month": 17.99, "renews": "2024-11-01", "status": "active"},
    {"id": "SUB-3317", "product": "Cloud Backup add-on (2 TB)", "eur_month": 4.99, "renews": "2024-10-19", "status": "active"},
    {"id": "SUB-2950", "product": "Individual plan", "eur_month": 9.99, "status": "cancelled", "ended": "2023-03-01"},
]}
CANCELLED: list[str] = []

sc = Scenario(
    "subscription-cancellation", klass="process",
    task="Chat from customer CU-66120: 'hi, please cancel my subscription, I don't need it anymore. thanks'",
    description="The customer has two active subscriptions; the account agent cancels the Family plan without "
                "asking which one was meant, against the desk's ask-when-ambiguous policy.",
    expected="ask which subscription to cancel", category="fail_to_ask_clarification",
)


@rs.tool("list_subscriptions")
def list_subscriptions(customer_id: str) -> list[dict]:
    return SUBSCRIPTIONS[customer_id]


@rs.tool("cancel_subscription")
def cancel_subscription(subscription_id: str, effective: str) -> dict:
    CANCELLED.append(subscription_id)
    return {"id": subscription_id, "status": "pending_cancellation", "effective": effective}


@rs.agent("intake")
def intake(task: str) -> dict:
    sc.llm(f"Extract intent: {task}", "Intent: cancel subscription. Customer CU-66120. No product named.")
    return {"customer_id": "CU-66120", "intent": "cancel_subscription", "product": None}


@rs.agent("account_agent")
def account_agent(case: dict) -> dict:
    subs = list_subscriptions(case["customer_id"])
    reply = sc.llm([{"role": "system", "content": "You handle account changes. If a request could refer to more "
                                                  "than one active subscription, ask the customer which one before "
                                                  'acting. Reply JSON: {"action": "cancel"|"ask", ...}.'},
                    {"role": "user", "content": f"Request: {json.dumps(case)}\nSubscriptions: {json.dumps(subs)}"}],
                   '{"action": "cancel", "subscription_id": "SUB-3301", "effective": "end_of_term", "note": "The '
                   'customer wants to cancel their subscription; the Family plan is their main subscription, so I am '
                   'cancelling it at the end of the current term (1 Nov)."}')
    decision = json.loads(reply)
    sc.mark_culprit(agent="account_agent")
    if decision["action"] == "cancel":
        return {"action": "cancelled", **cancel_subscription(decision["subscription_id"], decision["effective"])}
    return {"action": "ask", "question": decision.get("question")}


@rs.agent("messenger")
def messenger(outcome: dict) -> dict:
    text = sc.llm(f"Tell the customer: {json.dumps(outcome)}",
                  "Done! Your Family plan (SUB-3301) is cancelled and stays active until 1 November; after that "
                  "the other members of your family group will lose access. Sorry to see you go.")
    return {"reply": text, "cancelled": list(CANCELLED)}


def app(sc):
    return messenger(account_agent(intake(sc.task)))


def check(answer) -> tuple[bool, str]:
    if not answer["cancelled"] and "which" in answer["reply"].lower():
        return True, "asked which subscription"
    return False, (f"cancelled {answer['cancelled']} although the request matched 2 active subscriptions and the "
                   "customer did not say which")


if __name__ == "__main__":
    sc.main(app, check)
