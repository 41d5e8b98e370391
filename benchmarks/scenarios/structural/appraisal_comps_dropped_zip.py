"""Home valuation assistant: the MLS comps adapter sends the ZIP under a parameter the API ignores.

An intake agent geocodes the subject property, a comps agent pulls closed sales, an adjustments
agent adjusts each comp for size and bathrooms, a valuation agent reconciles the adjusted prices,
and a report writer drafts the opinion of value.

The MLS client maps the app's ``zip`` argument to ``postal_code``; the MLS search API only knows
``zip5`` and silently falls back to the brokerage account's default market area (Boise downtown,
83702). The comps returned are recent 3-bed sales, but in the wrong neighbourhood at a much higher
price per square foot, and every later step carries them into the value.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json
import statistics

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "appraisal-comps-dropped-zip", klass="structural",
    task="Estimate the market value of 418 Larkspur Ln, Boise ID 83706 (3 bed, 2 bath, 1,640 sq ft, built 1978) "
         "from 4 closed comparable sales within 1 mile of it, sold in the last 6 months. Give one value.",
    description="the MLS adapter sends the ZIP as an unknown parameter, so the API returns comps from the account's default market",
    expected=452000,
    category="tool_wrong_result",
)

MLS = {
    "83706": [
        {"mls": "98011234", "address": "1702 S Ridgeline Dr, Boise 83706", "sold": "2025-02-14", "price": 441000, "sqft": 1580, "beds": 3, "baths": 2.0, "dist_mi": 0.4},
        {"mls": "98011871", "address": "502 E Linden St, Boise 83706", "sold": "2025-01-09", "price": 468500, "sqft": 1710, "beds": 3, "baths": 2.0, "dist_mi": 0.6},
        {"mls": "98012290", "address": "2211 S Division Ave, Boise 83706", "sold": "2024-12-03", "price": 429900, "sqft": 1545, "beds": 3, "baths": 1.5, "dist_mi": 0.8},
        {"mls": "98012733", "address": "1319 S Juniper St, Boise 83706", "sold": "2025-03-21", "price": 462000, "sqft": 1690, "beds": 3, "baths": 2.0, "dist_mi": 0.5},
    ],
    "83702": [
        {"mls": "98010562", "address": "1208 N 14th St, Boise 83702", "sold": "2025-02-28", "price": 612000, "sqft": 1600, "beds": 3, "baths": 2.0, "dist_mi": 0.7},
        {"mls": "98011407", "address": "915 W Hays St, Boise 83702", "sold": "2025-01-17", "price": 589000, "sqft": 1520, "beds": 3, "baths": 2.0, "dist_mi": 0.9},
        {"mls": "98012014", "address": "1521 N 11th St, Boise 83702", "sold": "2024-11-26", "price": 655000, "sqft": 1750, "beds": 3, "baths": 2.5, "dist_mi": 0.6},
        {"mls": "98012518", "address": "720 W Franklin St, Boise 83702", "sold": "2025-03-05", "price": 598500, "sqft": 1610, "beds": 3, "baths": 2.0, "dist_mi": 0.8},
    ],
}


def mls_search_api(params: dict) -> list[dict]:
    """The MLS's search endpoint: unknown parameters are ignored; no zip5 means the account's default market."""
    area = params.get("zip5", "83702")
    return [dict(c) for c in MLS[area] if c["beds"] == params.get("beds", c["beds"])]


def llm(prompt, reply):
    with rs.llm_call(model="gpt-4o-2024-08-06", provider="openai") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["stop"])
    return reply


@rs.tool("geocode")
def geocode(address: str) -> dict:
    return {"address": address, "lat": 43.5939, "lon": -116.1927, "zip": "83706", "parcel": "R3371500120",
            "subdivision": "Hillcrest Heights No 4"}


@rs.tool("mls_closed_comps")
def mls_closed_comps(zip: str, beds: int, radius_mi: float, sold_within_days: int) -> list[dict]:
    params = {"postal_code": zip, "beds": beds, "radius": radius_mi, "closed_days": sold_within_days, "status": "S"}
    sc.mark_culprit(agent=None)
    return mls_search_api(params)


@rs.agent("intake_agent")
def intake_agent(task: str) -> dict:
    geo = geocode("418 Larkspur Ln, Boise ID 83706")
    llm([{"role": "user", "content": task}, {"role": "user", "content": json.dumps(geo)}],
        '{"subject": {"address": "418 Larkspur Ln", "zip": "83706", "beds": 3, "baths": 2.0, "sqft": 1640, '
        '"year_built": 1978}, "comp_rules": {"radius_mi": 1.0, "months": 6, "count": 4}}')
    return {"zip": geo["zip"], "beds": 3, "baths": 2.0, "sqft": 1640}


@rs.agent("comps_agent")
def comps_agent(subject: dict) -> list[dict]:
    comps = mls_closed_comps(zip=subject["zip"], beds=subject["beds"], radius_mi=1.0, sold_within_days=183)
    llm(f"Pick the 4 best comps for the subject from: {json.dumps(comps)}",
        "All four closed sales are 3-bed homes within a mile, sold in the last 6 months, with 1,520-1,750 sq ft. "
        "Using all four: MLS 98010562, 98011407, 98012014, 98012518.")
    return comps[:4]


@rs.agent("adjustments_agent")
def adjustments_agent(subject: dict, comps: list[dict]) -> list[dict]:
    adjusted = []
    for c in comps:
        size_adj = (subject["sqft"] - c["sqft"]) * 95
        bath_adj = (subject["baths"] - c["baths"]) * 12000
        adjusted.append({"mls": c["mls"], "price": c["price"], "adjusted": c["price"] + size_adj + bath_adj})
    llm(f"Explain the adjustments (USD 95/sq ft, USD 12,000 per bath): {json.dumps(adjusted)}",
        "Size adjustments range from -USD 10,450 to +USD 11,400; one comp gets -USD 6,000 for its extra half bath. "
        "Adjusted prices are tightly grouped, which supports the comp selection.")
    return adjusted


@rs.agent("valuation_agent")
def valuation_agent(adjusted: list[dict]) -> int:
    value = int(round(statistics.median(a["adjusted"] for a in adjusted), -3))
    llm(f"Reconcile adjusted comps {json.dumps(adjusted)} into one value.",
        f"Median adjusted price: USD {value:,}. The spread is under 8 %, so I reconcile to USD {value:,}.")
    return value


@rs.agent("report_writer")
def report_writer(value: int) -> int:
    llm(f"Write the opinion-of-value summary for 418 Larkspur Ln at USD {value:,}.",
        f"Opinion of value for 418 Larkspur Ln, Boise ID 83706: USD {value:,}, based on four closed sales within "
        "one mile in the last six months, adjusted for size and bathroom count.")
    return value


def app(sc):
    subject = intake_agent(sc.task)
    comps = comps_agent(subject)
    adjusted = adjustments_agent(subject, comps)
    value = valuation_agent(adjusted)
    return report_writer(value)


def check(answer):
    if abs(answer - sc.expected) <= 0.05 * sc.expected:
        return True, "value within 5 % of the review appraisal"
    return False, f"valued at USD {answer:,}; the lender's review appraisal came in at USD {sc.expected:,} (83706 comps)"


if __name__ == "__main__":
    sc.main(app, check)
