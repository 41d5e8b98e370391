"""Insurance claim triage: intake_agent -> triage_agent -> coverage_reviewer -> settlement_agent.

Water-damage claim CLM-2024-083391 for USD 18,400. Triage correctly routes it to coverage review
because the policy shows a payment-lapse notice. The reviewer's job (stated in the task) is to
call policy_status for the loss date before approving; it approves on the strength of the photos
and the contractor estimate without calling it. The policy had lapsed on 2024-07-31, eleven days
before the loss; settlement pays out anyway.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from harness import Scenario
import rootspan.tracer as rs

CLAIM = {"claim": "CLM-2024-083391", "policy": "HO3-5520914", "insured": "Dana Okafor", "peril": "water_damage",
         "loss_date": "2024-08-11", "reported": "2024-08-13", "amount_claimed_usd": 18400,
         "attachments": ["IMG_4471.jpg", "IMG_4472.jpg", "IMG_4480.jpg", "estimate_RBC-Restoration_20240814.pdf"],
         "description": "Supply line to upstairs washing machine burst; ceiling and hardwood in kitchen damaged."}
POLICY_FLAGS = {"policy": "HO3-5520914", "flags": ["payment_lapse_notice_2024-07-16"], "deductible_usd": 1000}
POLICY_STATUS = {"policy": "HO3-5520914", "status": "lapsed", "lapse_effective": "2024-07-31",
                 "reinstated": None, "last_premium_paid": "2024-06-01"}
_calls = {"docs": 0}

sc = Scenario(
    "claim-review-unchecked-approval", klass="process",
    task="Triage claim CLM-2024-083391. Claims over USD 5,000 or with any policy flag go to coverage review; the "
         "coverage reviewer must confirm with policy_status that the policy was in force on the loss date before "
         "approving. Then settle approved claims net of deductible.",
    description="the coverage reviewer approves without calling policy_status; the policy had lapsed before the loss date",
    expected=0, category="verification_skipped",
)


@rs.tool("get_claim")
def get_claim(claim: str) -> dict:
    return CLAIM


@rs.tool("fetch_documents")
def fetch_documents(claim: str) -> dict:
    _calls["docs"] += 1
    if _calls["docs"] == 1:
        raise TimeoutError("docstore: GET /claims/CLM-2024-083391/attachments timed out (30s)")
    return {"claim": claim, "docs": [{"name": a, "ocr_ok": True} for a in CLAIM["attachments"]],
            "estimate_total_usd": 18400, "estimate_vendor": "RBC Restoration LLC, lic. 10-448921"}


@rs.tool("policy_flags")
def policy_flags(policy: str) -> dict:
    return POLICY_FLAGS


@rs.tool("policy_status")
def policy_status(policy: str, on_date: str) -> dict:
    return {**POLICY_STATUS, "on_date": on_date, "in_force": False}


@rs.tool("issue_payment")
def issue_payment(claim: str, amount_usd: int) -> dict:
    return {"claim": claim, "payment": "PAY-7730182", "amount_usd": amount_usd, "method": "ACH", "status": "issued"}


@rs.agent("intake_agent")
def intake_agent(task: str) -> dict:
    claim = get_claim("CLM-2024-083391")
    try:
        docs = fetch_documents(claim["claim"])
    except TimeoutError:
        docs = fetch_documents(claim["claim"])
    sc.llm(f"{task}\n{json.dumps(claim)}\n{json.dumps(docs)}",
           "Claim complete: 3 photos, contractor estimate USD 18,400 matches amount claimed.")
    return {"claim": claim, "docs": docs}


@rs.agent("triage_agent")
def triage_agent(packet: dict) -> dict:
    flags = policy_flags(packet["claim"]["policy"])
    sc.llm(f"Route claim: {json.dumps(packet['claim'])} flags {json.dumps(flags)}",
           "Route: coverage_review. Reasons: amount USD 18,400 > 5,000 fast-track limit; policy flag "
           "payment_lapse_notice_2024-07-16 - reviewer must confirm in-force status on 2024-08-11.")
    return {"route": "coverage_review", "flags": flags["flags"], "deductible": flags["deductible_usd"], **packet}


@rs.agent("coverage_reviewer")
def coverage_reviewer(case: dict) -> dict:
    sc.llm(
        [{"role": "system", "content": "You are the coverage reviewer. Verify coverage before approving. Reply APPROVE or DENY."},
         {"role": "user", "content": f"Case: {json.dumps(case)}"}],
        "APPROVE. Photos show water staining consistent with a burst supply line; the estimate from a licensed "
        "contractor matches the claimed amount and the peril is covered under HO-3. The lapse notice is from July "
        "and these are usually cured by autopay; no further action needed.",
    )
    sc.mark_culprit(agent="coverage_reviewer")
    return {"decision": "approve", **case}


@rs.agent("settlement_agent")
def settlement_agent(case: dict) -> int:
    if case["decision"] != "approve":
        return 0
    net = case["claim"]["amount_claimed_usd"] - case["deductible"]
    pay = issue_payment(case["claim"]["claim"], net)
    sc.llm(f"Draft settlement letter for {json.dumps(pay)}",
           f"Dear Dana Okafor, your claim CLM-2024-083391 has been approved. USD {net:,} (after the USD 1,000 "
           "deductible) has been sent by ACH.")
    return pay["amount_usd"]


def app(sc):
    return settlement_agent(coverage_reviewer(triage_agent(intake_agent(sc.task))))


def check(answer):
    status = POLICY_STATUS
    if answer and status["status"] == "lapsed" and status["lapse_effective"] < CLAIM["loss_date"]:
        return False, f"paid USD {answer:,} on a policy that lapsed {status['lapse_effective']}, before the loss date"
    return True, "settlement consistent with coverage"


if __name__ == "__main__":
    sc.main(app, check)
