"""Trip booking assistant: the flight API's per-minute quota runs out and the 429 is never retried.

A trip planner splits the request into legs, a flight agent searches each leg, a hotel agent finds
a room and an itinerary writer puts it together. The flight API allows 2 searches a minute per
key. The outbound search first hits a 503 and is retried (that works, but it spent the quota), so
the return-leg search is refused with 429 Too Many Requests. The flight agent only retries 5xx
errors; it files the return leg as "no results" and the trip comes back without a way home.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "berlin-trip-booking", klass="structural",
    task="Book a round trip for 2 adults Lisbon (LIS) -> Berlin (BER), out Mon 14 Oct 2024, back Fri 18 Oct 2024, "
         "economy, plus a hotel near Alexanderplatz under EUR 180/night.",
    description="The return-leg flight search gets HTTP 429 (quota spent by an earlier retried 503); the agent "
                "only retries 5xx, so the itinerary has no return flight.",
    expected={"outbound": "TP 540", "return": "TP 543", "hotel": "Motel One Berlin-Alexanderplatz"},
    category="rate_limited",
)


class UpstreamError(Exception):
    """5xx from the flight API."""


class RateLimited(Exception):
    """HTTP 429 from the flight API."""


class FlightAPI:
    """The airline aggregator: 2 requests per minute per API key; the first request of the day warms a cold cache."""

    FARES = {
        ("LIS", "BER", "2024-10-14"): [
            {"flight": "TP 540", "dep": "07:05", "arr": "11:20", "stops": 0, "fare_eur": 214.0},
            {"flight": "FR 1734", "dep": "13:40", "arr": "17:55", "stops": 0, "fare_eur": 128.0, "bags": "none"},
            {"flight": "LH 1167", "dep": "10:15", "arr": "16:50", "stops": 1, "via": "FRA", "fare_eur": 256.0},
        ],
        ("BER", "LIS", "2024-10-18"): [
            {"flight": "TP 543", "dep": "18:10", "arr": "20:35", "stops": 0, "fare_eur": 198.0},
            {"flight": "FR 1735", "dep": "19:05", "arr": "21:25", "stops": 0, "fare_eur": 141.0, "bags": "none"},
        ],
    }

    def __init__(self, quota_per_minute: int = 2) -> None:
        self.quota, self.used, self.cold = quota_per_minute, 0, True

    def search(self, origin: str, dest: str, date: str, adults: int) -> list[dict]:
        self.used += 1
        if self.used > self.quota:
            raise RateLimited(f"429 Too Many Requests: key fa-7731 exceeded {self.quota} req/min; Retry-After: 38")
        if self.cold:
            self.cold = False
            raise UpstreamError("503 Service Unavailable: fare cache warming up")
        return [dict(f, total_eur=f["fare_eur"] * adults) for f in self.FARES.get((origin, dest, date), [])]


API = FlightAPI()
HOTELS = [
    {"name": "Park Inn by Radisson Alexanderplatz", "eur_night": 189, "walk_min": 2},
    {"name": "Motel One Berlin-Alexanderplatz", "eur_night": 119, "walk_min": 4},
    {"name": "Hotel Indigo Berlin East Side", "eur_night": 164, "walk_min": 17},
]


@rs.tool("search_flights")
def search_flights(origin: str, dest: str, date: str, adults: int) -> list[dict]:
    try:
        return API.search(origin, dest, date, adults)
    except RateLimited:
        sc.mark_culprit(agent=None)
        raise


@rs.tool("search_hotels")
def search_hotels(area: str, check_in: str, check_out: str, max_eur: int) -> list[dict]:
    return [h for h in HOTELS if h["eur_night"] <= max_eur and h["walk_min"] <= 10]


@rs.agent("trip_planner")
def trip_planner(task: str) -> list[dict]:
    reply = sc.llm([{"role": "system", "content": "Split travel requests into legs. Answer JSON."},
                    {"role": "user", "content": task}],
                   '[{"origin": "LIS", "dest": "BER", "date": "2024-10-14", "adults": 2},'
                   ' {"origin": "BER", "dest": "LIS", "date": "2024-10-18", "adults": 2}]')
    return json.loads(reply)


@rs.agent("flight_agent")
def flight_agent(legs: list[dict]) -> dict:
    picks = {}
    for leg in legs:
        options: list[dict] = []
        for attempt in range(3):
            try:
                options = search_flights(**leg)
                break
            except UpstreamError:
                continue  # transient on the aggregator side
            except Exception:  # anything else: treat the leg as sold out
                options = []
                break
        direct = [o for o in options if o["stops"] == 0 and "bags" not in o]
        picks[f"{leg['origin']}-{leg['dest']}"] = min(direct, key=lambda o: o["fare_eur"]) if direct else None
    summary = json.dumps(picks)
    sc.llm(f"Summarise the flight picks for the traveller: {summary}",
           "Outbound Mon 14 Oct: TP 540 LIS 07:05 -> BER 11:20, nonstop, EUR 428 for both of you with bags. "
           "For the return on Fri 18 Oct I couldn't find any flights BER -> LIS that match, so that leg is open.")
    return picks


@rs.agent("hotel_agent")
def hotel_agent() -> dict:
    rooms = search_hotels("Alexanderplatz, Berlin", "2024-10-14", "2024-10-18", 180)
    best = min(rooms, key=lambda h: h["eur_night"])
    sc.llm(f"Pick a hotel from {json.dumps(rooms)}",
           f"{best['name']} is the best fit: EUR {best['eur_night']}/night, {best['walk_min']} minutes' walk "
           "from Alexanderplatz, 4 nights.")
    return best


@rs.agent("itinerary_writer")
def itinerary_writer(flights: dict, hotel: dict) -> dict:
    ret = flights.get("BER-LIS")
    sc.llm(f"Write the itinerary. Flights: {json.dumps(flights)} Hotel: {hotel['name']}",
           "Your Berlin trip, 14-18 Oct:\n- Mon 14 Oct: TP 540, LIS 07:05 -> BER 11:20\n"
           f"- Hotel: {hotel['name']}, 4 nights\n- Fri 18 Oct: no return flight available on this date; "
           "you could take the ICE to Frankfurt and fly from there, or I can look at Saturday.")
    return {"outbound": flights["LIS-BER"]["flight"], "return": ret["flight"] if ret else None, "hotel": hotel["name"]}


def app(sc):
    legs = trip_planner(sc.task)
    flights = flight_agent(legs)
    hotel = hotel_agent()
    return itinerary_writer(flights, hotel)


def check(answer) -> tuple[bool, str]:
    if answer == sc.expected:
        return True, "round trip and hotel booked"
    return False, f"itinerary {answer} is not a complete round trip (expected {sc.expected})"


if __name__ == "__main__":
    sc.main(app, check)
