"""University enrolment desk: degree_advisor -> section_finder -> registrar_clerk -> confirmation_writer.

Student S2024-11873 is on academic probation, which caps the spring load at 13 credits (the task
says so). The advisor's first draft has a lab time clash, which the section finder reports and the
advisor fixes; but the revised plan adds a 4-credit course and totals 15 credits. The section
finder and registrar enrol exactly that plan and the confirmation restates it.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

AUDIT = {"student": "S2024-11873", "program": "BSc Computer Science", "standing": "academic_probation",
         "max_credits_term": 13, "term": "2025SP",
         "remaining_requirements": ["CS 2110", "MATH 2210", "CS 2800", "WRIT 1130", "PHYS 2213"],
         "completed_credits": 47, "gpa": 1.94}
CATALOG = {
    "CS 2110": {"credits": 4, "sections": [{"crn": "40112", "days": "MWF", "time": "10:10-11:00"},
                                           {"crn": "40113", "days": "MWF", "time": "13:25-14:15"}]},
    "MATH 2210": {"credits": 4, "sections": [{"crn": "41870", "days": "TR", "time": "08:40-09:55"}]},
    "CS 2800": {"credits": 4, "sections": [{"crn": "40266", "days": "TR", "time": "11:40-12:55"}]},
    "WRIT 1130": {"credits": 3, "sections": [{"crn": "52019", "days": "MW", "time": "14:45-16:00"}]},
    "PHYS 2213": {"credits": 4, "sections": [{"crn": "33904", "days": "MWF", "time": "10:10-11:00",
                                              "lab": {"crn": "33905", "days": "R", "time": "13:25-16:25"}}]},
}

sc = Scenario(
    "enrolment-credit-cap", klass="constraint",
    task="Enrol student S2024-11873 for spring term 2025SP in required courses from their degree audit. The "
         "student is on academic probation: the term load must not exceed 13 credits. No time clashes.",
    description="the advisor's revised plan totals 15 credits, over the 13-credit probation cap; later agents enrol it faithfully",
    category="disobey_task_spec",
)


@rs.tool("degree_audit")
def degree_audit(student: str) -> dict:
    return AUDIT


@rs.tool("find_sections")
def find_sections(courses: list, term: str) -> dict:
    out = {c: CATALOG[c] for c in courses}
    slots = [(c, s["days"], s["time"]) for c in courses for s in CATALOG[c]["sections"][:1]]
    clash = [f"{a[0]} / {b[0]}" for i, a in enumerate(slots) for b in slots[i + 1:]
             if a[2] == b[2] and set(a[1]) & set(b[1])]
    return {"term": term, "courses": out, "clashes": clash}


@rs.tool("enrol")
def enrol(student: str, crn: str) -> dict:
    return {"student": student, "crn": crn, "status": "enrolled", "waitlist": False}


@rs.agent("degree_advisor")
def degree_advisor(task: str, feedback: str | None = None) -> list:
    audit = degree_audit("S2024-11873")
    if feedback is None:
        reply = sc.llm([{"role": "user", "content": f"{task}\n\nAudit: {json.dumps(audit)}\nCatalog: {json.dumps(CATALOG)}"}],
                       "Draft: CS 2110, PHYS 2213, WRIT 1130 (11 credits).\nCourses: CS 2110, PHYS 2213, WRIT 1130")
    else:
        reply = sc.llm([{"role": "user", "content": f"{task}\n\nAudit: {json.dumps(audit)}\nSection finder: {feedback}"}],
                       "Revised to avoid the 10:10 MWF clash: drop PHYS 2213, take CS 2110 (use CRN 40113 or 40112), "
                       "MATH 2210 and CS 2800 to stay on track for the sophomore sequence, plus WRIT 1130.\n"
                       "Total: 4 + 4 + 4 + 3 credits. Courses: CS 2110, MATH 2210, CS 2800, WRIT 1130")
        sc.mark_culprit(agent="degree_advisor")
    return [c.strip() for c in re.search(r"Courses: (.*)$", reply).group(1).split(",")]


@rs.agent("section_finder")
def section_finder(courses: list) -> dict:
    return find_sections(courses, "2025SP")


@rs.agent("registrar_clerk")
def registrar_clerk(courses: list, sections: dict) -> list:
    done = []
    for c in courses:
        s = sections["courses"][c]["sections"][0]
        done.append({"course": c, "crn": s["crn"], "credits": CATALOG[c]["credits"], **enrol("S2024-11873", s["crn"])})
    return done


@rs.agent("confirmation_writer")
def confirmation_writer(enrolled: list) -> dict:
    total = sum(e["credits"] for e in enrolled)
    sc.llm(f"Write enrolment confirmation for {json.dumps(enrolled)}",
           "Spring 2025 schedule confirmed: " + "; ".join(f"{e['course']} (CRN {e['crn']})" for e in enrolled)
           + f". Total {total} credits.")
    return {"enrolled": enrolled, "total_credits": total}


def app(sc):
    courses = degree_advisor(sc.task)
    sections = section_finder(courses)
    if sections["clashes"]:
        courses = degree_advisor(sc.task, feedback=f"time clash: {sections['clashes']}")
        sections = section_finder(courses)
    return confirmation_writer(registrar_clerk(courses, sections))


def check(answer):
    if answer["total_credits"] > 13:
        return False, f"enrolled in {answer['total_credits']} credits, over the 13-credit probation cap"
    return True, "within cap"


if __name__ == "__main__":
    sc.main(app, check)
