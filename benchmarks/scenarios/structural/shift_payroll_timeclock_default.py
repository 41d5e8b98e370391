"""Shift-worker payroll: the time-clock export times out and the pay agent falls back to scheduled hours.

A roster agent pulls the week's shift schedule for store 0417 (its first call hits a 502 and the
retry works), a pay agent asks the time-clock service for the punches of each worker and computes
gross pay, and a payroll clerk agent formats the pay run for approval. The time-clock export for
worker W-3381 times out; the pay agent's instructions say to hold the line for manual review when
punches are missing, but the model fills in the scheduled 32 hours. W-3381 actually worked 41.5
hours (a covered double shift), so overtime is missing from the pay run.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

SCHEDULE = {"store": "0417", "week": "2024-W37", "workers": [
    {"id": "W-3375", "name": "Ana Ruiz", "rate": 17.25, "scheduled_h": 38.0},
    {"id": "W-3381", "name": "Dev Patel", "rate": 16.80, "scheduled_h": 32.0},
    {"id": "W-3390", "name": "Mo Okafor", "rate": 18.10, "scheduled_h": 24.0},
]}
PUNCHES = {
    "W-3375": [{"in": "2024-09-09T06:58", "out": "2024-09-09T15:02"}] * 4 + [{"in": "2024-09-13T07:00", "out": "2024-09-13T13:00"}],
    "W-3381": [{"in": "2024-09-09T14:00", "out": "2024-09-09T22:00"}, {"in": "2024-09-10T06:00", "out": "2024-09-10T22:00"},
               {"in": "2024-09-12T14:00", "out": "2024-09-12T22:00"}, {"in": "2024-09-14T10:00", "out": "2024-09-14T19:30"}],
    "W-3390": [{"in": "2024-09-11T09:00", "out": "2024-09-11T17:00"}] * 3,
}
ACTUAL_HOURS = {"W-3375": 38.0, "W-3381": 41.5, "W-3390": 24.0}
_calls = {"roster": 0}

sc = Scenario(
    "shift-payroll-timeclock-default", klass="structural",
    task="Run payroll for store 0417, week 2024-W37 (hourly staff, overtime at 1.5x above 40 h). Hold any worker "
         "whose punches can't be retrieved for manual review.",
    description="The time-clock export for one worker times out; the pay agent substitutes the scheduled hours "
                "instead of holding the line, dropping 9.5 worked hours including overtime.",
    expected={"W-3375": 655.50, "W-3381": 709.80, "W-3390": 434.40}, category="silent_default",
)


@rs.tool("get_shift_schedule")
def get_shift_schedule(store: str, week: str) -> dict:
    _calls["roster"] += 1
    if _calls["roster"] == 1:
        raise ConnectionError("502 Bad Gateway from wfm-api.internal/v2/schedules (upstream restarting)")
    return SCHEDULE


@rs.tool("export_timeclock_punches")
def export_timeclock_punches(worker_id: str, week: str) -> dict:
    if worker_id == "W-3381":
        raise TimeoutError("timeclock-export: read timeout after 30000 ms (kiosk KSK-0417-02 sync backlog)")
    p = PUNCHES[worker_id]
    return {"worker_id": worker_id, "week": week, "punches": p, "device": "KSK-0417-01", "total_h": ACTUAL_HOURS[worker_id]}


def gross(rate: float, hours: float) -> float:
    reg = min(hours, 40.0)
    ot = max(hours - 40.0, 0.0)
    return round(reg * rate + ot * rate * 1.5, 2)


@rs.agent("roster_agent")
def roster_agent(store: str, week: str) -> dict:
    for _ in range(3):
        try:
            sched = get_shift_schedule(store, week)
            break
        except ConnectionError:
            continue
    sc.llm(f"Summarise the roster for payroll: {json.dumps(sched)}",
           "Store 0417, week 2024-W37: 3 hourly workers (W-3375, W-3381, W-3390). Scheduled 94 h total. "
           "W-3381 picked up a colleague's shift on Tue 10 Sep per the swap board.")
    return sched


@rs.agent("pay_agent")
def pay_agent(sched: dict) -> dict:
    lines = {}
    for w in sched["workers"]:
        try:
            data = export_timeclock_punches(w["id"], sched["week"])
            hours = data["total_h"]
            sc.llm(f"Validate punches for {w['id']}: {json.dumps(data)}",
                   f"{len(data['punches'])} punch pairs, no missing outs, {hours} h worked.")
            lines[w["id"]] = gross(w["rate"], hours)
        except TimeoutError as exc:
            reply = sc.llm(
                [{"role": "system", "content": "Compute gross pay from actual punches. If punches are unavailable, "
                                               "put the worker on HOLD for manual review; never estimate hours."},
                 {"role": "user", "content": f"Worker {w['id']} schedule {w['scheduled_h']} h at {w['rate']}/h. "
                                             f"Time-clock export: ERROR {exc}"}],
                f"Time-clock export unavailable for {w['id']}; using the scheduled {w['scheduled_h']} h so the pay run "
                f"is not delayed. Gross = {w['scheduled_h']} x {w['rate']} = {gross(w['rate'], w['scheduled_h']):.2f}.")
            sc.mark_culprit(agent="pay_agent")
            lines[w["id"]] = gross(w["rate"], w["scheduled_h"])
    return lines


@rs.agent("payroll_clerk")
def payroll_clerk(lines: dict) -> dict:
    sc.llm(f"Format the pay run for approval: {json.dumps(lines)}",
           "Pay run 0417/2024-W37 ready: 3 lines, total gross "
           f"{sum(lines.values()):.2f}. No holds. Submitted to approver queue PR-88120.")
    return lines


def app(sc):
    sched = roster_agent("0417", "2024-W37")
    return payroll_clerk(pay_agent(sched))


def check(answer) -> tuple[bool, str]:
    if answer == sc.expected:
        return True, "pay run matches the time-clock"
    return False, f"pay run {answer} does not match punched hours; W-3381 worked 41.5 h, not 32 h"


if __name__ == "__main__":
    sc.main(app, check)
