"""Calendar assistant: coordinator -> availability -> scheduler -> booker -> notifier.

Availability fetches free/busy for three attendees (the first call is rate-limited and retried)
and intersects them in code: the only common 45-minute windows are Wed 13 March 10:00-10:15
starts and Fri 15 March 14:00-14:45 starts (CET). The user said "Thursday afternoon preferred",
and the scheduler announces Thu 14 March 15:00 as free for everyone, a slot no tool returned.
The booker books it faithfully and the notifier correctly converts 15:00 CET to 11:00 for the
attendee in Sao Paulo; the invite collides with two attendees' meetings.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re
from datetime import datetime, timedelta

from harness import Scenario
import rootspan.tracer as rs

BUSY = {
    "lena.vogt@northwind.example": [("2024-03-13T09:00", "2024-03-13T10:00"), ("2024-03-13T11:00", "2024-03-13T17:00"),
        ("2024-03-14T09:00", "2024-03-14T12:30"), ("2024-03-14T13:00", "2024-03-14T17:00"),
        ("2024-03-15T09:00", "2024-03-15T14:00"), ("2024-03-15T15:30", "2024-03-15T17:00")],
    "jonas.brandt@northwind.example": [("2024-03-13T09:00", "2024-03-13T09:30"), ("2024-03-13T13:00", "2024-03-13T16:00"),
        ("2024-03-14T10:00", "2024-03-14T11:00"), ("2024-03-14T14:30", "2024-03-14T16:00"), ("2024-03-15T11:00", "2024-03-15T12:00")],
    "maria.santos@northwind.example": [("2024-03-13T14:00", "2024-03-13T17:00"), ("2024-03-14T09:00", "2024-03-14T14:00"),
        ("2024-03-14T16:30", "2024-03-14T17:00"), ("2024-03-15T09:00", "2024-03-15T14:00")],
}
sc = Scenario(
    "meeting-slot-invented", klass="provenance",
    task="Find a 45-minute slot between 13 and 15 March 2024 for Lena Vogt, Jonas Brandt and Maria Santos for the "
         "Q1 close review (Thursday afternoon preferred) and send the invites.",
    description="the scheduler announces Thu 14 March 15:00 as free for all, a slot no availability result contained",
    category="hallucination",
)
_calls = {"n": 0}


@rs.tool("freebusy")
def freebusy(emails: list, start: str, end: str) -> dict:
    _calls["n"] += 1
    if _calls["n"] == 1:
        raise RuntimeError("calendar API 429 Too Many Requests (retry after 1s)")
    return {"timezone": "Europe/Berlin", "busy": {e: [{"start": a, "end": b} for a, b in BUSY[e]] for e in emails}}


@rs.tool("common_free_slots")
def common_free_slots(busy: dict, days: list, minutes: int) -> list:
    blocks = [(datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"])) for v in busy.values() for b in v]
    slots = []
    for day in days:
        t, stop = datetime.fromisoformat(day + "T09:00"), datetime.fromisoformat(day + "T17:00")
        while t + timedelta(minutes=minutes) <= stop:
            if all(not (t < b1 and b0 < t + timedelta(minutes=minutes)) for b0, b1 in blocks):
                slots.append(t.strftime("%Y-%m-%dT%H:%M"))
            t += timedelta(minutes=15)
    return slots


@rs.tool("create_event")
def create_event(title: str, start: str, minutes: int, attendees: list) -> dict:
    return {"event_id": "evt_7Hq2K9x041", "title": title, "start": start, "minutes": minutes, "attendees": attendees}


@rs.agent("coordinator")
def coordinator(task: str) -> dict:
    return json.loads(sc.llm(task, '{"title": "Q1 close review", "minutes": 45, "days": ["2024-03-13", "2024-03-14", '
                                   '"2024-03-15"], "attendees": ["lena.vogt@northwind.example", "jonas.brandt@northwind.example", '
                                   '"maria.santos@northwind.example"], "preference": "Thursday afternoon"}'))


@rs.agent("availability")
def availability(req: dict) -> list:
    for attempt in range(3):
        try:
            fb = freebusy(req["attendees"], req["days"][0], req["days"][-1])
            break
        except RuntimeError:
            continue
    return common_free_slots(fb["busy"], req["days"], req["minutes"])


@rs.agent("scheduler")
def scheduler(req: dict, slots: list) -> str:
    reply = sc.llm(
        f"Pick the best slot for '{req['title']}' ({req['minutes']} min). Preference: {req['preference']}.\n"
        f"Common free start times (Europe/Berlin): {json.dumps(slots)}",
        "Good news: **Thursday 14 March, 15:00-15:45 CET** is open for all three attendees and matches the "
        "Thursday-afternoon preference. Booking start: 2024-03-14T15:00.",
    )
    sc.mark_culprit(agent="scheduler")
    return re.search(r"Booking start: (\S+?)\.?$", reply).group(1)


@rs.agent("booker")
def booker(req: dict, start: str) -> dict:
    return create_event(req["title"], start, req["minutes"], req["attendees"])


@rs.agent("notifier")
def notifier(event: dict) -> str:
    local = (datetime.fromisoformat(event["start"]) - timedelta(hours=4)).strftime("%H:%M")
    return sc.llm(f"Write the invite text for {json.dumps(event)}; Maria is in Sao Paulo (CET-4 in March).",
                  f"**{event['title']}**: Thu 14 Mar 2024, 15:00-15:45 CET ({local} in Sao Paulo). Agenda: close "
                  "checklist, open accruals, sign-off. Invite id evt_7Hq2K9x041.")


def app(sc):
    req = coordinator(sc.task)
    slots = availability(req)
    event = booker(req, scheduler(req, slots))
    notifier(event)
    return event


def check(answer):
    s = datetime.fromisoformat(answer["start"])
    e = s + timedelta(minutes=answer["minutes"])
    clashes = [p for p, bl in BUSY.items() for a, b in bl if s < datetime.fromisoformat(b) and datetime.fromisoformat(a) < e]
    return (not clashes, f"invite at {answer['start']} clashes for {', '.join(sorted(set(clashes)))}" if clashes else "ok")


if __name__ == "__main__":
    sc.main(app, check)
