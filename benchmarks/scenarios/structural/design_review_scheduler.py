"""Meeting-scheduling assistant: the scheduler writes create_event arguments the calendar API rejects.

A coordinator reads the request, an availability agent pulls free/busy for each attendee (Jun's
calendar answers 429 once and is retried after the Retry-After delay, which works), and a
scheduler finds the common slot and books it. The slot it finds is right, but the event it
writes has ``duration: "45m"`` and the attendees as one comma-separated string, while the
calendar tool's schema wants integer minutes and a list of addresses. The tool raises a
validation error and the coordinator has to report that nothing was booked.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json
import time
from datetime import datetime, timedelta

from harness import Scenario
import rootspan.tracer as rs

DAY = "2024-10-08"
BUSY = {  # local Europe/Berlin
    "priya.raman@northwind.io": [("13:00", "14:00"), ("16:15", "17:00")],
    "marco.bellini@northwind.io": [("13:30", "14:15"), ("15:30", "16:00")],
    "jun.tanaka@northwind.io": [("14:00", "14:30"), ("15:15", "15:30")],
}
sc = Scenario(
    "design-review-scheduler", klass="structural",
    task="Book a 45-minute design review for RFC-208 with Priya, Marco and Jun next Tuesday (8 Oct 2024) "
         "between 13:00 and 17:00 Europe/Berlin, room Aurora-3.",
    description="The scheduler passes duration '45m' and a comma-joined attendee string to create_event; the "
                "calendar tool rejects the arguments and nothing is booked.",
    expected={"start": f"{DAY}T14:30", "room": "Aurora-3"}, category="tool_misuse",
)
_jun_calls = {"n": 0}


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"429 Too Many Requests (Retry-After: {retry_after})")
        self.retry_after = retry_after


@rs.tool("free_busy")
def free_busy(email: str, day: str) -> list[list[str]]:
    if email.startswith("jun."):
        _jun_calls["n"] += 1
        if _jun_calls["n"] == 1:
            raise RateLimited(0.05)
    return [list(b) for b in BUSY[email]]


@rs.tool("create_event")
def create_event(title: str, start: str, duration: int, attendees: list, room: str, timezone: str) -> dict:
    errors = []
    if not isinstance(duration, int):
        errors.append(f"duration: expected integer minutes, got {duration!r}")
    if not isinstance(attendees, list):
        errors.append(f"attendees: expected a list of e-mail addresses, got {type(attendees).__name__}")
    if errors:
        raise ValueError("422 Unprocessable Entity: " + "; ".join(errors))
    return {"event_id": "evt_6QmK2x", "start": start, "room": room, "attendees": attendees}


@rs.agent("coordinator")
def coordinator_intake(task: str) -> dict:
    reply = sc.llm([{"role": "system", "content": "Extract the meeting request as JSON."},
                    {"role": "user", "content": task}],
                   '{"title": "RFC-208 design review", "day": "2024-10-08", "window": ["13:00", "17:00"], '
                   '"minutes": 45, "room": "Aurora-3", "tz": "Europe/Berlin", "attendees": '
                   '["priya.raman@northwind.io", "marco.bellini@northwind.io", "jun.tanaka@northwind.io"]}')
    return json.loads(reply)


@rs.agent("availability")
def availability(request: dict) -> dict:
    calendars = {}
    for email in request["attendees"]:
        for _ in range(3):
            try:
                calendars[email] = free_busy(email, request["day"])
                break
            except RateLimited as exc:
                time.sleep(exc.retry_after)
    return calendars


def first_common_slot(calendars: dict, window: list[str], minutes: int) -> str | None:
    t = datetime.fromisoformat(f"{DAY}T{window[0]}")
    end = datetime.fromisoformat(f"{DAY}T{window[1]}")
    while t + timedelta(minutes=minutes) <= end:
        slot_end = t + timedelta(minutes=minutes)
        clash = any(datetime.fromisoformat(f"{DAY}T{b0}") < slot_end and t < datetime.fromisoformat(f"{DAY}T{b1}")
                    for busy in calendars.values() for b0, b1 in busy)
        if not clash:
            return t.strftime("%Y-%m-%dT%H:%M")
        t += timedelta(minutes=15)
    return None


@rs.agent("scheduler")
def scheduler(request: dict, calendars: dict) -> dict | None:
    slot = first_common_slot(calendars, request["window"], request["minutes"])
    call = sc.llm(f"Free/busy: {json.dumps(calendars)}\nFirst common slot: {slot}. Write the create_event call.",
                  'Tuesday 14:30-15:15 is free for all three. Booking it:\n'
                  '{"title": "RFC-208 design review", "start": "2024-10-08T14:30", "duration": "45m", '
                  '"attendees": "priya.raman@northwind.io, marco.bellini@northwind.io, jun.tanaka@northwind.io", '
                  '"room": "Aurora-3", "timezone": "Europe/Berlin"}')
    args = json.loads(call.split("\n", 1)[1])
    sc.mark_culprit(agent="scheduler")
    try:
        return create_event(**args)
    except ValueError:
        return None


def app(sc):
    request = coordinator_intake(sc.task)
    calendars = availability(request)
    event = scheduler(request, calendars)
    with rs.agent_span("coordinator"):
        if event is None:
            sc.llm("The calendar API rejected the booking. Tell the user.",
                   "I found a slot that works for everyone (Tue 8 Oct, 14:30-15:15) but the calendar wouldn't "
                   "accept the booking, so nothing is on anyone's calendar yet. Want me to try again?")
            rs.record_output("not booked")
            return None
        return {"start": event["start"], "room": event["room"]}


def check(answer) -> tuple[bool, str]:
    if answer == sc.expected:
        return True, "booked"
    return False, f"meeting not booked (got {answer})"


if __name__ == "__main__":
    sc.main(app, check)
