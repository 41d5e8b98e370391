"""Accounts-payable reconciliation: a retried page request silently restarts pagination.

A collector pulls a vendor's invoices for the month from the AP API (HTTP calls traced by the
HTTP client instrumentation), a matcher checks each invoice against the PO ledger, an auditor
reviews the result and a summarizer writes the close note. Page 2 of 3 gets a 503; the fetch
tool's retry re-issues the request without its cursor, gets page 1 again, sees a cursor it
already followed and stops, returning 25 of 61 invoices as if complete. The totals, the
missing-PO list and the auditor's approval are all consistent with the partial list.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from harness import Scenario
import rootspan.tracer as rs

VENDOR, MONTH = "V-2291", "2024-08"
INVOICES = [{"id": f"AL-24-08-{100 + n:04d}", "date": f"2024-08-{n % 28 + 1:02d}",
             "po": None if n in (7, 52) else f"PO-{77000 + n * 3}", "amount_eur": round(310 + (n * 113) % 2400 + n / 4, 2)}
            for n in range(61)]
TRUE_TOTAL = round(sum(i["amount_eur"] for i in INVOICES), 2)
TRUE_MISSING = [i["id"] for i in INVOICES if i["po"] is None]
LEDGER = {i["po"]: i["amount_eur"] for i in INVOICES if i["po"]}
http = trace.get_tracer("opentelemetry.instrumentation.requests")

sc = Scenario(
    "vendor-invoice-reconciliation", klass="structural",
    task=f"Reconcile ACME Logistics ({VENDOR}) invoices for {MONTH} against the PO ledger: total invoiced (EUR) "
         "and every invoice without a matching PO.",
    description="The invoice fetch retries a 503 on page 2 without its cursor and returns only page 1, so the "
                "reconciliation covers 25 of 61 invoices.",
    expected={"total_eur": TRUE_TOTAL, "missing_po": TRUE_MISSING}, category="tool_wrong_result",
)


class ServiceUnavailable(Exception):
    pass


class APClient:
    PAGE = 25

    def __init__(self) -> None:
        self.failing_over = {"c_2"}  # the API's read replica is failing over while page 2 is requested

    def get(self, vendor: str, month: str, cursor: str | None = None) -> dict:
        url = f"https://ap.internal/v2/invoices?vendor={vendor}&month={month}" + (f"&cursor={cursor}" if cursor else "")
        with http.start_as_current_span("GET", kind=SpanKind.CLIENT,
                                        attributes={"http.request.method": "GET", "url.full": url}) as span:
            if cursor in self.failing_over:
                self.failing_over.discard(cursor)
                span.set_attribute("http.response.status_code", 503)
                span.set_status(Status(StatusCode.ERROR, "503 Service Unavailable"))
                raise ServiceUnavailable("503 Service Unavailable")
            start = int(cursor.split("_")[1]) - 1 if cursor else 0
            data = INVOICES[start * self.PAGE:(start + 1) * self.PAGE]
            more = (start + 1) * self.PAGE < len(INVOICES)
            span.set_attribute("http.response.status_code", 200)
            return {"data": data, "next_cursor": f"c_{start + 2}" if more else None}


AP = APClient()


@rs.tool("fetch_invoices")
def fetch_invoices(vendor: str, month: str) -> list[dict]:
    invoices: dict = {}
    cursor, seen = None, set()
    while True:
        try:
            page = AP.get(vendor, month, cursor)
        except ServiceUnavailable:
            page = AP.get(vendor, month)  # retry once
        invoices.update({inv["id"]: inv for inv in page["data"]})
        cursor = page["next_cursor"]
        if not cursor or cursor in seen:
            break
        seen.add(cursor)
    if len(invoices) < len(INVOICES):
        sc.mark_culprit(agent=None)
    return list(invoices.values())


@rs.tool("po_ledger_lookup")
def po_ledger_lookup(po_number: str) -> dict:
    amount = LEDGER.get(po_number)
    return {"po": po_number, "found": amount is not None, "open_amount_eur": amount}


@rs.agent("collector")
def collector(task: str) -> list[dict]:
    invoices = fetch_invoices(VENDOR, MONTH)
    sc.llm(f"{task}\nFetched {len(invoices)} invoices.",
           f"Pulled {len(invoices)} invoices for ACME Logistics ({VENDOR}), August 2024, from the AP API "
           f"({invoices[0]['id']} through {invoices[-1]['id']}). Passing them to matching.")
    return invoices


@rs.agent("matcher")
def matcher(invoices: list[dict]) -> dict:
    ledger = {i["po"]: po_ledger_lookup(i["po"]) for i in invoices if i["po"]}  # the ledger API takes one PO a call
    missing = [i["id"] for i in invoices if not i["po"] or not ledger[i["po"]]["found"]]
    total = round(sum(i["amount_eur"] for i in invoices), 2)
    sc.llm(f"Summarise matching: {len(invoices)} invoices, total {total}, without PO: {missing}",
           f"{len(invoices) - len(missing)} of {len(invoices)} invoices match a PO line in the ledger. Total "
           f"invoiced: EUR {total:,.2f}. Without a PO: {', '.join(missing)}.")
    return {"total_eur": total, "missing_po": missing, "count": len(invoices)}


@rs.agent("auditor")
def auditor(result: dict) -> bool:
    reply = sc.llm(f"Audit this reconciliation before close: {result}",
                   f"The invoice count ({result['count']}), the total and the exceptions list are internally "
                   "consistent, and every matched invoice ties to a ledger PO. No issues; approved for close.")
    return "approved" in reply


@rs.agent("summarizer")
def summarizer(result: dict, approved: bool) -> dict:
    sc.llm(f"Write the month-end note: {result}, approved={approved}",
           f"August close, ACME Logistics ({VENDOR}): EUR {result['total_eur']:,.2f} invoiced across "
           f"{result['count']} invoices; {len(result['missing_po'])} need a PO before payment "
           f"({', '.join(result['missing_po'])}). Audit: approved.")
    return {"total_eur": result["total_eur"], "missing_po": result["missing_po"]}


def app(sc):
    invoices = collector(sc.task)
    result = matcher(invoices)
    return summarizer(result, auditor(result))


def check(answer) -> tuple[bool, str]:
    if answer == sc.expected:
        return True, "reconciled"
    return False, (f"total EUR {answer['total_eur']} vs ledger-side EUR {TRUE_TOTAL}; missing-PO {answer['missing_po']} "
                   f"vs {TRUE_MISSING}")


if __name__ == "__main__":
    sc.main(app, check)
