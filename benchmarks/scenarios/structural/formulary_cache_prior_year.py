"""Clinic prescribing assistant: the formulary lookup serves last plan year's tiers from its cache.

An intake agent reads the prescriber's request, a formulary agent looks up coverage of the statins
for the patient's plan, a prior-authorisation agent checks PA/step rules (and talks at length about
them), a recommender picks the lowest-copay option and a note writer drafts the message to the
prescriber.

The formulary client caches responses by plan id only (``CHG-GOLD``), not by plan year; the cache
still holds the 2024 formulary, in which rosuvastatin was tier 3 and atorvastatin tier 1. For 2025
the plan moved atorvastatin to tier 2 (USD 15) and rosuvastatin to tier 1 (USD 0). The assistant
recommends atorvastatin with a USD 0 copay; the patient pays USD 15 a month for the pricier option.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "formulary-cache-prior-year", klass="structural",
    task="New prescription for patient MRN 00481266 (plan Cascade Health Gold, plan year 2025): moderate-to-high "
         "intensity statin for LDL 168 mg/dL. Recommend the covered statin with the lowest patient copay and "
         "state the monthly copay.",
    description="the formulary client's cache is keyed by plan id only and returns the 2024 formulary for a 2025 request",
    expected={"drug": "rosuvastatin 10 mg", "copay_usd": 0.0},
    category="stale_data",
)

FORMULARY = {
    ("CHG-GOLD", 2024): {"version": "2024.4", "effective": "2024-01-01", "statins": [
        {"drug": "atorvastatin 40 mg", "tier": 1, "copay_usd": 0.0, "pa": False, "qty_limit": "30/30"},
        {"drug": "rosuvastatin 10 mg", "tier": 3, "copay_usd": 45.0, "pa": False, "qty_limit": "30/30"},
        {"drug": "simvastatin 40 mg", "tier": 1, "copay_usd": 0.0, "pa": False, "qty_limit": "30/30", "note": "moderate intensity"},
        {"drug": "pitavastatin 2 mg", "tier": 4, "copay_usd": 95.0, "pa": True, "qty_limit": "30/30"}]},
    ("CHG-GOLD", 2025): {"version": "2025.1", "effective": "2025-01-01", "statins": [
        {"drug": "atorvastatin 40 mg", "tier": 2, "copay_usd": 15.0, "pa": False, "qty_limit": "30/30"},
        {"drug": "rosuvastatin 10 mg", "tier": 1, "copay_usd": 0.0, "pa": False, "qty_limit": "30/30"},
        {"drug": "simvastatin 40 mg", "tier": 1, "copay_usd": 0.0, "pa": False, "qty_limit": "30/30", "note": "moderate intensity"},
        {"drug": "pitavastatin 2 mg", "tier": 4, "copay_usd": 95.0, "pa": True, "qty_limit": "30/30"}]},
}


class FormularyClient:
    """Payer formulary API with a local response cache (warm from last December's batch run)."""

    def __init__(self) -> None:
        self.cache = {"CHG-GOLD": FORMULARY[("CHG-GOLD", 2024)]}

    def get(self, plan_id: str, plan_year: int) -> dict:
        if plan_id in self.cache:
            return self.cache[plan_id]
        doc = FORMULARY[(plan_id, plan_year)]
        self.cache[plan_id] = doc
        return doc


CLIENT = FormularyClient()


def llm(prompt, reply):
    with rs.llm_call(model="claude-3-5-sonnet-20241022", provider="anthropic") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["end_turn"])
    return reply


@rs.tool("patient_coverage")
def patient_coverage(mrn: str) -> dict:
    return {"mrn": mrn, "payer": "Cascade Health", "plan_id": "CHG-GOLD", "plan_year": 2025,
            "member_id": "CHG-7730-11842", "pbm": "NorthStar Rx", "allergies": ["sulfa"], "egfr": 78}


@rs.tool("formulary_lookup")
def formulary_lookup(plan_id: str, plan_year: int, drug_class: str) -> dict:
    doc = CLIENT.get(plan_id, plan_year)
    sc.mark_culprit(agent=None)
    return {"plan_id": plan_id, "formulary_version": doc["version"], "drug_class": drug_class, "options": doc["statins"]}


