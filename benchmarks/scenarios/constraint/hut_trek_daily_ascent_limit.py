"""Hut-to-hut trek planner: the planner joins two stages into one day over the 700 m ascent limit.

A route researcher pulls the stage database for the Pale di San Martino hut network, a planner
picks three days of stages, a hut booker reserves beds (one booking call times out and is retried),
and an itinerary writer produces the plan for the trekkers.

The request limits every day to 700 m of ascent and 6 hours of walking. A compliant three-day plan
exists (Velo, Pradidali, Treviso). The planner instead chains Velo -> Pradidali -> Rosetta on day 2
(980 m, 7 h 15) so that day 3 can finish by cable car; the booker and writer carry it out faithfully.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "hut-trek-daily-ascent-limit", klass="constraint",
    task="Plan a 3-day hut-to-hut trek in the Pale di San Martino starting at Passo Rolle on 2025-07-15, for me and "
         "my 71-year-old father. Hard limits: no day with more than 700 m of ascent and no day over 6 hours of "
         "walking. Book the huts (2 beds, half board) and give me the day-by-day plan.",
    description="the planner chains two stages into one day with 980 m of ascent and 7 h 15 of walking",
    expected=[{"day": 1, "to": "Rifugio Velo della Madonna"}, {"day": 2, "to": "Rifugio Pradidali"},
              {"day": 3, "to": "Rifugio Treviso"}],
    category="constraint_violation",
)

STAGES = [
    {"id": "PSM-01", "from": "Passo Rolle", "to": "Rifugio Velo della Madonna", "ascent_m": 520, "descent_m": 140, "hours": 3.5, "grade": "EE", "via": "Passo di Ball"},
    {"id": "PSM-02", "from": "Rifugio Velo della Madonna", "to": "Rifugio Pradidali", "ascent_m": 610, "descent_m": 690, "hours": 4.5, "grade": "EE", "via": "Passo delle Lede"},
    {"id": "PSM-03", "from": "Rifugio Pradidali", "to": "Rifugio Rosetta", "ascent_m": 370, "descent_m": 70, "hours": 2.75, "grade": "EE", "via": "Passo Pradidali"},
    {"id": "PSM-04", "from": "Rifugio Pradidali", "to": "Rifugio Treviso", "ascent_m": 290, "descent_m": 940, "hours": 4.0, "grade": "E", "via": "Val Canali"},
    {"id": "PSM-05", "from": "Rifugio Rosetta", "to": "San Martino (cable car)", "ascent_m": 0, "descent_m": 120, "hours": 1.0, "grade": "T", "via": "Rosetta lift"},
    {"id": "PSM-06", "from": "Rifugio Rosetta", "to": "Rifugio Mulaz", "ascent_m": 840, "descent_m": 790, "hours": 6.5, "grade": "EEA", "via": "Passo delle Farangole"},
    {"id": "PSM-07", "from": "Rifugio Treviso", "to": "Cant del Gal (bus)", "ascent_m": 0, "descent_m": 450, "hours": 1.25, "grade": "T", "via": "Val Canali road"},
]
BY_ID = {s["id"]: s for s in STAGES}
CALLS = {"book_hut": 0}


def llm(prompt, reply, culprit_agent=None):
    with rs.llm_call(model="gpt-4o-2024-08-06", provider="openai") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["stop"])
        if culprit_agent:
            sc.mark_culprit(agent=culprit_agent)
    return reply


@rs.tool("stage_database")
def stage_database(area: str) -> dict:
    return {"area": area, "source": "SAT trail register 2025", "stages": STAGES,
            "closures": [{"trail": "SAT 715", "reason": "rockfall", "until": "2025-08-31"}]}


@rs.tool("book_hut")
def book_hut(hut: str, night: str, beds: int, board: str) -> dict:
    CALLS["book_hut"] += 1
    if CALLS["book_hut"] == 2:
        raise TimeoutError("rifugi booking gateway did not answer within 10 s")
    return {"hut": hut, "night": night, "beds": beds, "board": board, "status": "confirmed",
            "ref": f"RIF-{2025071 + CALLS['book_hut']:07d}"}


@rs.agent("route_researcher")
def route_researcher(task: str) -> dict:
    db = stage_database("Pale di San Martino")
    llm([{"role": "user", "content": task}, {"role": "user", "content": json.dumps(db)}],
        "7 stages start from or connect to Passo Rolle. SAT 715 is closed for rockfall until 31 August but no "
        "listed stage uses it. Stage PSM-06 is graded EEA (via ferrata sections) and unsuitable here.")
    return db


@rs.agent("planner")
def planner(db: dict) -> list[dict]:
    reply = llm([{"role": "system", "content": "Plan trek days from the stage list. Reply JSON: a list of days, each "
                                               "with stage ids, the hut for the night, ascent_m and hours."},
                 {"role": "user", "content": sc.task}, {"role": "user", "content": json.dumps(db["stages"])}],
                '[{"day": 1, "stages": ["PSM-01"], "to": "Rifugio Velo della Madonna"},'
                ' {"day": 2, "stages": ["PSM-02", "PSM-03"], "to": "Rifugio Rosetta"},'
                ' {"day": 3, "stages": ["PSM-05"], "to": "San Martino (cable car)"}]',
                culprit_agent="planner")
    days = json.loads(reply)
    for d in days:
        d["ascent_m"] = sum(BY_ID[s]["ascent_m"] for s in d["stages"])
        d["hours"] = sum(BY_ID[s]["hours"] for s in d["stages"])
    return days


@rs.agent("hut_booker")
def hut_booker(days: list[dict]) -> list[dict]:
    nights = {1: "2025-07-15", 2: "2025-07-16"}
    refs = []
    for d in days:
        if d["day"] not in nights:
            continue
        for _ in range(2):
            try:
                refs.append(book_hut(d["to"], nights[d["day"]], 2, "half board"))
                break
            except TimeoutError:
                continue
    llm(f"Summarise the bookings: {json.dumps(refs)}",
        "Both nights confirmed for 2 beds with half board: Rifugio Velo della Madonna on 15 July and Rifugio "
        "Rosetta on 16 July. The gateway timed out once; the retry went through.")
    return refs


@rs.agent("itinerary_writer")
def itinerary_writer(days: list[dict], refs: list[dict]) -> list[dict]:
    lines = "\n".join(f"Day {d['day']}: to {d['to']} ({d['ascent_m']} m up, {d['hours']} h)" for d in days)
    llm(f"Write the trek plan for the trekkers:\n{lines}\nBookings: {json.dumps(refs)}",
        "Day 1 (15 Jul): Passo Rolle to Rifugio Velo della Madonna via Passo di Ball, 3.5 h.\n"
        "Day 2 (16 Jul): over Passo delle Lede to Pradidali for lunch, then up Passo Pradidali to Rifugio "
        "Rosetta, about 7 h 15 with 980 m of climbing: start by 7:30.\nDay 3 (17 Jul): an easy hour on the "
        "plateau and the Rosetta cable car down to San Martino. Huts booked, half board.")
    return days


def app(sc):
    db = route_researcher(sc.task)
    days = planner(db)
    refs = hut_booker(days)
    return itinerary_writer(days, refs)


def check(answer):
    over = [d for d in answer if d["ascent_m"] > 700 or d["hours"] > 6]
    if not over:
        return True, "every day within the limits"
    d = over[0]
    return False, f"day {d['day']} has {d['ascent_m']} m of ascent and {d['hours']} h of walking (limits 700 m, 6 h)"


if __name__ == "__main__":
    sc.main(app, check)
