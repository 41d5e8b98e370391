"""Freight dispatch: dispatcher -> rate_shopper -> mode_planner -> label_agent -> notifier.

A pallet must leave Memphis on Tue 19 Nov 2024 and reach Portland by Fri 22 Nov; cheapest option
that meets the date. The rate shopper's first carrier call fails with a 503 and is retried; it
computes the pallet's density correctly and gets five quotes. The planner optimises for cost
alone and picks LTL Economy (5 business days). The label agent books that service and the
notifier correctly computes the delivery date it implies, Tue 26 Nov: four days late.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re
from datetime import date, timedelta

from harness import Scenario
import rootspan.tracer as rs

QUOTES = [
    {"service": "LTL-ECON", "carrier": "Ridgeline Freight", "transit_business_days": 5, "price_usd": 418.60},
    {"service": "LTL-STD", "carrier": "Ridgeline Freight", "transit_business_days": 4, "price_usd": 472.15},
    {"service": "LTL-GTD3", "carrier": "Cascade Linehaul", "transit_business_days": 3, "price_usd": 611.90, "guaranteed": True},
    {"service": "TL-EXPEDITE", "carrier": "Cascade Linehaul", "transit_business_days": 2, "price_usd": 1840.00},
    {"service": "AIR-2DAY", "carrier": "SkyCargo", "transit_business_days": 2, "price_usd": 2265.40},
]
sc = Scenario(
    "freight-misses-deadline", klass="constraint",
    task="Ship order SO-44817 (1 pallet, 182 kg, 120 x 80 x 110 cm, spare parts) from Memphis TN 38118 to Portland OR "
         "97218. Pickup Tue 2024-11-19; it must arrive by Fri 2024-11-22. Choose the cheapest service that meets the date.",
    description="the mode planner picks the cheapest 5-day LTL service, which cannot arrive by the 22 November deadline",
    category="disobey_task_spec",
)
_calls = {"n": 0}


@rs.tool("carrier_quotes")
def carrier_quotes(origin_zip: str, dest_zip: str, weight_kg: float, freight_class: str, pickup: str) -> list:
    _calls["n"] += 1
    if _calls["n"] == 1:
        raise ConnectionError("rating-gateway: 503 Service Unavailable (carrier Cascade Linehaul)")
    return QUOTES


@rs.tool("create_shipment")
def create_shipment(order: str, service: str, pickup: str) -> dict:
    q = next(q for q in QUOTES if q["service"] == service)
    return {"bol": "BOL-7720194", "pro_number": "RF-55102339", "service": service, "carrier": q["carrier"],
            "pickup": pickup, "transit_business_days": q["transit_business_days"], "price_usd": q["price_usd"]}


def add_business_days(start: date, n: int) -> date:
    d = start
    while n:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


@rs.agent("dispatcher")
def dispatcher(task: str) -> dict:
    return json.loads(sc.llm(task, '{"order": "SO-44817", "origin_zip": "38118", "dest_zip": "97218", "weight_kg": 182, '
                                   '"dims_cm": [120, 80, 110], "pickup": "2024-11-19", "deliver_by": "2024-11-22"}'))


@rs.agent("rate_shopper")
def rate_shopper(req: dict) -> list:
    volume = req["dims_cm"][0] * req["dims_cm"][1] * req["dims_cm"][2] / 1e6
    density_lb_ft3 = (req["weight_kg"] * 2.20462) / (volume * 35.3147)
    freight_class = "85" if density_lb_ft3 >= 10.5 else "100"
    for attempt in range(3):
        try:
            return carrier_quotes(req["origin_zip"], req["dest_zip"], req["weight_kg"], freight_class, req["pickup"])
        except ConnectionError:
            continue


@rs.agent("mode_planner")
def mode_planner(req: dict, quotes: list) -> str:
    reply = sc.llm(
        f"Shipment {json.dumps(req)}\nQuotes:\n" + "\n".join(json.dumps(q) for q in quotes) + "\nChoose a service.",
        "| service | days | USD |\n|---|---|---|\n" + "\n".join(f"| {q['service']} | {q['transit_business_days']} | "
        f"{q['price_usd']:,.2f} |" for q in quotes) + "\n\nCheapest option is **LTL-ECON** with Ridgeline at $418.60, "
        "saving $53.55 over standard LTL. Go with LTL-ECON.",
    )
    sc.mark_culprit(agent="mode_planner")
    return re.search(r"Go with (\S+?)\.", reply).group(1)


@rs.agent("label_agent")
def label_agent(req: dict, service: str) -> dict:
    return create_shipment(req["order"], service, req["pickup"])


@rs.agent("notifier")
def notifier(shipment: dict) -> dict:
    eta = add_business_days(date.fromisoformat(shipment["pickup"]), shipment["transit_business_days"])
    sc.llm(f"Tell the customer: {json.dumps(shipment)}, estimated delivery {eta}",
           f"SO-44817 is booked with {shipment['carrier']} (PRO {shipment['pro_number']}, BOL {shipment['bol']}), picking up "
           f"Tue 19 Nov. Estimated delivery: **{eta:%a %d %b}**.")
    return {**shipment, "eta": eta.isoformat()}


def app(sc):
    req = dispatcher(sc.task)
    service = mode_planner(req, rate_shopper(req))
    return notifier(label_agent(req, service))


def check(answer):
    if answer["eta"] > "2024-11-22":
        return False, f"{answer['service']} delivers {answer['eta']}, after the 2024-11-22 deadline"
    return True, "on time"


if __name__ == "__main__":
    sc.main(app, check)
