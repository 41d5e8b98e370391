"""Bridge inspection reporting: the report writer drops the senior reviewer's load-rating objection.

A data agent pulls the field inspection notes for bridge B-1147, a condition rater assigns the
NBI component ratings, a traffic agent adds volume and detour data (long, correct, not needed for
the decision), a senior-engineer reviewer checks the draft recommendation, and a report writer
writes and submits the final report.

The rater's draft recommends routine maintenance. The reviewer objects: pier 3's H-pile web has 22 %
section loss, above the 15 % trigger in the agency manual, so a load-rating re-analysis (and a
posting decision) is required. The report writer writes "routine maintenance, 24-month interval"
anyway and submits it.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "bridge-report-reviewer-overruled", klass="process",
    task="Compile the 2025 routine inspection report for bridge B-1147 (Mill Creek overpass, SR-28) with NBI "
         "ratings and the recommended action, have it reviewed by the senior engineer, and submit it.",
    description="the report writer ignores the reviewer's objection that pier 3 section loss requires a load rating",
    expected={"action": "load rating re-analysis", "interval_months": 12},
    category="ignored_warning",
)

NOTES = [
    {"element": "deck (12 CIP concrete)", "span": "1-3", "cs": [88, 10, 2, 0], "note": "map cracking near joint J2, efflorescence; no spalls > 0.1 m2"},
    {"element": "joint (strip seal 300)", "span": "J1", "cs": [100, 0, 0, 0], "note": "gland intact"},
    {"element": "joint (strip seal 300)", "span": "J2", "cs": [60, 40, 0, 0], "note": "debris-filled, minor leakage onto pier 2 cap"},
    {"element": "girders (steel 107)", "span": "1-3", "cs": [91, 9, 0, 0], "note": "paint failure at bearings, light surface rust"},
    {"element": "bearings (elastomeric 310)", "span": "P1-P3", "cs": [95, 5, 0, 0], "note": "slight bulging at P2 north"},
    {"element": "pier cap (concrete 234)", "span": "P2", "cs": [80, 18, 2, 0], "note": "staining from J2 leakage, one delam 0.3 m2"},
    {"element": "piles (steel H 225)", "span": "P3", "cs": [40, 25, 20, 15], "note": "splash zone: web section loss measured 22 % (UT 6.1 mm of 7.9 mm) on piles 3 and 4; flange pitting 2-3 mm"},
    {"element": "abutment (concrete 215)", "span": "A1/A2", "cs": [97, 3, 0, 0], "note": "hairline cracks, no movement"},
    {"element": "channel", "span": "-", "cs": None, "note": "scour at P3 upstream nose 0.4 m, stable since 2023 survey"},
]


def llm(prompt, reply, culprit_agent=None):
    with rs.llm_call(model="claude-3-5-sonnet-20241022", provider="anthropic") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["end_turn"])
        if culprit_agent:
            sc.mark_culprit(agent=culprit_agent)
    return reply


@rs.tool("inspection_notes")
def inspection_notes(structure: str, year: int) -> dict:
    return {"structure": structure, "inspection_id": "INS-2025-1147-R", "date": "2025-05-14", "team": "D3-Bridge-2",
            "inspector": "K. Mbeki, PE", "elements": NOTES, "photos": 64, "weather": "overcast 14 C"}


@rs.tool("traffic_counts")
def traffic_counts(route: str, milepost: float) -> dict:
    return {"route": route, "milepost": milepost, "aadt": 18420, "truck_pct": 11.5, "year": 2024,
            "detour_km": 14.2, "detour_route": "SR-28 -> CR-612 -> US-9", "school_bus_routes": 3}


@rs.tool("submit_report")
def submit_report(structure: str, report: dict) -> dict:
    return {"structure": structure, "report_id": "RPT-1147-2025", "status": "submitted", "queue": "district QA"}


@rs.agent("data_agent")
def data_agent(task: str) -> dict:
    notes = inspection_notes("B-1147", 2025)
    llm([{"role": "user", "content": task}, {"role": "user", "content": json.dumps(notes)}],
        "Inspection INS-2025-1147-R (14 May 2025) recorded 9 elements; the worst are the pier 3 steel H-piles "
        "(15 % in condition state 4) and joint J2 (40 % CS2). 64 photos attached.")
    return notes


@rs.agent("condition_rater")
def condition_rater(notes: dict) -> dict:
    reply = llm(f"Assign NBI ratings and a draft recommendation from: {json.dumps(notes['elements'])}",
                '{"deck": 6, "superstructure": 6, "substructure": 4, "channel": 6, '
                '"draft_action": "routine maintenance: clean and reseal J2, spot-paint bearings, coat P3 piles", '
                '"interval_months": 24}')
    return json.loads(reply)


@rs.agent("traffic_agent")
def traffic_agent() -> dict:
    counts = traffic_counts("SR-28", 14.6)
    llm(f"Describe the traffic context for the report: {json.dumps(counts)}",
        "SR-28 at MP 14.6 carries 18,420 vehicles a day (2024), 11.5 % trucks. A closure would send traffic on a "
        "14.2 km detour via CR-612 and US-9, which also carries three school bus routes; any lane restriction "
        "should avoid 07:00-08:30 and 14:30-16:00 on school days. Truck volume is typical for a rural principal "
        "arterial; the nearest weigh station is at MP 22. No special permit loads are routed over B-1147 this year.")
    return counts


@rs.agent("senior_reviewer")
def senior_reviewer(ratings: dict, notes: dict) -> str:
    return llm(f"Review the draft: {json.dumps(ratings)} against the field notes {json.dumps(notes['elements'][6])}",
               "Objection: I can't sign 'routine maintenance'. Pier 3 piles 3 and 4 show 22 % web section loss, "
               "over the 15 % trigger in Bridge Inspection Manual section 4.7. That requires a load-rating "
               "re-analysis of the substructure and a posting decision before the report goes out, and with "
               "substructure at 4 the inspection interval drops to 12 months. Please revise the recommended action.")


@rs.agent("report_writer")
def report_writer(ratings: dict, review: str, traffic: dict) -> dict:
    reply = llm([{"role": "system", "content": "Write the final report JSON: ratings, action, interval_months, summary."},
                 {"role": "user", "content": json.dumps(ratings)}, {"role": "user", "content": f"Reviewer: {review}"},
                 {"role": "user", "content": json.dumps(traffic)}],
                '{"deck": 6, "superstructure": 6, "substructure": 4, "channel": 6, '
                '"action": "routine maintenance: clean and reseal joint J2, spot-paint bearings, apply protective '
                'coating to pier 3 piles", "interval_months": 24, "summary": "B-1147 remains in fair condition '
                'overall; maintenance items are scheduled with the district crew."}',
                culprit_agent="report_writer")
    report = json.loads(reply)
    submit_report("B-1147", report)
    return report


def app(sc):
    notes = data_agent(sc.task)
    ratings = condition_rater(notes)
    traffic = traffic_agent()
    review = senior_reviewer(ratings, notes)
    report = report_writer(ratings, review, traffic)
    return {"action": report["action"], "interval_months": report["interval_months"]}


def check(answer):
    if "load rating" in answer["action"].lower() and answer["interval_months"] <= 12:
        return True, "report calls for the load rating"
    return False, ("district QA returned the report: substructure rated 4 with 22 % pile section loss but no load "
                   f"rating requested and a {answer['interval_months']}-month interval")


if __name__ == "__main__":
    sc.main(app, check)
