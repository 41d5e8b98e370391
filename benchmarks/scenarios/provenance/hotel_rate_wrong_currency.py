"""Travel booking, traced entirely with OpenInference: travel_planner -> hotel_search -> budget -> booker.

The partner feed quotes Lisbon hotels in EUR, but the ``hotel_rates`` adapter stamps every rate
"USD". The budget agent correctly converts the city tax (quoted in EUR by its own tool) at the
day's FX rate and adds it to the room total it was given; the booker books. The reported USD total
is short by the EUR->USD difference on the room rate (USD 817.22 reported, USD 899.23 charged).
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from opentelemetry import trace
from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes
from openinference.semconv.trace import SpanAttributes

from harness import Scenario

tracer = OITracer(trace.get_tracer("trip-desk"), config=TraceConfig())
PARTNER_FEED = [  # upstream records as the partner API sends them
    {"property_id": "PT-LIS-0192", "name": "Hotel Almirante Baixa", "rating": 8.9, "rate": 212.0, "currency": "EUR",
     "board": "room only", "cancellation": "free until 2024-09-10", "district": "Baixa", "amenities": ["wifi", "gym", "bar"]},
    {"property_id": "PT-LIS-0340", "name": "Casa do Largo", "rating": 9.1, "rate": 268.0, "currency": "EUR",
     "board": "breakfast", "cancellation": "non-refundable", "district": "Alfama", "amenities": ["wifi", "terrace"]},
    {"property_id": "PT-LIS-0077", "name": "Ibis Lisboa Centro", "rating": 7.6, "rate": 119.0, "currency": "EUR",
     "board": "room only", "cancellation": "free until 2024-09-11", "district": "Saldanha", "amenities": ["wifi"]},
    {"property_id": "PT-LIS-0415", "name": "Memmo Principe Real", "rating": 9.4, "rate": 341.0, "currency": "EUR",
     "board": "breakfast", "cancellation": "free until 2024-09-05", "district": "Principe Real", "amenities": ["wifi", "pool", "spa"]},
    {"property_id": "PT-LIS-0228", "name": "Lisbon Riverside Suites", "rating": 8.4, "rate": 189.0, "currency": "EUR",
     "board": "room only", "cancellation": "free until 2024-09-09", "district": "Cais do Sodre", "amenities": ["wifi", "kitchenette"]},
]
EUR_USD = 1.1020
sc = Scenario(
    "hotel-rate-wrong-currency", klass="provenance",
    task="Book 3 nights in Lisbon, check-in 2024-09-12, check-out 2024-09-15, one adult, best-rated hotel that fits a "
         "USD 900 total budget including city tax. Report the total cost in USD.",
    description="the hotel_rates adapter labels the partner's EUR rates as USD, so the room total is never converted",
    expected=899.23, category="tool_wrong_result",
)


def chat(prompt, reply):
    with tracer.start_as_current_span("llm", openinference_span_kind="llm") as span:
        span.set_attributes(get_llm_attributes(
            provider="anthropic", model_name="claude-3-5-sonnet-20241022",
            input_messages=[{"role": "user", "content": prompt}], output_messages=[{"role": "assistant", "content": reply}],
            token_count={"prompt": len(prompt) // 4, "completion": len(reply) // 4}))
        span.set_input(prompt)
        span.set_output(reply)
    return reply


def call_tool(name, description, params, fn):
    with tracer.start_as_current_span(name, openinference_span_kind="tool") as span:
        span.set_tool(name=name, description=description, parameters=params)
        span.set_input(json.dumps(params))
        result = fn(**params)
        span.set_output(json.dumps(result))
    return result


def _hotel_rates(city, check_in, check_out, adults):
    out = []
    for raw in PARTNER_FEED:
        out.append({"property_id": raw["property_id"], "name": raw["name"], "rating": raw["rating"],
                    "nightly_rate": raw["rate"], "currency": "USD", "board": raw["board"],
                    "cancellation": raw["cancellation"], "district": raw["district"], "amenities": raw["amenities"]})
    sc.mark_culprit(agent=None)
    return out


def run_agent(name, inputs, body):
    with tracer.start_as_current_span(name, openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, name)
        span.set_input(json.dumps(inputs))
        result = body()
        span.set_output(json.dumps(result))
    return result


def app(sc):
    plan = run_agent("travel_planner", {"task": sc.task}, lambda: chat(
        sc.task, "Plan: (1) search Lisbon hotels for 12-15 Sep, (2) compute the full cost including city tax in USD, "
                 "(3) book the highest-rated option whose total stays under USD 900."))
    hotels = run_agent("hotel_search", {"plan": plan}, lambda: call_tool(
        "hotel_rates", "Nightly rates from the partner feed", {"city": "Lisbon", "check_in": "2024-09-12",
                                                               "check_out": "2024-09-15", "adults": 1}, _hotel_rates))

    def budget():
        tax = call_tool("city_tax", "Municipal tourist tax", {"city": "Lisbon", "nights": 3},
                        lambda city, nights: {"per_night": 4.0, "currency": "EUR", "nights": nights})
        fx = call_tool("fx_rate", "ECB reference rate", {"base": "EUR", "quote": "USD", "date": "2024-09-02"},
                       lambda base, quote, date: {"rate": EUR_USD})
        tax_usd = round(tax["per_night"] * tax["nights"] * fx["rate"], 2)
        options = [{"name": h["name"], "property_id": h["property_id"], "rating": h["rating"],
                    "total_usd": round(h["nightly_rate"] * 3 + tax_usd, 2)} for h in hotels]
        fits = sorted((o for o in options if o["total_usd"] <= 900), key=lambda o: -o["rating"])
        chat(f"Options within budget: {json.dumps(fits)}. City tax EUR 12.00 = USD {tax_usd}.",
             f"Best fit: **{fits[0]['name']}** (rating {fits[0]['rating']}), USD {fits[0]['total_usd']:,.2f} all-in "
             f"for 3 nights including USD {tax_usd} city tax (EUR 12.00 at {EUR_USD}).")
        return fits[0]
    choice = run_agent("budget", {"hotels": len(hotels)}, budget)

    def book():
        conf = call_tool("book_room", "Create a reservation", {"property_id": choice["property_id"], "check_in": "2024-09-12",
                                                               "check_out": "2024-09-15", "guest": "A. Moreau"},
                         lambda **kw: {"confirmation": "LIS-88231", "status": "confirmed", **kw})
        chat(f"Confirm to the traveller: {json.dumps(conf)}, total USD {choice['total_usd']}",
             f"You're booked at {choice['name']} (confirmation LIS-88231), 12-15 Sep. Total: USD {choice['total_usd']:,.2f}.")
        return {"confirmation": conf["confirmation"], "property_id": choice["property_id"], "total_usd": choice["total_usd"]}
    return run_agent("booker", {"choice": choice}, book)


def check(answer):
    rate = next(h["rate"] for h in PARTNER_FEED if h["property_id"] == answer["property_id"])
    charged = round((rate * 3 + 12.0) * EUR_USD, 2)
    if abs(answer["total_usd"] - charged) > 0.5:
        return False, f"reported USD {answer['total_usd']:,.2f}; the card will be charged USD {charged:,.2f}"
    return True, "total matches"


if __name__ == "__main__":
    sc.main(app, check)
