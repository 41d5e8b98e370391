"""Clinical trial site selection: the extractor copies a neighbouring site's enrollment rate.

A protocol agent reads the feasibility requirements for study NX-204 (phase II, 120 patients in 10
months), a feasibility extractor pulls each candidate site's survey answers from the CTMS (the
first export fails with an expired token and is refreshed), a ranking agent scores sites on
projected enrollment, and a selection memo picks the top three. The extractor reads site
SITE-0312's historical enrollment as 4.8 patients/month; that is SITE-0319's value on the next
row. SITE-0312 actually enrolls 1.1/month. The ranking and the memo carry 4.8 faithfully and
SITE-0312 is selected over SITE-0327.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

SURVEY = [
    {"site": "SITE-0305", "city": "Leuven", "pi": "Dr. Claes", "enroll_pm": 3.9, "screen_fail": 0.31, "irb_weeks": 6},
    {"site": "SITE-0312", "city": "Porto", "pi": "Dr. Matos", "enroll_pm": 1.1, "screen_fail": 0.44, "irb_weeks": 5},
    {"site": "SITE-0319", "city": "Lyon", "pi": "Dr. Bernard", "enroll_pm": 4.8, "screen_fail": 0.28, "irb_weeks": 9},
    {"site": "SITE-0327", "city": "Gdansk", "pi": "Dr. Nowak", "enroll_pm": 3.4, "screen_fail": 0.22, "irb_weeks": 4},
    {"site": "SITE-0334", "city": "Graz", "pi": "Dr. Huber", "enroll_pm": 2.0, "screen_fail": 0.35, "irb_weeks": 7},
]
_tok = {"n": 0}

sc = Scenario(
    "trial-site-enrollment-row-shift", klass="provenance",
    task="Select the 3 sites for study NX-204 (phase II, target 120 randomised in 10 months) with the highest "
         "projected randomisations per month, using the feasibility survey in CTMS project FS-2291.",
    description="The feasibility extractor records SITE-0312's enrollment rate as 4.8/month (the next row's value, "
                "actual 1.1); the ranking and the selection memo carry it and pick SITE-0312.",
    expected=["SITE-0319", "SITE-0327", "SITE-0305"], category="misread_value",
)


@rs.tool("ctms_export_survey")
def ctms_export_survey(project: str) -> dict:
    _tok["n"] += 1
    if _tok["n"] == 1:
        raise PermissionError("401 Unauthorized: bearer token expired at 2024-09-18T08:00:00Z (ctms-api/v4)")
    header = "site | city | PI | hist. enrolled/month | screen-fail rate | IRB approval (weeks)"
    rows = [f"{r['site']} | {r['city']} | {r['pi']} | {r['enroll_pm']} | {r['screen_fail']} | {r['irb_weeks']}" for r in SURVEY]
    return {"project": project, "format": "table", "table": header + "\n" + "\n".join(rows),
            "free_text": {"SITE-0312": "New research nurse starting Oct; competing oncology trial ends Q1 2025.",
                          "SITE-0319": "Central lab courier twice weekly."}}


@rs.tool("refresh_token")
def refresh_token(client: str) -> dict:
    return {"access_token": "eyJ...redacted", "expires_in": 3600}


@rs.agent("protocol_agent")
def protocol_agent(task: str) -> dict:
    sc.llm(f"Extract feasibility criteria: {task}",
           "Target 120 randomised over 10 months across 3 sites, i.e. 4 randomised/month in total. Rank by "
           "historical enrolled/month x (1 - screen-fail rate).")
    return {"study": "NX-204", "n_sites": 3}


@rs.agent("feasibility_extractor")
def feasibility_extractor() -> tuple:
    try:
        dump = ctms_export_survey("FS-2291")
    except PermissionError:
        refresh_token("site-selection-bot")
        dump = ctms_export_survey("FS-2291")
    reply = sc.llm(f"Extract per-site enrolled/month and screen-fail rate as JSON:\n{dump['table']}\n{dump['free_text']}",
                   json.dumps([
                       {"site": "SITE-0305", "enroll_pm": 3.9, "screen_fail": 0.31},
                       {"site": "SITE-0312", "enroll_pm": 4.8, "screen_fail": 0.44},
                       {"site": "SITE-0319", "enroll_pm": 4.8, "screen_fail": 0.28},
                       {"site": "SITE-0327", "enroll_pm": 3.4, "screen_fail": 0.22},
                       {"site": "SITE-0334", "enroll_pm": 2.0, "screen_fail": 0.35}]))
    sc.mark_culprit(agent="feasibility_extractor")
    return json.loads(reply), rs.current_span_id()


@rs.agent("ranking_agent")
def ranking_agent(sites: list, src_span: str) -> tuple:
    rs.consumed(src_span)
    scored = sorted(({"site": s["site"], "proj_pm": round(s["enroll_pm"] * (1 - s["screen_fail"]), 2)} for s in sites),
                    key=lambda x: -x["proj_pm"])
    sc.llm(f"Explain this ranking: {json.dumps(scored)}",
           "SITE-0319 leads at 3.46/month; SITE-0312 (2.69) and SITE-0327 (2.65) are close; SITE-0305 2.69 ties "
           "SITE-0312 but has the longer IRB timeline risk flagged; SITE-0334 trails at 1.30.")
    return scored, rs.current_span_id()


@rs.agent("selection_memo")
def selection_memo(scored: list, src_span: str) -> list:
    rs.consumed(src_span)
    top = [s["site"] for s in scored[:3]]
    sc.llm(f"Write the site selection memo for NX-204 from {json.dumps(scored)}",
           f"Recommended sites for NX-204: {', '.join(top)}. Combined projection ~8.8 randomised/month, well above "
           "the 4/month needed; SITE-0312 (Porto) brings strong historical enrollment of 4.8/month.")
    return top


def app(sc):
    protocol_agent(sc.task)
    sites, span = feasibility_extractor()
    scored, span2 = ranking_agent(sites, span)
    return selection_memo(scored, span2)


def check(answer) -> tuple[bool, str]:
    if sorted(answer) == sorted(sc.expected):
        return True, "selection matches the survey"
    return False, f"selected {answer}; per the CTMS survey SITE-0312 enrolls 1.1/month and should not be in the top 3"


if __name__ == "__main__":
    sc.main(app, check)
