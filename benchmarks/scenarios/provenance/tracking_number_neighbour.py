"""Customer-support logistics desk: triage -> logistics -> eta_planner -> reply_writer.

A customer asks where order ORD-5521 is. Logistics pulls the customer's four shipments (a long
JSON dump) and tracks the right parcel (the first carrier call times out and is retried); the ETA
planner correctly works out Thursday 17 October from the remaining distance and depot dwell. The
reply writer, composing the answer from the shipment list, pastes the tracking number of the row
above (ORD-5520's parcel), so the customer is sent a link to someone else's delivery.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re
from datetime import datetime, timedelta

from harness import Scenario
import rootspan.tracer as rs

SHIPMENTS = [
    {"order": "ORD-5507", "tracking": "1Z9A7W360312884410", "carrier": "UPS", "status": "delivered", "delivered": "2024-09-28",
     "items": [{"sku": "LMP-220-WHT", "qty": 2}], "weight_kg": 3.4},
    {"order": "ORD-5520", "tracking": "1Z9A7W360312884427", "carrier": "UPS", "status": "in_transit",
     "items": [{"sku": "CHR-KX400", "qty": 1}], "weight_kg": 21.0, "last_scan": "Columbus OH 2024-10-15T22:10"},
    {"order": "ORD-5521", "tracking": "1Z9A7W360312884435", "carrier": "UPS", "status": "in_transit",
     "items": [{"sku": "DSK-1460-OAK", "qty": 1}, {"sku": "CBL-0457", "qty": 3}], "weight_kg": 38.5,
     "last_scan": "Louisville KY 2024-10-15T19:42"},
    {"order": "ORD-5534", "tracking": None, "carrier": "UPS", "status": "label_created", "items": [{"sku": "MAT-090", "qty": 1}],
     "weight_kg": 1.2},
]
for s in SHIPMENTS:  # the shop's API returns full event histories; keep them in the dump
    s["events"] = [{"ts": f"2024-10-1{i}T0{i}:15", "code": c, "facility": f} for i, (c, f) in
                   enumerate([("MANIFEST", "Reno NV"), ("ORIGIN_SCAN", "Reno NV"), ("DEPART", "Sparks NV"),
                              ("ARRIVE", "Salt Lake City UT"), ("DEPART", "Salt Lake City UT")], start=1)]
sc = Scenario(
    "tracking-number-neighbour", klass="provenance",
    task="Customer CUST-30417 asks: 'Where is my order ORD-5521 and when will it arrive?' Reply with the tracking "
         "number and the expected delivery day.",
    description="the reply writer copies ORD-5520's tracking number from the adjacent row of the shipment list",
    expected={"tracking": "1Z9A7W360312884435", "eta": "2024-10-17"}, category="tool_output_misread",
)
_track_calls = {"n": 0}
_turns: dict = {}


@rs.tool("customer_shipments")
def customer_shipments(customer_id: str) -> list:
    return SHIPMENTS


@rs.tool("carrier_track")
def carrier_track(tracking: str) -> dict:
    _track_calls["n"] += 1
    if _track_calls["n"] == 1:
        raise TimeoutError("ups-tracking: read timeout after 8.0s")
    return {"tracking": tracking, "status": "in_transit", "at": "Louisville KY hub", "scanned": "2024-10-15T19:42",
            "next_facility": "Columbus OH hub", "remaining_km": 412, "service": "UPS Ground"}


@rs.agent("triage")
def triage(task: str) -> str:
    reply = sc.llm(task, "Intent: order_status (ORD-5521). Routing to logistics.")
    rs.handoff(to="logistics", reason="order status question for ORD-5521")
    return reply


@rs.agent("logistics")
def logistics(order_id: str) -> tuple:
    _turns["logistics"] = rs.current_span_id()
    shipments = customer_shipments("CUST-30417")
    mine = next(s for s in shipments if s["order"] == order_id)
    for attempt in range(3):
        try:
            return shipments, carrier_track(mine["tracking"])
        except TimeoutError:
            continue


@rs.agent("eta_planner")
def eta_planner(track: dict) -> str:
    _turns["eta_planner"] = rs.current_span_id()
    drive_h = track["remaining_km"] / 65
    dwell_h = 18
    at_depot = datetime.fromisoformat(track["scanned"]) + timedelta(hours=drive_h + dwell_h)
    day = at_depot.date() + timedelta(days=1 if at_depot.hour >= 18 else 0)
    sc.llm(f"Remaining {track['remaining_km']} km at 65 km/h plus {dwell_h} h hub dwell from {track['scanned']}. "
           "Local delivery cut-off is 18:00.",
           f"{track['remaining_km']} km / 65 km/h = {drive_h:.1f} h driving + {dwell_h} h dwell puts it at the "
           f"destination depot around {at_depot:%A %d %B %H:%M}, after the 18:00 cut-off, so delivery on "
           f"{day:%A %d %B}.")
    return day.isoformat()


@rs.agent("reply_writer")
def reply_writer(shipments: list, eta: str) -> dict:
    rs.consumed(_turns["logistics"], _turns["eta_planner"])
    reply = sc.llm(
        f"Write the customer reply for ORD-5521 with tracking number and ETA {eta}.\nShipments:\n{json.dumps(shipments, indent=1)}",
        "Hi! Your order **ORD-5521** (oak desk DSK-1460-OAK and 3 cables) is on its way with UPS Ground. It was last "
        "scanned at the Louisville KY hub and should arrive on **Thursday, 17 October**.\n\n"
        "Tracking number: **1Z9A7W360312884427**. You can follow it at ups.com/track.",
    )
    sc.mark_culprit(agent="reply_writer")
    tracking = re.search(r"Tracking number: \*\*(\w+)\*\*", reply).group(1)
    return {"tracking": tracking, "eta": eta, "text": reply}


def app(sc):
    triage(sc.task)
    shipments, track = logistics("ORD-5521")
    eta = eta_planner(track)
    return reply_writer(shipments, eta)


def check(answer):
    if answer["tracking"] != "1Z9A7W360312884435":
        return False, f"reply gives tracking {answer['tracking']}, which belongs to ORD-5520"
    if answer["eta"] != "2024-10-17":
        return False, f"reply gives ETA {answer['eta']}"
    return True, "ok"


if __name__ == "__main__":
    sc.main(app, check)
