"""Solar-farm maintenance planning: telemetry_analyst -> maintenance_planner -> crew_scheduler.

The SCADA historian times out, and the telemetry tool silently falls back to its cache from nine
days earlier (2024-06-02) while still answering with a normal-looking payload. String INV-07-S3
tripped on 2024-06-10 and is producing nothing, but in the cached snapshot it looks healthy. The
analyst ranks strings from the stale snapshot, the planner schedules panel cleaning for the
dustiest block, and the crew is dispatched without a work order for the dead string.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from harness import Scenario
import rootspan.tracer as rs

def _strings(day: str, dead: bool) -> list:
    rows = []
    for inv in range(1, 13):
        for s in range(1, 4):
            sid = f"INV-{inv:02d}-S{s}"
            kwh = 412.0 - 3.1 * inv - 1.7 * s + (0 if inv not in (4, 5) else -38.0)
            status, err = "ok", None
            if dead and sid == "INV-07-S3":
                kwh, status, err = 0.0, "tripped", "DC ground fault, isolation < 50 kOhm"
            rows.append({"string": sid, "date": day, "energy_kwh": round(kwh, 1), "status": status,
                         "alarm": err, "soiling_index": 0.91 if inv in (4, 5) else 0.98})
    return rows

CACHE = {"site": "SF-MESA-02", "as_of": "2024-06-02T23:55:00Z", "strings": _strings("2024-06-02", dead=False)}
LIVE = {"site": "SF-MESA-02", "as_of": "2024-06-11T05:00:00Z", "strings": _strings("2024-06-10", dead=True)}
_calls = {"weather": 0}

sc = Scenario(
    "solar-stale-string-telemetry", klass="structural",
    task="Plan this week's maintenance for solar site SF-MESA-02 from yesterday's (2024-06-10) string-level telemetry: "
         "open a work order for every tripped or zero-output string, then schedule cleaning if budget allows, and "
         "book the field crew.",
    description="the telemetry tool falls back to a nine-day-old cache when the historian times out, hiding the tripped string INV-07-S3",
    category="stale_tool_output",
)


@rs.tool("string_telemetry")
def string_telemetry(site: str, day: str) -> dict:
    # the historian query times out; the client falls back to its last cached snapshot without flagging it
    sc.mark_culprit(agent="telemetry_analyst")
    return {"site": CACHE["site"], "requested_day": day, "as_of": CACHE["as_of"], "source": "historian",
            "strings": CACHE["strings"]}


@rs.tool("weather_forecast")
def weather_forecast(site: str, days: int) -> dict:
    _calls["weather"] += 1
    if _calls["weather"] == 1:
        raise ConnectionError("wx-api 502 Bad Gateway")
    return {"site": site, "days": [{"date": f"2024-06-{11 + i}", "wind_kph": 14 + 6 * i, "rain_mm": 0} for i in range(days)]}


@rs.tool("create_work_orders")
def create_work_orders(orders: list) -> list:
    return [{**o, "wo": f"WO-{31870 + i}", "status": "open"} for i, o in enumerate(orders)]


@rs.tool("book_crew")
def book_crew(crew: str, date: str, work_orders: list) -> dict:
    return {"crew": crew, "date": date, "work_orders": work_orders, "status": "booked"}


@rs.agent("telemetry_analyst")
def telemetry_analyst(task: str) -> dict:
    tel = string_telemetry("SF-MESA-02", "2024-06-10")
    text = sc.llm(
        [{"role": "system", "content": "Flag tripped/zero strings and soiling losses."},
         {"role": "user", "content": f"{task}\n\nTelemetry:\n{json.dumps(tel, indent=1)}"}],
        "All 36 strings reporting status ok; no alarms, no zero-output strings. Inverters INV-04 and INV-05 are ~38 kWh "
        "per string below peers with soiling index 0.91: cleaning candidates. No corrective work orders needed.",
    )
    return {"tripped": [], "soiling": ["INV-04", "INV-05"], "note": text}


@rs.agent("maintenance_planner")
def maintenance_planner(findings: dict) -> list:
    try:
        wx = weather_forecast("SF-MESA-02", 3)
    except ConnectionError:
        wx = weather_forecast("SF-MESA-02", 3)
    sc.llm(f"Findings {json.dumps(findings)}; weather {json.dumps(wx)}. Plan the week.",
           "No corrective items. Schedule panel washing for INV-04 and INV-05 blocks on 2024-06-11 (lowest wind).")
    orders = [{"type": "cleaning", "asset": a, "date": "2024-06-11"} for a in findings["soiling"]]
    orders += [{"type": "corrective", "asset": s, "date": "2024-06-11"} for s in findings["tripped"]]
    return create_work_orders(orders)


@rs.agent("crew_scheduler")
def crew_scheduler(orders: list) -> dict:
    booking = book_crew("CREW-B", "2024-06-11", [o["wo"] for o in orders])
    sc.llm(f"Confirm crew booking {json.dumps(booking)}", f"CREW-B booked 2024-06-11 for {', '.join(booking['work_orders'])}.")
    return {"work_orders": orders, "booking": booking}


def app(sc):
    return crew_scheduler(maintenance_planner(telemetry_analyst(sc.task)))


def check(answer):
    dead = [r["string"] for r in LIVE["strings"] if r["status"] != "ok" or r["energy_kwh"] == 0]
    covered = {o["asset"] for o in answer["work_orders"] if o["type"] == "corrective"}
    missing = [d for d in dead if d not in covered]
    if missing:
        return False, f"no corrective work order for tripped string(s) {missing}"
    return True, "all tripped strings covered"


if __name__ == "__main__":
    sc.main(app, check)
