"""SaaS help desk: a double-charge ticket is handed to technical support, which answers confidently and wrongly.

A triage agent routes each ticket to billing, tech_support or account. The customer mentions
upgrading "in the app" and seeing two charges; triage keys on the app and hands the ticket to
tech_support. Tech support, which has no access to payments, searches its KB, finds the article
on pending card authorizations and tells the customer the second charge will drop off by itself.
Both charges were captured; only billing could have seen that and refunded one.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from harness import Scenario
import rootspan.tracer as rs

PAYMENTS = {"INV-2291": [{"charge": "ch_8Hn2", "eur": 49.00, "status": "captured", "at": "2024-09-03T10:14Z"},
                         {"charge": "ch_8Hn7", "eur": 49.00, "status": "captured", "at": "2024-09-03T10:15Z"}]}
TECH_KB = [
    {"id": "KB-204", "title": "Seeing a pending charge after upgrading?",
     "body": "Card issuers may show a temporary authorization hold when you change plans. Holds that are not "
             "captured disappear within 3-5 business days; no action is needed."},
    {"id": "KB-117", "title": "Upgrade not showing in the app",
     "body": "Sign out and back in, or clear the app cache (Settings > Storage > Clear cache) to refresh your plan."},
    {"id": "KB-310", "title": "Desktop app 5.2.1 crashes on start", "body": "Update to 5.2.3 or later."},
]

sc = Scenario(
    "saas-helpdesk-ticket", klass="process",
    task="Ticket T-88120 (account A-17, plan Pro): 'I upgraded to Pro in the app yesterday and my card got charged "
         "twice, EUR 49 each, on invoice INV-2291. Please fix this.'",
    description="Triage hands a duplicate-charge ticket to tech support instead of billing; tech support says the "
                "second charge is a temporary hold, but both were captured and one should be refunded.",
    expected="refund one EUR 49 charge on INV-2291", category="wrong_handoff",
)


@rs.tool("search_kb")
def search_kb(query: str, space: str) -> list[dict]:
    words = {w.strip(".,?").lower() for w in query.split() if len(w) > 3}
    return [a for a in TECH_KB if words & {w.strip(".,?").lower() for w in (a["title"] + " " + a["body"]).split()}]


@rs.tool("list_charges")
def list_charges(invoice: str) -> list[dict]:
    return PAYMENTS[invoice]


@rs.agent("triage")
def triage(task: str) -> str:
    reply = sc.llm([{"role": "system", "content": "Route the ticket to one queue: billing (charges, invoices, "
                                                  "refunds), tech_support (app problems), account (login, users)."},
                    {"role": "user", "content": task}],
                   "tech_support: the customer upgraded through the app and is seeing an unexpected second charge "
                   "right after, which is most likely an app-side upgrade glitch.")
    queue = reply.split(":", 1)[0]
    rs.handoff(to=queue, reason=reply.split(":", 1)[1].strip())
    sc.mark_culprit(agent="triage")
    return queue


@rs.agent("tech_support")
def tech_support(task: str) -> str:
    articles = search_kb("charged twice after upgrading pending charge", space="tech")
    return sc.llm(f"{task}\nRelevant articles: {articles}",
                  "Hi! Thanks for upgrading to Pro. What you're seeing is a temporary authorization hold from the "
                  "upgrade: your bank shows it like a charge, but it isn't captured and will disappear on its own "
                  "within 3-5 business days (see KB-204). You won't be billed twice, so no action is needed.")


@rs.agent("billing")
def billing(task: str) -> str:
    charges = list_charges("INV-2291")
    return sc.llm(f"{task}\nCharges: {charges}", "Both EUR 49 charges were captured; refunding ch_8Hn7.")


QUEUES = {"tech_support": tech_support, "billing": billing}


def app(sc):
    return QUEUES[triage(sc.task)](sc.task)


def check(answer) -> tuple[bool, str]:
    if "refund" in answer.lower():
        return True, "duplicate charge refunded"
    return False, "the customer was told to wait for a hold to drop; both charges on INV-2291 are captured"


if __name__ == "__main__":
    sc.main(app, check)
