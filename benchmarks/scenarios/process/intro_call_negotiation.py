"""Cross-company meeting negotiation (traced with OpenInference): agreement is reached and not noticed.

Two scheduling assistants, one for Ana (Contoso, Berlin) and one for Raj (Fabrikam, London), each
read their principal's calendar and propose two slots per round in local time; a coordinator
reads the proposals and either confirms a common slot or asks for another round, up to four.
In round 2 both assistants offer the same instant, Ana's "Wed 16 Oct 15:00 Berlin" and Raj's
"Wed 16 Oct 14:00 London" (both 13:00 UTC, which the calendar tool also reports). The coordinator
compares the local clock times, sees no match and asks for more; rounds 3 and 4 have no overlap,
and the run ends at the round limit with nothing booked. Spans come from OpenInference's OITracer.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes
from openinference.semconv.trace import SpanAttributes
from opentelemetry import trace

from harness import Scenario

tracer = OITracer(trace.get_tracer("meeting-negotiation"), config=TraceConfig())
FREE = {  # free 30-minute slots per round of proposals: (local label, UTC)
    "ana": [[("Tue 15 Oct 09:00 Berlin", "2024-10-15T07:00Z"), ("Tue 15 Oct 10:30 Berlin", "2024-10-15T08:30Z")],
            [("Wed 16 Oct 11:00 Berlin", "2024-10-16T09:00Z"), ("Wed 16 Oct 15:00 Berlin", "2024-10-16T13:00Z")],
            [("Thu 17 Oct 16:30 Berlin", "2024-10-17T14:30Z"), ("Fri 18 Oct 08:30 Berlin", "2024-10-18T06:30Z")],
            [("Mon 21 Oct 17:00 Berlin", "2024-10-21T15:00Z"), ("Tue 22 Oct 08:00 Berlin", "2024-10-22T06:00Z")]],
    "raj": [[("Tue 15 Oct 13:00 London", "2024-10-15T12:00Z"), ("Tue 15 Oct 15:30 London", "2024-10-15T14:30Z")],
            [("Wed 16 Oct 14:00 London", "2024-10-16T13:00Z"), ("Wed 16 Oct 16:00 London", "2024-10-16T15:00Z")],
            [("Thu 17 Oct 10:00 London", "2024-10-17T09:00Z"), ("Fri 18 Oct 12:00 London", "2024-10-18T11:00Z")],
            [("Mon 21 Oct 09:30 London", "2024-10-21T08:30Z"), ("Tue 22 Oct 11:00 London", "2024-10-22T10:00Z")]],
}
COORDINATOR_REPLIES = [
    "Ana offers Tue 09:00 and 10:30; Raj offers Tue 13:00 and 15:30. No overlap. Please each propose two new slots.",
    "Ana: Wed 11:00 or 15:00. Raj: Wed 14:00 or 16:00. Close, but none of the times match. Another round, please; "
    "try to stay on Wednesday or Thursday.",
    "Ana: Thu 16:30 / Fri 08:30. Raj: Thu 10:00 / Fri 12:00. Still no common time. One more round.",
    "Ana: Mon 17:00 / Tue 08:00. Raj: Mon 09:30 / Tue 11:00. No match again.",
]

sc = Scenario(
    "intro-call-negotiation", klass="process",
    task="Set up a 30-minute intro call between Ana Petrov (Contoso, Berlin) and Raj Mehta (Fabrikam, London) in the "
         "week of 14 Oct 2024. Negotiate at most 4 rounds.",
    description="In round 2 both assistants propose the same instant (15:00 Berlin = 14:00 London); the coordinator "
                "compares local clock times, misses the agreement and the negotiation hits the round limit.",
    expected="2024-10-16T13:00Z", category="unaware_of_termination",
)


def llm(messages: list[dict], reply: str) -> str:
    with tracer.start_as_current_span("ChatCompletion", openinference_span_kind="llm") as span:
        span.set_input(json.dumps(messages))
        span.set_attributes(get_llm_attributes(
            provider="openai", model_name="gpt-4o", input_messages=messages,
            output_messages=[{"role": "assistant", "content": reply}],
            token_count={"prompt": sum(len(m["content"].split()) for m in messages), "completion": len(reply.split())}))
        span.set_output(reply)
    return reply


def free_slots(person: str, round_no: int) -> list[dict]:
    with tracer.start_as_current_span("calendar_free_slots", openinference_span_kind="tool") as span:
        args = {"calendar": f"{person}@{'contoso' if person == 'ana' else 'fabrikam'}.example", "minutes": 30,
                "week": "2024-W42", "exclude_proposed": round_no > 1}
        span.set_tool(name="calendar_free_slots", parameters=args)
        span.set_input(json.dumps(args))
        slots = [{"local": local, "utc": utc} for local, utc in FREE[person][round_no - 1]]
        span.set_output(json.dumps(slots))
        return slots


def negotiator(person: str, round_no: int) -> list[dict]:
    with tracer.start_as_current_span(f"assistant_{person}", openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, f"assistant_{person}")
        slots = free_slots(person, round_no)
        name = "Ana" if person == "ana" else "Raj"
        text = llm([{"role": "system", "content": f"You schedule for {name}. Propose two slots in local time."},
                    {"role": "user", "content": f"Round {round_no}. Free: {json.dumps(slots)}"}],
                   f"{name} can do {slots[0]['local']} or {slots[1]['local']}.")
        span.set_output(text)
        return slots


def coordinator(round_no: int, proposals: dict) -> str | None:
    with tracer.start_as_current_span("coordinator", openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, "coordinator")
        reply = llm([{"role": "system", "content": "You coordinate a meeting. If both sides offer the same time, "
                                                   "reply AGREED <utc>. Otherwise ask for another round."},
                     {"role": "user", "content": json.dumps(proposals)}],
                    COORDINATOR_REPLIES[round_no - 1])
        if round_no == 2:
            sc.mark_culprit(agent="coordinator")
        span.set_output(reply)
        return reply.split()[1] if reply.startswith("AGREED") else None


def app(sc):
    for round_no in range(1, 5):
        proposals = {person: negotiator(person, round_no) for person in ("ana", "raj")}
        agreed = coordinator(round_no, proposals)
        if agreed:
            return agreed
    return None


def check(answer) -> tuple[bool, str]:
    if answer == sc.expected:
        return True, "call booked"
    return False, "no intro call booked within the 4-round limit"


if __name__ == "__main__":
    sc.main(app, check)
