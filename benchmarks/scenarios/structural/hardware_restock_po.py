"""Weekly restock desk for a hardware store: a swallowed WMS error becomes "0 units on hand".

A planner picks the SKUs due for this week's review from the store catalogue (a long CSV), a
stock checker asks the warehouse system for each SKU's on-hand and inbound units, a purchaser
drafts the purchase order and an approver signs it off. The warehouse tool wraps its record
parsing in a broad ``except Exception`` that returns zero stock; HX-2207-B's record was migrated
from the old WMS with ``lots: null`` (only a total), so the tool reports 0 units instead of 140,
and the PO reorders 150 bolts the store already has. Every step after it carries the 0 faithfully.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import csv
import io
import json

from harness import Scenario
import rootspan.tracer as rs

STORE, WEEK = "ST-104", "W37"
REVIEWED = [  # sku, description, reorder point, order qty, supplier
    ("HX-2207-B", "hex bolt M8x40 zinc, box 50", 90, 150, "Fastenal-EU"),
    ("WS-0418", "flat washer M8 DIN125, box 200", 300, 400, "Fastenal-EU"),
    ("DS-1150", "drywall screw 3.5x35, box 1000", 40, 60, "Spax"),
    ("AN-3310", "nylon anchor 8mm, box 100", 80, 120, "Fischer"),
    ("CB-0075", "cable tie 200x4.8 black, bag 100", 150, 200, "Hellermann"),
    ("HX-2290", "hex bolt M10x60 A2, box 25", 30, 50, "Fastenal-EU"),
]


def _catalogue_csv() -> str:
    rows = ["sku,description,category,reorder_point,order_qty,supplier,review_week"]
    for sku, desc, rop, qty, supplier in REVIEWED:
        rows.append(f"{sku},{desc.replace(',', ';')},fasteners,{rop},{qty},{supplier},{WEEK}")
    families = [("PL", "plumbing fitting"), ("EL", "electrical box"), ("PT", "paint roller"), ("GL", "glue cartridge")]
    for i in range(64):  # the rest of the aisle, reviewed on other weeks
        fam, desc = families[i % 4]
        rows.append(f"{fam}-{3000 + 13 * i},{desc} #{i + 1},{fam.lower()},{20 + i % 9 * 5},{40 + i % 5 * 10},"
                    f"Wuerth,W{38 + i % 3}")
    return "\n".join(rows) + "\n"


WMS = {  # raw JSON the warehouse system returns per SKU
    "HX-2207-B": '{"sku": "HX-2207-B", "site": "ST-104", "lots": null, "on_hand_total": 140, '
                 '"inbound": [], "migrated_from": "wms-legacy-2019"}',
    "WS-0418": '{"sku": "WS-0418", "site": "ST-104", "lots": [{"lot": "L-0912", "qty": 80}, '
               '{"lot": "L-0977", "qty": 40}], "inbound": []}',
    "DS-1150": '{"sku": "DS-1150", "site": "ST-104", "lots": [{"lot": "L-1204", "qty": 35}], '
               '"inbound": [{"po": "PO-7781", "qty": 60, "eta": "2024-09-16"}]}',
    "AN-3310": '{"sku": "AN-3310", "site": "ST-104", "lots": [{"lot": "L-0450", "qty": 22}], "inbound": []}',
    "CB-0075": '{"sku": "CB-0075", "site": "ST-104", "lots": [{"lot": "L-2201", "qty": 180}], "inbound": []}',
    "HX-2290": '{"sku": "HX-2290", "site": "ST-104", "lots": [{"lot": "L-3317", "qty": 12}, '
               '{"lot": "L-3318", "qty": 25}], "inbound": []}',
}
CORRECT_PO = {"WS-0418": 400, "AN-3310": 120}

sc = Scenario(
    "hardware-restock-po", klass="structural",
    task=f"Prepare the {WEEK} restock purchase order for store {STORE}: reorder every reviewed SKU whose "
         "on-hand plus inbound units are below its reorder point, and nothing else.",
    description="The warehouse tool swallows a parse error on HX-2207-B's migrated record and reports 0 units, "
                "so the PO reorders 150 bolts the store already has.",
    expected=CORRECT_PO, category="tool_error",
)


@rs.tool("load_catalogue")
def load_catalogue(store: str) -> str:
    return _catalogue_csv()


@rs.tool("warehouse_stock")
def warehouse_stock(sku: str, site: str) -> dict:
    try:
        record = json.loads(WMS[sku])
        on_hand = sum(lot["qty"] for lot in record["lots"])
        inbound = sum(item["qty"] for item in record["inbound"])
        return {"sku": sku, "on_hand": on_hand, "inbound": inbound}
    except Exception:  # the WMS client is flaky; never let one SKU break the whole review
        sc.mark_culprit(agent=None)
        return {"sku": sku, "on_hand": 0, "inbound": 0}


@rs.tool("create_purchase_order")
def create_purchase_order(store: str, lines: dict) -> dict:
    return {"po_number": "PO-ST104-0913", "store": store, "lines": lines, "status": "draft"}


@rs.agent("planner")
def planner(task: str) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(load_catalogue(STORE))))
    due = [row for row in rows if row["review_week"] == WEEK]
    sc.llm([{"role": "system", "content": "You plan the weekly stock review."},
            {"role": "user", "content": f"{task}\nCatalogue has {len(rows)} rows; due this week: "
                                        + ", ".join(r["sku"] for r in due)}],
           "Six SKUs are up for the W37 review at ST-104: HX-2207-B, WS-0418, DS-1150, AN-3310, CB-0075 and "
           "HX-2290. All fasteners, so I'll pass the whole list to stock check in one go.")
    return due


@rs.agent("stock_checker")
def stock_checker(due: list[dict]) -> list[dict]:
    report = []
    for row in due:
        stock = warehouse_stock(row["sku"], STORE)
        report.append({**stock, "reorder_point": int(row["reorder_point"]), "order_qty": int(row["order_qty"])})
    return report


@rs.agent("purchaser")
def purchaser(report: list[dict]) -> dict:
    lines = {r["sku"]: r["order_qty"] for r in report if r["on_hand"] + r["inbound"] < r["reorder_point"]}
    table = "\n".join(f"{r['sku']}: on hand {r['on_hand']}, inbound {r['inbound']}, ROP {r['reorder_point']}"
                      for r in report)
    sc.llm(f"Draft the restock PO from this stock report:\n{table}",
           "Going line by line against the reorder points:\n"
           "1. HX-2207-B: 0 on hand, nothing inbound, ROP 90 -> reorder 150.\n"
           "2. WS-0418: 120 on hand, ROP 300 -> reorder 400.\n"
           "3. DS-1150: 35 on hand + 60 inbound on PO-7781 = 95, above ROP 40 -> skip.\n"
           "4. AN-3310: 22 on hand, ROP 80 -> reorder 120.\n"
           "5. CB-0075: 180 on hand, ROP 150 -> skip.\n"
           "6. HX-2290: 37 on hand, ROP 30 -> skip.\n"
           "PO: HX-2207-B x150, WS-0418 x400, AN-3310 x120.")
    return create_purchase_order(STORE, lines)


@rs.agent("approver")
def approver(po: dict) -> dict:
    reply = sc.llm(f"Approve or reject this purchase order: {json.dumps(po)}",
                   "PO-ST104-0913 has three lines, all from the weekly review list and all with quantities that "
                   "match the catalogue order sizes. Approved.")
    return {**po, "status": "approved" if "Approved" in reply else "rejected"}


def app(sc):
    due = planner(sc.task)
    report = stock_checker(due)
    po = purchaser(report)
    return approver(po)["lines"]


def check(answer) -> tuple[bool, str]:
    if answer == CORRECT_PO:
        return True, "PO matches the stock position"
    extra = sorted(set(answer) - set(CORRECT_PO))
    return False, f"PO lines {answer} differ from the needed {CORRECT_PO}; unneeded: {extra}"


if __name__ == "__main__":
    sc.main(app, check)
