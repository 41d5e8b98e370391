"""Recruiting coordinator: intake -> availability -> scheduler -> booker -> candidate_mailer.

The hiring manager wants a 60-minute panel in the week of 10-16 June 2024, weekdays only, 09:00-17:00
London time. Availability intersects the three interviewers' calendars (one of them keeps weekend
focus blocks open, so the tool returns a Saturday window too). The scheduler says it skipped the
weekend but picks 2024-06-15, a Saturday. The booker books it and the mailer correctly renders
10:00 BST as 05:00 EDT for the candidate in Boston.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re
from datetime import datetime, timedelta

from harness import Scenario
import rootspan.tracer as rs

COMMON_FREE = [  # what the calendar service's intersection returns for the panel, Europe/London
    {"start": "2024-06-11T08:00", "end": "2024-06-11T08:45"},
    {"start": "2024-06-13T12:30", "end": "2024-06-13T13:00"},
    {"start": "2024-06-14T15:45", "end": "2024-06-14T17:00"},
    {"start": "2024-06-15T10:00", "end": "2024-06-15T12:00"},
    {"start": "2024-06-16T14:00", "end": "2024-06-16T16:00"},
]
PANEL = ["a.okafor@lumen.example", "r.duval@lumen.example", "s.kaur@lumen.example"]
sc = Scenario(
    "interview-on-saturday", klass="constraint",
    task="Schedule a 60-minute panel interview for candidate CAND-2291 (Elena Park, Boston) with Ade Okafor, Remy Duval "
         "and Simran Kaur during the week of 10-16 June 2024. Weekdays only, between 09:00 and 17:00 London time.",
    description="the scheduler says it excluded weekends but books Saturday 15 June",
    category="reasoning_action_mismatch",
)


@rs.tool("panel_freebusy")
def panel_freebusy(attendees: list, start: str, end: str, timezone: str) -> dict:
    return {"timezone": timezone, "attendees": attendees, "common_free": COMMON_FREE}


@rs.tool("create_event")
def create_event(title: str, start: str, end: str, attendees: list, timezone: str) -> dict:
    return {"event_id": "cal-0615-2291", "start": start, "end": end, "timezone": timezone, "attendees": attendees}


@rs.tool("send_email")
def send_email(to: str, subject: str, body: str) -> dict:
    return {"message_id": "msg-7f2e91", "to": to, "status": "queued"}


def app(sc):
    with rs.agent_span("intake"):
        req = json.loads(sc.llm(sc.task, '{"candidate": "CAND-2291", "minutes": 60, "week": ["2024-06-10", "2024-06-16"], '
                                         '"weekdays_only": true, "window": ["09:00", "17:00"], "tz": "Europe/London"}'))
        rs.record_output(req)
    with rs.agent_span("availability"):
        free = panel_freebusy(PANEL, req["week"][0], req["week"][1], req["tz"])
        long_enough = [w for w in free["common_free"] if datetime.fromisoformat(w["end"]) -
                       datetime.fromisoformat(w["start"]) >= timedelta(minutes=req["minutes"])]
        rs.record_output(long_enough)
    with rs.agent_span("scheduler"):
        reply = sc.llm(f"Request: {json.dumps(req)}\nPanel windows of 60+ minutes: {json.dumps(long_enough)}\nPick one.",
                       "Skipping weekend days, the best fit is **2024-06-15 10:00-11:00** London time: a mid-morning "
                       "slot suits the panel better than Friday's 15:45 window, which runs close to end of day.")
        sc.mark_culprit(agent="scheduler")
        start = re.search(r"\*\*(\S+) (\d\d:\d\d)", reply)
        slot = f"{start.group(1)}T{start.group(2)}"
        rs.record_output(slot)
    with rs.agent_span("booker"):
        end = (datetime.fromisoformat(slot) + timedelta(minutes=60)).isoformat(timespec="minutes")
        event = create_event("Panel interview: CAND-2291", slot, end, PANEL, "Europe/London")
        rs.record_output(event)
    with rs.agent_span("candidate_mailer"):
        boston = datetime.fromisoformat(slot) - timedelta(hours=5)
        body = sc.llm(f"Invite Elena Park (Boston) to {json.dumps(event)}",
                      f"Hi Elena,\n\nYour panel interview with Ade, Remy and Simran is confirmed for "
                      f"{datetime.fromisoformat(slot):%A %d %B} at 10:00 BST ({boston:%H:%M} EDT your time), 60 minutes "
                      "on Google Meet.\n\nBest,\nLumen Talent Team")
        send_email("elena.park@mail.example", "Your panel interview at Lumen", body)
    return event


def check(answer):
    day = datetime.fromisoformat(answer["start"])
    if day.weekday() >= 5:
        return False, f"interview booked on {day:%A %Y-%m-%d}; the request said weekdays only"
    return True, "ok"


if __name__ == "__main__":
    sc.main(app, check)
