"""Veterinary clinic chat: the front-desk router hands a lily-poisoning message to routine appointments.

The clinic's assistant has a front-desk router that classifies each owner message and hands it to
one of three agents: ``emergency_triage`` (tells the owner to come in now and alerts the ER vet),
``appointments`` (books routine visits) or ``pharmacy``. An owner writes that their cat chewed a lily
an hour ago and "seems fine"; lily ingestion is a feline emergency (acute kidney injury; treatment
within hours). The router reads "seems fine ... can I get an appointment" and hands off to
appointments, which correctly books the next routine slot, four days later, and texts a reminder.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

MESSAGE = ("Hi, my cat Miso (3 yrs, patient #PT-22871) chewed on a few leaves of the lily bouquet I got for my "
           "birthday, about an hour ago. She seems fine, eating and purring. Can I get an appointment to have her "
           "checked? Weekday mornings are best for me. Thanks! - Hana")

sc = Scenario(
    "vet-lily-routine-booking", klass="process",
    task=f"Owner message via the clinic chat: {MESSAGE}",
    description="the router hands a feline lily ingestion to routine appointments instead of emergency triage",
    expected={"route": "emergency_triage"},
    category="wrong_handoff",
)

ROUTER_SYSTEM = ("You are the front desk of Harbourside Veterinary Clinic. Classify the owner's message and choose "
                 "one route: emergency_triage (possible toxin ingestion, trauma, breathing trouble, urinary blockage, "
                 "seizures: owner must come now), appointments (routine visits, vaccines, check-ups), pharmacy "
                 "(refills). Reply as JSON {\"route\": ..., \"urgency\": ..., \"reason\": ...}.")


def llm(prompt, reply, culprit_agent=None):
    with rs.llm_call(model="gpt-4o-mini-2024-07-18", provider="openai") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["stop"])
        if culprit_agent:
            sc.mark_culprit(agent=culprit_agent)
    return reply


@rs.tool("pet_record")
def pet_record(patient_id: str) -> dict:
    return {"patient_id": patient_id, "name": "Miso", "species": "feline", "breed": "DSH", "sex": "FS", "dob": "2022-03-09",
            "weight_kg": 4.1, "owner": "Hana Sato", "phone": "+1 604 555 0192",
            "vaccines": [{"name": "FVRCP", "date": "2024-11-02", "due": "2027-11-02", "lot": "VX-44812"},
                         {"name": "Rabies (1 yr)", "date": "2024-11-02", "due": "2025-11-02", "lot": "RB-17720"}],
            "alerts": [], "last_visit": "2024-11-02 wellness exam, no concerns"}


@rs.tool("find_slots")
def find_slots(visit_type: str, preference: str) -> list[dict]:
    return [{"slot_id": "S-0610-0900", "start": "2025-06-10T09:00", "vet": "Dr. Okonkwo", "type": visit_type},
            {"slot_id": "S-0611-1040", "start": "2025-06-11T10:40", "vet": "Dr. Ruiz", "type": visit_type}]


@rs.tool("book_slot")
def book_slot(slot_id: str, patient_id: str, reason: str) -> dict:
    return {"booking_id": "BK-55310", "slot_id": slot_id, "patient_id": patient_id, "status": "booked", "reason": reason}


@rs.tool("send_sms")
def send_sms(to: str, text: str) -> dict:
    return {"to": to, "status": "queued", "message_id": "SM-7f21c0"}


@rs.agent("front_desk_router")
def front_desk_router(message: str) -> dict:
    reply = llm([{"role": "system", "content": ROUTER_SYSTEM}, {"role": "user", "content": message}],
                '{"route": "appointments", "urgency": "routine", "reason": "Owner requests a check-up for a cat that '
                'is eating normally and shows no symptoms; prefers weekday mornings."}',
                culprit_agent="front_desk_router")
    decision = json.loads(reply)
    rs.handoff(decision["route"], decision["reason"])
    return decision


@rs.agent("appointments")
def appointments(message: str) -> dict:
    pet = pet_record("PT-22871")
    slots = find_slots("check-up", "weekday morning")
    booking = book_slot(slots[0]["slot_id"], pet["patient_id"], "check-up after chewing plant leaves")
    text = llm(f"Owner message: {message}\nBooking: {json.dumps(booking)}\nSlot: {json.dumps(slots[0])}. Reply to the owner.",
               "Hi Hana! Miso is booked for a check-up on Tue 10 June at 9:00 with Dr. Okonkwo. Her vaccines are up "
               "to date (rabies due in November). See you then!")
    return {"route": "appointments", "booking": booking["booking_id"], "start": slots[0]["start"], "reply": text}


@rs.agent("reminder_agent")
def reminder_agent(result: dict) -> dict:
    send_sms("+1 604 555 0192", f"Harbourside Vet: Miso's check-up is on {result['start']}. Reply C to cancel.")
    return result


def app(sc):
    decision = front_desk_router(MESSAGE)
    if decision["route"] == "emergency_triage":
        return {"route": "emergency_triage"}
    result = appointments(MESSAGE)
    return reminder_agent(result)


def check(answer):
    if answer.get("route") == "emergency_triage":
        return True, "sent to emergency triage"
    return False, (f"booked a routine visit for {answer.get('start')}; Miso was brought in two days later in acute "
                   "kidney injury")


if __name__ == "__main__":
    sc.main(app, check)