@rs.tool("pa_rules")
def pa_rules(plan_id: str, drug: str) -> dict:
    return {"drug": drug, "prior_auth": drug.startswith("pitavastatin"), "step_therapy": drug.startswith("pitavastatin"),
            "criteria": "trial and failure of two tier-1/2 statins" if drug.startswith("pitavastatin") else None}


@rs.agent("intake_agent")
def intake_agent(task: str) -> dict:
    cov = patient_coverage("00481266")
    llm([{"role": "system", "content": "Extract the prescribing request as JSON."}, {"role": "user", "content": task},
         {"role": "user", "content": json.dumps(cov)}],
        '{"indication": "LDL 168 mg/dL, primary prevention", "intensity": "moderate-to-high", '
        '"plan_id": "CHG-GOLD", "plan_year": 2025, "renal_adjustment": false}')
    return cov


@rs.agent("formulary_agent")
def formulary_agent(cov: dict) -> dict:
    form = formulary_lookup(cov["plan_id"], cov["plan_year"], "HMG-CoA reductase inhibitors")
    llm(f"Summarise statin coverage: {json.dumps(form)}",
        "Cascade Health Gold covers atorvastatin 40 mg and simvastatin 40 mg at tier 1 (USD 0), rosuvastatin "
        "10 mg at tier 3 (USD 45) and pitavastatin at tier 4 with prior auth (USD 95).")
    return form


@rs.agent("prior_auth_agent")
def prior_auth_agent(form: dict) -> dict:
    rules = {o["drug"]: pa_rules(form["plan_id"], o["drug"]) for o in form["options"]}
    llm(f"Explain PA and step-therapy requirements: {json.dumps(rules)}",
        "Only pitavastatin requires prior authorisation, with step therapy: the member must have tried and "
        "failed two tier-1 or tier-2 statins, documented with dates and LDL response, and the request must come "
        "from the prescriber on the NorthStar Rx PA form (fax or ePA through CoverMyMeds). Typical turnaround is "
        "72 hours, 24 hours when marked urgent. None of the other statins carry PA, step therapy or unusual "
        "quantity limits; all are limited to 30 tablets per 30 days, which matches once-daily dosing. Sulfa "
        "allergy is not relevant to any statin, and an eGFR of 78 needs no dose adjustment.")
    return rules


@rs.agent("recommender")
def recommender(form: dict) -> dict:
    eligible = [o for o in form["options"] if not o["pa"] and "moderate intensity" not in o.get("note", "")]
    best = min(eligible, key=lambda o: (o["copay_usd"], o["tier"]))
    llm(f"Eligible high-intensity options: {json.dumps(eligible)}. Pick the lowest-copay one.",
        f"Recommend {best['drug']} once daily: tier {best['tier']}, copay USD {best['copay_usd']:.2f} per month, "
        "no PA.")
    return {"drug": best["drug"], "copay_usd": best["copay_usd"]}


@rs.agent("note_writer")
def note_writer(rec: dict) -> dict:
    llm(f"Draft an in-basket note to the prescriber: {json.dumps(rec)}",
        f"Dr. Lindqvist - for MRN 00481266 (Cascade Health Gold), {rec['drug']} is the preferred statin: "
        f"covered without prior auth, patient copay USD {rec['copay_usd']:.2f}/month. Ready to sign.")
    return rec


def app(sc):
    cov = intake_agent(sc.task)
    form = formulary_agent(cov)
    prior_auth_agent(form)
    rec = recommender(form)
    return note_writer(rec)


def check(answer):
    if answer == sc.expected:
        return True, "lowest-copay statin recommended"
    return False, (f"recommended {answer['drug']} at USD {answer['copay_usd']:.2f}; at the pharmacy the patient was "
                   "charged USD 15.00 (2025 tier 2) while rosuvastatin 10 mg is tier 1, USD 0")


if __name__ == "__main__":
    sc.main(app, check)
