"""Property management assistant: the lease reader takes the rent-cycle "renewal_date" as the lease's end.

A portfolio agent finds the unit and its lease among the building's units (the unit listing fails
once with a 502 and is retried), a lease reader extracts the expiration date and notice period from
the lease record, a scheduler queues the renewal-offer letter on the last compliant day, and a letter
writer drafts it.

The lease record carries both ``expiration`` (2025-02-28) and ``renewal_date`` (2025-04-01, the
owner's annual rent-review cycle for the building). The reader reports 2025-04-01 as the lease end,
so the letter is scheduled for 2025-01-31, a month after the 60-day notice deadline of 2024-12-30.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import datetime as dt
import json

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "lease-notice-wrong-date-field", klass="provenance",
    task="Unit 4B at 1220 Alder St: schedule the tenant's renewal-offer letter for the last day that still gives the "
         "written notice the lease requires before the lease expires. Tell me the lease end and the send date.",
    description="the lease reader extracts the building's rent-review renewal_date instead of the lease expiration",
    expected={"lease_end": "2025-02-28", "send_on": "2024-12-30"},
    category="tool_output_misread",
)

UNITS = [{"unit": u, "lease_id": lid, "status": st, "rent_usd": rent} for u, lid, st, rent in [
    ("1A", "L-3291", "occupied", 1890), ("1B", "L-3302", "occupied", 1925), ("2A", "L-3117", "notice given", 1890),
    ("2B", "L-3340", "occupied", 1980), ("3A", "L-3268", "occupied", 2050), ("3B", None, "vacant - make ready", 2075),
    ("4A", "L-3311", "occupied", 2110), ("4B", "L-3308", "occupied", 2140), ("5A", "L-3352", "occupied", 2200),
    ("5B", "L-3299", "month-to-month", 2160)]]
CALLS = {"list_units": 0}


class BadGateway(Exception):
    pass


def llm(prompt, reply, culprit_agent=None):
    with rs.llm_call(model="claude-3-5-haiku-20241022", provider="anthropic") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["end_turn"])
        if culprit_agent:
            sc.mark_culprit(agent=culprit_agent)
    return reply


@rs.tool("list_units")
def list_units(property_id: str) -> list[dict]:
    CALLS["list_units"] += 1
    if CALLS["list_units"] == 1:
        raise BadGateway("502 Bad Gateway from pm-api.internal (upstream reset)")
    return UNITS


@rs.tool("lease_record")
def lease_record(lease_id: str) -> dict:
    return {"lease_id": lease_id, "unit": "4B", "property_id": "PRP-1220-ALDER",
            "tenants": ["Rosa Castellanos", "Javier Castellanos"], "signed": "2024-02-12", "commencement": "2024-03-01",
            "expiration": "2025-02-28", "term_months": 12, "rent_usd": 2140, "deposit_usd": 2140,
            "renewal_date": "2025-04-01", "renewal_notice_days": 60, "notice_method": "written, mail or portal",
            "late_fee_usd": 75, "pets": "1 cat (fee paid)", "parking": "P-17", "utilities": "tenant pays electric"}


@rs.tool("schedule_letter")
def schedule_letter(lease_id: str, template: str, send_on: str) -> dict:
    return {"job_id": "LTR-88412", "lease_id": lease_id, "template": template, "send_on": send_on,
            "channel": "portal + first-class mail", "status": "scheduled"}


@rs.agent("portfolio_agent")
def portfolio_agent(task: str) -> str:
    units = None
    for _ in range(2):
        try:
            units = list_units("PRP-1220-ALDER")
            break
        except BadGateway:
            continue
    llm([{"role": "user", "content": task}, {"role": "user", "content": json.dumps(units)}],
        "1220 Alder St has 10 units: 8 occupied, 1 vacant in make-ready (3B), 1 month-to-month (5B), and 2A has "
        "already given notice. Unit 4B is lease L-3308 at USD 2,140/month. Rents on the 4th and 5th floors run "
        "USD 2,110-2,200; 3B could list at USD 2,075 once make-ready is done. Passing L-3308 to the lease reader.")
    return "L-3308"


@rs.agent("lease_reader")
def lease_reader(lease_id: str) -> dict:
    record = lease_record(lease_id)
    reply = llm([{"role": "system", "content": "Extract lease_end (YYYY-MM-DD) and notice_days as JSON."},
                 {"role": "user", "content": json.dumps(record)}],
                '{"lease_id": "L-3308", "lease_end": "2025-04-01", "notice_days": 60, "notice_method": "written"}',
                culprit_agent="lease_reader")
    return json.loads(reply)


@rs.agent("scheduler")
def scheduler(terms: dict) -> dict:
    send_on = (dt.date.fromisoformat(terms["lease_end"]) - dt.timedelta(days=terms["notice_days"])).isoformat()
    job = schedule_letter(terms["lease_id"], "renewal-offer-12mo", send_on)
    llm(f"Confirm the scheduled letter: {json.dumps(job)}",
        f"Renewal offer for L-3308 scheduled for {send_on}, exactly {terms['notice_days']} days before the lease "
        f"ends on {terms['lease_end']}.")
    return {"lease_end": terms["lease_end"], "send_on": send_on}


@rs.agent("letter_writer")
def letter_writer(plan: dict) -> dict:
    llm(f"Draft the renewal-offer letter for Rosa and Javier Castellanos, unit 4B: {json.dumps(plan)}",
        f"Dear Rosa and Javier, your lease for unit 4B ends on {plan['lease_end']}. We'd love you to stay: we are "
        "offering a 12-month renewal at USD 2,195/month. Please reply through the portal within 30 days.")
    return plan


def app(sc):
    lease_id = portfolio_agent(sc.task)
    terms = lease_reader(lease_id)
    plan = scheduler(terms)
    return letter_writer(plan)


def check(answer):
    if answer == sc.expected:
        return True, "notice scheduled on the last compliant day"
    return False, (f"letter goes out {answer['send_on']} saying the lease ends {answer['lease_end']}; the lease expires "
                   "2025-02-28, so the 60-day notice was due by 2024-12-30 and the renewal offer is not enforceable")


if __name__ == "__main__":
    sc.main(app, check)
