"""Warehouse pick-list routing: wave_planner -> slot_resolver -> route_optimizer -> picker_dispatch.

Order SO-558120 has four lines. The slot resolver reads a long text dump of the slotting table and,
for SKU-30418, copies the bin of the row below it (SKU-30419, A-14-03) instead of its own bin
C-02-11. The route optimiser sequences the bins it was given, the dispatcher sends the route to the
handheld, and the pick confirmation finds the wrong item in A-14-03.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

ORDER = {"order": "SO-558120", "wave": "WV-2024-1107-03", "dock": "DOCK-4", "lines": [
    {"line": 1, "sku": "SKU-20977", "qty": 2}, {"line": 2, "sku": "SKU-30418", "qty": 1},
    {"line": 3, "sku": "SKU-41102", "qty": 6}, {"line": 4, "sku": "SKU-51530", "qty": 1}]}
SLOTS = [
    ("SKU-20975", "B-07-01", 44), ("SKU-20976", "B-07-02", 12), ("SKU-20977", "B-07-04", 31),
    ("SKU-20978", "B-08-01", 0), ("SKU-30416", "C-02-09", 8), ("SKU-30417", "C-02-10", 17),
    ("SKU-30418", "C-02-11", 5), ("SKU-30419", "A-14-03", 22), ("SKU-30420", "A-14-04", 9),
    ("SKU-41100", "D-11-02", 60), ("SKU-41101", "D-11-03", 0), ("SKU-41102", "D-11-05", 140),
    ("SKU-41103", "D-12-01", 33), ("SKU-51529", "E-03-06", 2), ("SKU-51530", "E-03-07", 14),
    ("SKU-51531", "E-04-01", 71),
]
TRUE_BIN = {s: b for s, b, _ in SLOTS}
EXPECTED_BINS = ["B-07-04", "C-02-11", "D-11-05", "E-03-07"]

sc = Scenario(
    "pick-list-neighbour-bin", klass="provenance",
    task="Build the pick route for order SO-558120 in wave WV-2024-1107-03: resolve every line to its primary bin, "
         "sequence the bins for the shortest walk to DOCK-4, and dispatch the route to picker handheld HH-17.",
    description="the slot resolver copies SKU-30419's bin (A-14-03) for SKU-30418 from the neighbouring row of the slotting dump",
    expected=EXPECTED_BINS, category="tool_output_misread",
)


@rs.tool("get_order_lines")
def get_order_lines(order: str) -> dict:
    return ORDER


@rs.tool("slotting_export")
def slotting_export(zone: str) -> str:
    head = "SKU        | PRIMARY_BIN | ON_HAND | UOM | LAST_CYCLE_COUNT\n" + "-" * 60 + "\n"
    return head + "\n".join(f"{s:<10} | {b:<11} | {q:>7} | EA  | 2024-10-2{i % 9}" for i, (s, b, q) in enumerate(SLOTS))


@rs.tool("sequence_bins")
def sequence_bins(bins: list, dock: str) -> dict:
    order = sorted(bins)
    return {"dock": dock, "sequence": order, "walk_m": 212 + 9 * len(order), "aisles": sorted({b[0] for b in order})}


@rs.tool("dispatch_route")
def dispatch_route(handheld: str, route: dict) -> dict:
    return {"handheld": handheld, "task_id": "PT-993014", "stops": len(route["stops"]), "status": "sent"}


@rs.tool("pick_confirm")
def pick_confirm(task_id: str, stops: list) -> dict:
    res = []
    for st in stops:
        ok = TRUE_BIN[st["sku"]] == st["bin"]
        res.append({"bin": st["bin"], "sku_expected": st["sku"], "scan_ok": ok,
                    "scanned": st["sku"] if ok else next(s for s, b, _ in SLOTS if b == st["bin"])})
    return {"task_id": task_id, "results": res}


@rs.agent("wave_planner")
def wave_planner(task: str) -> dict:
    order = get_order_lines("SO-558120")
    sc.llm([{"role": "user", "content": f"{task}\n{json.dumps(order)}"}],
           "4 lines, 10 units, single-tote order. Resolve bins, then sequence.")
    return order


@rs.agent("slot_resolver")
def slot_resolver(order: dict) -> list:
    dump = slotting_export("ALL")
    reply = sc.llm(
        [{"role": "system", "content": "Map each order SKU to its PRIMARY_BIN from the export. Output a JSON list."},
         {"role": "user", "content": f"Order lines: {json.dumps(order['lines'])}\n\nSlotting export:\n{dump}"}],
        "Resolved bins:\n```json\n[{\"line\": 1, \"sku\": \"SKU-20977\", \"bin\": \"B-07-04\"},\n"
        " {\"line\": 2, \"sku\": \"SKU-30418\", \"bin\": \"A-14-03\"},\n"
        " {\"line\": 3, \"sku\": \"SKU-41102\", \"bin\": \"D-11-05\"},\n"
        " {\"line\": 4, \"sku\": \"SKU-51530\", \"bin\": \"E-03-07\"}]\n```\nAll four SKUs have stock on hand.",
    )
    sc.mark_culprit(agent="slot_resolver")
    return json.loads(re.search(r"\[.*\]", reply, re.S).group(0))


@rs.agent("route_optimizer")
def route_optimizer(stops: list) -> dict:
    seq = sequence_bins([s["bin"] for s in stops], "DOCK-4")
    by_bin = {s["bin"]: s for s in stops}
    sc.llm(f"Explain route {json.dumps(seq)}", f"Walk aisles {', '.join(seq['aisles'])} in order, {seq['walk_m']} m, end at DOCK-4.")
    return {"stops": [by_bin[b] for b in seq["sequence"]], "walk_m": seq["walk_m"]}


@rs.agent("picker_dispatch")
def picker_dispatch(route: dict) -> dict:
    job = dispatch_route("HH-17", route)
    conf = pick_confirm(job["task_id"], route["stops"])
    sc.llm(f"Pick confirmation: {json.dumps(conf)}. Summarise for the wave lead.",
           "Pick PT-993014: 3 of 4 scans matched; bin A-14-03 held SKU-30419, not SKU-30418. Order short one line.")
    return {"bins": [s["bin"] for s in route["stops"]], "confirm": conf}


def app(sc):
    order = wave_planner(sc.task)
    return picker_dispatch(route_optimizer(slot_resolver(order)))


def check(answer):
    if answer["bins"] != EXPECTED_BINS:
        return False, f"route visits {answer['bins']}; the order's primary bins are {EXPECTED_BINS}"
    return True, "route correct"


if __name__ == "__main__":
    sc.main(app, check)
