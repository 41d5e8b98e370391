"""Dinner-booking concierge (traced with OpenInference): the geocoder times out, the search drifts to Dam Square.

A concierge agent geocodes the landmark and searches restaurants around it; a booking agent
reserves a table. The geocoding provider is slow today and the tool's 200 ms deadline expires
(a real ``concurrent.futures`` timeout). The concierge's code falls back to the city's default
coordinates (Dam Square), so the "nearest" restaurant with a free table is 1.8 km from the
Rijksmuseum. Short run; spans come from OpenInference's OITracer.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout

from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes
from openinference.semconv.trace import SpanAttributes
from opentelemetry import trace

from harness import Scenario

tracer = OITracer(trace.get_tracer("concierge"), config=TraceConfig())
RIJKSMUSEUM = (52.3600, 4.8852)
CITY_DEFAULT = {"Amsterdam": (52.3731, 4.8926)}  # Dam Square
RESTAURANTS = [
    {"name": "De Museumkeuken", "lat": 52.3589, "lon": 4.8830, "free_1930": 4},
    {"name": "Bistro Spiegel", "lat": 52.3622, "lon": 4.8880, "free_1930": 6},
    {"name": "Cafe Damrak 21", "lat": 52.3745, "lon": 4.8957, "free_1930": 4},
    {"name": "Het Nieuwmarktje", "lat": 52.3727, "lon": 4.9003, "free_1930": 0},
]

sc = Scenario(
    "amsterdam-dinner-concierge", klass="structural",
    task="Book dinner for 4 on Friday 11 Oct 2024 at 19:30 within walking distance (under 1 km) of the "
         "Rijksmuseum, Amsterdam.",
    description="The geocoding call times out and the concierge falls back to the city-centre coordinates, so "
                "it books a restaurant 1.8 km from the Rijksmuseum.",
    expected="a table within 1 km of the Rijksmuseum", category="timeout",
)


def km(a: tuple, b: tuple) -> float:
    dlat, dlon = math.radians(b[0] - a[0]), math.radians(b[1] - a[1])
    h = math.sin(dlat / 2) ** 2 + math.cos(math.radians(a[0])) * math.cos(math.radians(b[0])) * math.sin(dlon / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(h))


def slow_provider(query: str) -> tuple:
    time.sleep(0.4)  # provider p99 today
    return RIJKSMUSEUM


def llm(prompt: str, reply: str) -> str:
    with tracer.start_as_current_span("ChatCompletion", openinference_span_kind="llm") as span:
        span.set_input(prompt)
        span.set_attributes(get_llm_attributes(
            provider="anthropic", model_name="claude-3-5-haiku",
            input_messages=[{"role": "user", "content": prompt}],
            output_messages=[{"role": "assistant", "content": reply}],
            token_count={"prompt": len(prompt.split()), "completion": len(reply.split())}))
        span.set_output(reply)
    return reply


def geocode(place: str) -> tuple:
    with tracer.start_as_current_span("geocode", openinference_span_kind="tool") as span:
        span.set_tool(name="geocode", parameters={"place": place, "timeout_s": 0.2})
        span.set_input(json.dumps({"place": place}))
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                coords = pool.submit(slow_provider, place).result(timeout=0.2)
            except FutureTimeout as exc:
                sc.mark_culprit(agent=None)
                raise TimeoutError(f"geocode({place!r}) exceeded 0.2s deadline") from exc
        span.set_output(json.dumps(coords))
        return coords


def search_restaurants(lat: float, lon: float, party: int, time_slot: str) -> list[dict]:
    with tracer.start_as_current_span("search_restaurants", openinference_span_kind="tool") as span:
        args = {"lat": lat, "lon": lon, "party": party, "time": time_slot}
        span.set_tool(name="search_restaurants", parameters=args)
        span.set_input(json.dumps(args))
        hits = sorted(({"name": r["name"], "km": round(km((lat, lon), (r["lat"], r["lon"])), 2)}
                       for r in RESTAURANTS if r["free_1930"] >= party), key=lambda h: h["km"])
        span.set_output(json.dumps(hits))
        return hits


def concierge(task: str) -> dict:
    with tracer.start_as_current_span("concierge", openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, "concierge")
        span.set_input(task)
        try:
            lat, lon = geocode("Rijksmuseum, Amsterdam")
        except TimeoutError:
            lat, lon = CITY_DEFAULT["Amsterdam"]
        hits = search_restaurants(lat, lon, 4, "2024-10-11T19:30")
        pick = llm(f"Pick the best option for: {task}\nOptions (distance from search point): {json.dumps(hits)}",
                   f"{hits[0]['name']} is the closest option with a table for 4 at 19:30 ({hits[0]['km']} km). "
                   "I'll hand it to booking.")
        span.set_output(pick)
        return hits[0]


def booking(choice: dict) -> dict:
    with tracer.start_as_current_span("booking", openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, "booking")
        span.set_input(json.dumps(choice))
        with tracer.start_as_current_span("book_table", openinference_span_kind="tool") as call:
            args = {"restaurant": choice["name"], "party": 4, "time": "2024-10-11T19:30", "name": "M. de Vries"}
            call.set_tool(name="book_table", parameters=args)
            call.set_input(json.dumps(args))
            confirmation = {"restaurant": choice["name"], "ref": "RSV-40931", "time": "19:30", "party": 4}
            call.set_output(json.dumps(confirmation))
        span.set_output(llm(f"Confirm to the guest: {confirmation}",
                            f"You're booked at {choice['name']} on Friday 11 Oct at 19:30 for 4 people "
                            "(ref RSV-40931). Enjoy the Rijksmuseum and dinner!"))
        return confirmation


def app(sc):
    return booking(concierge(sc.task))


def check(answer) -> tuple[bool, str]:
    place = next(r for r in RESTAURANTS if r["name"] == answer["restaurant"])
    distance = km(RIJKSMUSEUM, (place["lat"], place["lon"]))
    if distance < 1.0:
        return True, f"{answer['restaurant']} is {distance:.2f} km from the Rijksmuseum"
    return False, f"{answer['restaurant']} is {distance:.2f} km from the Rijksmuseum (limit 1 km)"


if __name__ == "__main__":
    sc.main(app, check)
