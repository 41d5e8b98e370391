"""Corporate travel desk: trip_planner -> booker -> itinerary_writer.

The traveller's budget is USD 600 all-in (fare plus one checked bag each way), with a soft
preference for morning departures. Search returns twelve itineraries, several of them morning
departures that fit. The planner lets the preference override the budget and picks the 07:05
nonstop at USD 689 before bags. The booker books exactly that and the itinerary writer correctly
converts times to Mountain Time and adds the 2 x USD 35 bag fees: USD 759 total.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

_RAW = [  # id, carrier, outbound, depart, arrive(local), stops, return flight, return depart, fare
    ("F1", "UA", "UA 1423", "07:05", "09:58", 0, "UA 2210", "17:40", 689.00),
    ("F2", "UA", "UA 388 / UA 1712", "06:10", "11:02", 1, "UA 903", "13:15", 512.40),
    ("F3", "DL", "DL 1190 / DL 2231", "08:30", "13:20", 1, "DL 1644", "15:05", 548.90),
    ("F4", "WN", "WN 2876 / WN 1120", "09:45", "15:30", 1, "WN 3302", "12:20", 431.00),
    ("F5", "B6", "B6 1779", "13:55", "16:40", 0, "B6 1780", "18:10", 574.20),
    ("F6", "AA", "AA 1501 / AA 2764", "05:50", "10:31", 1, "AA 1099", "08:45", 467.70),
    ("F7", "F9", "F9 2041", "17:20", "20:05", 0, "F9 2040", "10:30", 318.00),
    ("F8", "UA", "UA 2250", "16:35", "19:21", 0, "UA 1999", "07:15", 603.10),
    ("F9", "DL", "DL 871 / DL 1432", "11:15", "16:02", 1, "DL 2101", "19:35", 529.00),
    ("F10", "AA", "AA 209 / AA 3107", "07:40", "12:55", 1, "AA 1848", "14:10", 495.30),
    ("F11", "WN", "WN 844 / WN 2913", "06:00", "11:45", 1, "WN 1455", "16:50", 458.60),
    ("F12", "B6", "B6 879 / B6 2211", "10:05", "15:12", 1, "B6 2216", "11:30", 536.80),
]
BAG_FEE = {"UA": 35, "DL": 35, "AA": 35, "B6": 35, "WN": 0, "F9": 55}
OPTIONS = [{"id": i, "carrier": c, "outbound": {"flights": o, "depart_BOS": d, "arrive_DEN": a, "stops": s},
            "return": {"flights": r, "depart_DEN": rd}, "fare_usd": f, "checked_bag_usd_each_way": BAG_FEE[c],
            "fare_class": "Main Cabin" if c != "F9" else "Basic", "refundable": False}
           for i, c, o, d, a, s, r, rd, f in _RAW]
sc = Scenario(
    "flight-over-budget", klass="constraint",
    task="Book a round trip Boston (BOS) to Denver (DEN), out 2024-11-04, back 2024-11-07, economy, for Priya Raman. "
         "Budget: USD 600 total including one checked bag each way. Morning departures preferred.",
    description="the planner picks a USD 689 morning nonstop over the USD 600 all-in budget; later agents book it faithfully",
    category="disobey_task_spec",
)


@rs.tool("flight_search")
def flight_search(origin: str, destination: str, depart: str, ret: str, cabin: str) -> list:
    return OPTIONS


@rs.tool("book_flight")
def book_flight(option_id: str, passenger: str) -> dict:
    opt = next(o for o in OPTIONS if o["id"] == option_id)
    return {"record_locator": "KX7Q2M", "option": option_id, "fare_usd": opt["fare_usd"], "passenger": passenger,
            "ticket": "016-2398471620", "status": "ticketed"}


@rs.tool("add_bags")
def add_bags(record_locator: str, bags_each_way: int) -> dict:
    return {"record_locator": record_locator, "bags_each_way": bags_each_way, "status": "added"}


@rs.agent("trip_planner")
def trip_planner(task: str) -> str:
    options = flight_search("BOS", "DEN", "2024-11-04", "2024-11-07", "economy")
    reply = sc.llm(
        [{"role": "system", "content": "You are the travel planner. Choose one itinerary id."},
         {"role": "user", "content": f"{task}\n\nOptions:\n{json.dumps(options, indent=1)}"}],
        "Recommendation: **F1**, United nonstop UA 1423 departing 07:05, back on UA 2210 at 17:40.\n\n"
        "- It's the only nonstop morning departure, so it best matches the traveller's preference\n"
        "- Fare USD 689.00, Main Cabin\n- Connecting morning options add 2-3 hours of travel time\n\n"
        "Selected option: F1",
    )
    sc.mark_culprit(agent="trip_planner")
    return re.search(r"Selected option: (F\d+)", reply).group(1)


@rs.agent("booker")
def booker(option_id: str) -> dict:
    booking = book_flight(option_id, "Priya Raman")
    add_bags(booking["record_locator"], 1)
    return booking


@rs.agent("itinerary_writer")
def itinerary_writer(booking: dict) -> dict:
    opt = next(o for o in OPTIONS if o["id"] == booking["option"])
    total = booking["fare_usd"] + 2 * opt["checked_bag_usd_each_way"]
    sc.llm(f"Write the itinerary email for {json.dumps(booking)} / {json.dumps(opt)}",
           f"**Itinerary {booking['record_locator']}**: Priya Raman\n- Mon 4 Nov: {opt['outbound']['flights']} BOS "
           f"{opt['outbound']['depart_BOS']} ET -> DEN {opt['outbound']['arrive_DEN']} MT\n- Thu 7 Nov: "
           f"{opt['return']['flights']} DEN {opt['return']['depart_DEN']} MT -> BOS\n\nFare USD {booking['fare_usd']:,.2f} + "
           f"bags 2 x USD {opt['checked_bag_usd_each_way']} = **USD {total:,.2f}**")
    return {**booking, "total_usd": total}


def app(sc):
    return itinerary_writer(booker(trip_planner(sc.task)))


def check(answer):
    if answer["total_usd"] > 600:
        return False, f"booked trip costs USD {answer['total_usd']:,.2f}, over the USD 600 budget"
    return True, "within budget"


if __name__ == "__main__":
    sc.main(app, check)
