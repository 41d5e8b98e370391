"""Hospital bed board: intake_coordinator -> bed_allocator -> transport_scheduler -> charge_nurse_summary.

A cardiac patient arrives from the ED at 14:00 local (America/Chicago, CDT). The admissions
system reports times in UTC, but the bed board's discharge forecast is already in local time (its
``eta_tz`` field says so). The allocator assumes the forecast is UTC too, subtracts five hours, and
concludes bed 4B-18 (discharge 18:10 local) is free at 13:10. Transport and the nurse summary carry
4B-18 faithfully; the bed is still occupied when the patient arrives.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

ADMISSION = {"encounter": "ENC-2024-551903", "patient": "PT-40219", "source": "ED", "acuity": "ESI-2",
             "required_unit": "4B-CARDIAC-TELEMETRY", "telemetry": True, "isolation": None,
             "eta_utc": "2024-03-12T19:00:00Z", "eta_tz": "UTC"}
BEDS = [
    {"bed": "4B-03", "status": "occupied", "discharge_eta": "2024-03-12T16:45", "telemetry": True, "isolation_capable": False},
    {"bed": "4B-07", "status": "dirty", "discharge_eta": "2024-03-12T11:20", "evs_clean_eta": "2024-03-12T12:05", "telemetry": True, "isolation_capable": False},
    {"bed": "4B-09", "status": "blocked", "discharge_eta": None, "telemetry": True, "block_reason": "monitor repair WO-88412"},
    {"bed": "4B-11", "status": "occupied", "discharge_eta": "2024-03-13T10:00", "telemetry": True, "isolation_capable": True},
    {"bed": "4B-14", "status": "occupied", "discharge_eta": "2024-03-12T20:30", "telemetry": False, "isolation_capable": False},
    {"bed": "4B-18", "status": "occupied", "discharge_eta": "2024-03-12T18:10", "telemetry": True, "isolation_capable": False},
    {"bed": "4B-21", "status": "occupied", "discharge_eta": "2024-03-14T09:00", "telemetry": True, "isolation_capable": True},
    {"bed": "4B-22", "status": "held", "discharge_eta": None, "telemetry": True, "held_for": "ENC-2024-551877"},
]
FORECAST = {"unit": "4B-CARDIAC-TELEMETRY", "generated": "2024-03-12T09:02", "eta_tz": "America/Chicago",
            "beds": BEDS}
_calls = {"forecast": 0}

sc = Scenario(
    "bed-board-local-as-utc", klass="provenance",
    task="Encounter ENC-2024-551903 (PT-40219) is being admitted from the ED to 4B cardiac telemetry, arriving "
         "about 14:00 local time. Assign a telemetry bed that will be clean and free by arrival, book transport, "
         "and post the charge nurse summary.",
    description="the allocator treats the bed board's local-time discharge ETAs as UTC and assigns a bed that frees at 18:10",
    expected="4B-07", category="tool_output_misread",
)


@rs.tool("get_admission")
def get_admission(encounter: str) -> dict:
    return ADMISSION


@rs.tool("bed_forecast")
def bed_forecast(unit: str) -> dict:
    _calls["forecast"] += 1
    if _calls["forecast"] == 1:
        raise TimeoutError("bedboard-api: upstream EVS feed timed out after 5000 ms")
    return FORECAST


@rs.tool("book_transport")
def book_transport(encounter: str, bed: str, pickup_local: str) -> dict:
    return {"job": "TRN-61027", "encounter": encounter, "from": "ED-BAY-12", "to": bed, "pickup": pickup_local,
            "team": "transport-2", "status": "scheduled"}


@rs.agent("intake_coordinator")
def intake_coordinator(task: str) -> dict:
    adm = get_admission("ENC-2024-551903")
    sc.llm([{"role": "system", "content": "Summarise admission needs."},
            {"role": "user", "content": f"{task}\n\n{json.dumps(adm, indent=1)}"}],
           "PT-40219, ESI-2, needs telemetry, no isolation. ED ETA 19:00Z = 14:00 CDT.")
    return {**adm, "arrival_local": "2024-03-12T14:00"}


@rs.agent("bed_allocator")
def bed_allocator(need: dict) -> str:
    try:
        fc = bed_forecast(need["required_unit"])
    except TimeoutError:
        fc = bed_forecast(need["required_unit"])
    reply = sc.llm(
        [{"role": "system", "content": "You assign beds. Pick one bed free and clean before arrival. End with 'Assigned bed: <id>'."},
         {"role": "user", "content": f"Patient needs: {json.dumps(need)}\n\nForecast:\n{json.dumps(fc, indent=1)}"}],
        "Admission times are in UTC, so I'll normalise the forecast ETAs from UTC to CDT (-5h):\n"
        "- 4B-03: 16:45 -> 11:45 CDT, no isolation needed, but listed occupied\n"
        "- 4B-07: discharged 11:20 -> 06:20, EVS clean 07:05 CDT\n"
        "- 4B-18: 18:10 -> 13:10 CDT, telemetry, free before 14:00 arrival\n"
        "4B-07 is already turned over and may be grabbed by the overflow queue; 4B-18 frees closest to arrival "
        "and keeps 4B-07 for the 15:30 cath lab return.\n\nAssigned bed: 4B-18",
    )
    sc.mark_culprit(agent="bed_allocator")
    return re.search(r"Assigned bed: (4B-\d+)", reply).group(1)


@rs.agent("transport_scheduler")
def transport_scheduler(bed: str, need: dict) -> dict:
    job = book_transport(need["encounter"], bed, "2024-03-12T13:50")
    return {"bed": bed, "transport": job}


@rs.agent("charge_nurse_summary")
def charge_nurse_summary(plan: dict, need: dict) -> dict:
    text = sc.llm(f"Write a charge nurse handoff for {json.dumps(plan)} / {json.dumps(need)}",
                  f"4B incoming: PT-40219 (ENC-2024-551903), ESI-2, tele. Bed {plan['bed']}. Transport "
                  f"{plan['transport']['job']} pickup 13:50 from ED bay 12, ETA 14:00.")
    return {"bed": plan["bed"], "arrival_local": need["arrival_local"], "summary": text}


def app(sc):
    need = intake_coordinator(sc.task)
    bed = bed_allocator(need)
    plan = transport_scheduler(bed, need)
    return charge_nurse_summary(plan, need)


def check(answer):
    bed = next(b for b in BEDS if b["bed"] == answer["bed"])
    free_at = bed.get("evs_clean_eta") or bed["discharge_eta"]
    if free_at is None or free_at > answer["arrival_local"]:
        return False, f"bed {answer['bed']} is not free until {free_at} local; patient arrives {answer['arrival_local']}"
    return True, "bed free on arrival"


if __name__ == "__main__":
    sc.main(app, check)
