"""Travel expense report, one extraction turn per receipt: collector -> extractor (x8) -> fx -> aggregator -> auditor.

Eight Tokyo receipts are OCR'd and extracted one by one. Yen has no minor unit, but on the hotel
receipt (R-05, "TOTAL JPY 183,900") the extractor treats the last two digits as decimals and records
1,839.00. The FamilyMart receipt R-06 really is JPY 1,839 and is read correctly. The FX agent
converts every line at the day's rate and the aggregator totals by category, both correctly; the
auditor finds the report USD 1,216 short of the corporate card statement.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from harness import Scenario
import rootspan.tracer as rs

RECEIPTS = {  # receipt id -> (merchant, date, JPY total, category)
    "R-01": ("JR East Narita Express", "2024-04-08", 3070, "transport"),
    "R-02": ("Ichiran Shibuya", "2024-04-08", 2340, "meals"),
    "R-03": ("Nihon Kotsu Taxi", "2024-04-09", 4280, "transport"),
    "R-04": ("Gonpachi Nishi-Azabu", "2024-04-09", 38500, "client entertainment"),
    "R-05": ("Hotel Gracery Shinjuku", "2024-04-11", 183900, "lodging"),
    "R-06": ("FamilyMart Shinjuku 3-chome", "2024-04-11", 1839, "meals"),
    "R-07": ("JR East Suica top-up", "2024-04-10", 5000, "transport"),
    "R-08": ("Kinokuniya Shinjuku", "2024-04-10", 3960, "supplies"),
}
USD_PER_JPY = 0.00668
sc = Scenario(
    "receipt-yen-decimals", klass="provenance",
    task="Build the expense report for trip TRP-2024-117 (Tokyo, 8-11 April 2024) from the 8 uploaded receipts, in USD "
         "at the 2024-04-11 rate, grouped by category, and reconcile it with the corporate card statement.",
    description="the extractor reads the hotel receipt's JPY 183,900 as 1,839.00, treating yen digits as decimals",
    category="tool_output_misread",
)
EXTRACTIONS = {
    "R-01": '{"merchant": "JR East Narita Express", "date": "2024-04-08", "currency": "JPY", "amount": 3070, "category": "transport"}',
    "R-02": '{"merchant": "Ichiran Shibuya", "date": "2024-04-08", "currency": "JPY", "amount": 2340, "category": "meals"}',
    "R-03": '{"merchant": "Nihon Kotsu Taxi", "date": "2024-04-09", "currency": "JPY", "amount": 4280, "category": "transport"}',
    "R-04": '{"merchant": "Gonpachi Nishi-Azabu", "date": "2024-04-09", "currency": "JPY", "amount": 38500, "category": "client entertainment"}',
    "R-05": '{"merchant": "Hotel Gracery Shinjuku", "date": "2024-04-11", "currency": "JPY", "amount": 1839.00, "category": "lodging"}',
    "R-06": '{"merchant": "FamilyMart Shinjuku 3-chome", "date": "2024-04-11", "currency": "JPY", "amount": 1839, "category": "meals"}',
    "R-07": '{"merchant": "JR East Suica top-up", "date": "2024-04-10", "currency": "JPY", "amount": 5000, "category": "transport"}',
    "R-08": '{"merchant": "Kinokuniya Shinjuku", "date": "2024-04-10", "currency": "JPY", "amount": 3960, "category": "supplies"}',
}


@rs.tool("list_receipts")
def list_receipts(trip_id: str) -> list:
    return [f"{rid}.jpg" for rid in RECEIPTS]


@rs.tool("ocr_receipt")
def ocr_receipt(file: str) -> str:
    merchant, day, total, _ = RECEIPTS[file.split(".")[0]]
    tax = round(total - total / 1.1)
    return (f"{merchant}\n{day.replace('-', '/')} 19:42  Reg 02  No.{sum(map(ord, merchant)) % 9000 + 1000:04d}\n"
            f"SUBTOTAL      {total - tax:,}\nTAX (10%)     {tax:,}\nTOTAL JPY     {total:,}\nCARD  VISA ****4417")


@rs.tool("fx_rate")
def fx_rate(base: str, quote: str, date: str) -> float:
    return USD_PER_JPY


@rs.tool("card_statement")
def card_statement(card: str, start: str, end: str) -> dict:
    lines = [{"merchant": m, "date": d, "usd": round(j * USD_PER_JPY, 2)} for m, d, j, _ in RECEIPTS.values()]
    return {"card": card, "lines": lines, "total_usd": round(sum(l["usd"] for l in lines), 2)}


@rs.agent("collector")
def collector(task: str) -> list:
    return list_receipts("TRP-2024-117")


@rs.agent("extractor")
def extractor(file: str) -> dict:
    text = ocr_receipt(file)
    rid = file.split(".")[0]
    reply = sc.llm([{"role": "system", "content": "Extract merchant, date, currency, amount, category as JSON."},
                    {"role": "user", "content": text}], EXTRACTIONS[rid])
    if rid == "R-05":
        sc.mark_culprit(agent="extractor")
    return {"receipt": rid, **json.loads(reply)}


@rs.agent("fx")
def fx(lines: list) -> list:
    rate = fx_rate("JPY", "USD", "2024-04-11")
    return [{**l, "usd": round(l["amount"] * rate, 2)} for l in lines]


@rs.agent("aggregator")
def aggregator(lines: list) -> dict:
    by_cat: dict = {}
    for l in lines:
        by_cat[l["category"]] = round(by_cat.get(l["category"], 0) + l["usd"], 2)
    total = round(sum(by_cat.values()), 2)
    table = "\n".join(f"| {c} | ${v:,.2f} |" for c, v in by_cat.items())
    sc.llm(f"Format the expense summary for TRP-2024-117:\n{json.dumps(by_cat)}",
           f"**TRP-2024-117 Tokyo, 8-11 Apr 2024** (JPY->USD @ {USD_PER_JPY})\n\n| Category | USD |\n|---|---|\n{table}\n"
           f"| **Total** | **${total:,.2f}** |")
    return {"by_category": by_cat, "total_usd": total}


@rs.agent("auditor")
def auditor(report: dict) -> dict:
    stmt = card_statement("VISA-4417", "2024-04-08", "2024-04-11")
    diff = round(stmt["total_usd"] - report["total_usd"], 2)
    sc.llm(f"Report total ${report['total_usd']:,.2f}; card statement ${stmt['total_usd']:,.2f}. Reconcile.",
           f"Does not reconcile: the card statement is ${diff:,.2f} higher than the report. Returning to the submitter.")
    return {**report, "statement_usd": stmt["total_usd"]}


def app(sc):
    files = collector(sc.task)
    lines = [extractor(f) for f in files]
    return auditor(aggregator(fx(lines)))


def check(answer):
    if abs(answer["total_usd"] - answer["statement_usd"]) > 0.05:
        return False, f"report ${answer['total_usd']:,.2f} vs card statement ${answer['statement_usd']:,.2f}"
    return True, "reconciled"


if __name__ == "__main__":
    sc.main(app, check)
