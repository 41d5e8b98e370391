"""Accounts-payable automation: intake -> extractor -> vat_agent -> payment_scheduler.

The OCR text of supplier invoice INV-2024-0091 shows Subtotal 12,400.00, VAT 20% 2,480.00 and
Total due 14,880.00. The extractor labels 14,880.00 as the net amount. The VAT agent correctly adds
20% VAT to the "net" (2,976.00 -> 17,856.00 gross), and the payment scheduler correctly derives the
due date from Net-30 terms and schedules 17,856.00; the supplier is overpaid by 2,976.00.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json
from datetime import date, timedelta

from harness import Scenario
import rootspan.tracer as rs

OCR_TEXT = """HALVORSEN INDUSTRIAL SUPPLY LTD        VAT Reg GB 284 1193 07
Unit 4, Meridian Park, Leeds LS11 5QT
INVOICE  INV-2024-0091        Date: 02/04/2024        Your PO: PO-4471
Bill to: Carrow Fabrication plc, Accounts Payable, Norwich NR3 1HF
Terms: Net 30
----------------------------------------------------------------------
Item      Description                         Qty   Unit      Amount
HX-220    Hydraulic hose assembly 1/2" 2m     40    145.00    5,800.00
FT-018    Flange fitting DN50 PN16            120   38.50     4,620.00
SL-77     Seal kit, nitrile, 24 pc            18    110.00    1,980.00
----------------------------------------------------------------------
                                     Subtotal              12,400.00
                                     VAT @ 20%              2,480.00
                                     TOTAL DUE (GBP)       14,880.00
Bank: Northern Bank plc  Sort 20-45-77  Acc 31449021  Ref INV-2024-0091
"""
sc = Scenario(
    "invoice-total-as-net", klass="provenance",
    task="Process supplier invoice INV-2024-0091 from Halvorsen Industrial Supply against PO-4471 and schedule "
         "payment of the amount due on its terms.",
    description="the extractor labels the invoice's VAT-inclusive total as the net amount; VAT is then added again",
    expected=14880.00, category="tool_output_misread",
)


@rs.tool("ocr_document")
def ocr_document(document_id: str) -> str:
    return OCR_TEXT


@rs.tool("po_lookup")
def po_lookup(po_number: str) -> dict:
    return {"po": "PO-4471", "supplier": "Halvorsen Industrial Supply Ltd", "approved_net_gbp": 12400.00, "status": "open"}


@rs.tool("vat_calc")
def vat_calc(net: float, rate_pct: float) -> dict:
    vat = round(net * rate_pct / 100, 2)
    return {"net": net, "vat": vat, "gross": round(net + vat, 2)}


_turns: dict = {}


def schedule_payment(payee: str, amount: float, currency: str, pay_on: str, reference: str) -> dict:
    args = {"payee": payee, "amount": amount, "currency": currency, "pay_on": pay_on, "reference": reference}
    with rs.tool_span("schedule_payment", call_id="call_pay_01", arguments=args) as call:
        result = {"payment_id": "PAY-58120", **args, "status": "scheduled"}
        call.set_result(result)
    return result


@rs.agent("intake")
def intake(task: str) -> dict:
    return {"text": ocr_document("scan-2024-04-03-0017.pdf"), "po": po_lookup("PO-4471")}


@rs.agent("extractor")
def extractor(doc: dict) -> dict:
    reply = sc.llm(
        [{"role": "system", "content": "Extract invoice fields as JSON: invoice_number, invoice_date (ISO), supplier, "
                                       "currency, net_amount, vat_rate_pct, terms_days."},
         {"role": "user", "content": doc["text"]}],
        '{"invoice_number": "INV-2024-0091", "invoice_date": "2024-04-02", "supplier": "Halvorsen Industrial Supply Ltd", '
        '"currency": "GBP", "net_amount": 14880.00, "vat_rate_pct": 20, "terms_days": 30}',
    )
    sc.mark_culprit(agent="extractor")
    _turns["extractor"] = rs.current_span_id()
    return json.loads(reply)


@rs.agent("vat_agent")
def vat_agent(fields: dict, po: dict) -> dict:
    rs.consumed(_turns["extractor"])
    _turns["vat_agent"] = rs.current_span_id()
    amounts = vat_calc(fields["net_amount"], fields["vat_rate_pct"])
    sc.llm(f"Write the AP ledger memo for invoice {fields['invoice_number']} (PO {po['po']}): {json.dumps(amounts)}",
           f"{fields['invoice_number']} / {po['po']}: net GBP {amounts['net']:,.2f} + VAT {fields['vat_rate_pct']}% "
           f"GBP {amounts['vat']:,.2f} = GBP {amounts['gross']:,.2f} payable to {fields['supplier']}.")
    return {**fields, **amounts}


@rs.agent("payment_scheduler")
def payment_scheduler(inv: dict) -> dict:
    rs.consumed(_turns["vat_agent"])
    pay_on = (date.fromisoformat(inv["invoice_date"]) + timedelta(days=inv["terms_days"])).isoformat()
    return schedule_payment(inv["supplier"], inv["gross"], inv["currency"], pay_on, inv["invoice_number"])


def app(sc):
    doc = intake(sc.task)
    fields = extractor(doc)
    return payment_scheduler(vat_agent(fields, doc["po"]))


def check(answer):
    if abs(answer["amount"] - 14880.00) > 0.005:
        return False, f"scheduled GBP {answer['amount']:,.2f} but invoice INV-2024-0091 totals GBP 14,880.00"
    return True, "payment matches invoice"


if __name__ == "__main__":
    sc.main(app, check)
