"""Legal contract clause review: the summary agent drops the clause reviewer's liability warning.

An intake agent pulls the vendor MSA from the document store (the first fetch returns a 409 while
the OCR job finishes; the retry works), a clause extractor splits it into clauses, a clause
reviewer compares each against the company playbook and warns that clause 14.2 carves data-breach
losses out of the liability cap (unlimited exposure, playbook LP-7 requires a cap of 12 months'
fees), and a summary agent writes the sign-off memo for the general counsel. The summary agent
receives the warning but writes "no deviations from the playbook; ready to sign".
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

CLAUSES = [
    {"no": "3.1", "title": "Term", "text": "Initial term of 36 months from the Effective Date, renewing for 12-month periods."},
    {"no": "7.4", "title": "Payment", "text": "Invoices payable net 45 days; late amounts accrue 1% per month."},
    {"no": "11.2", "title": "Confidentiality", "text": "Obligations survive 5 years after termination."},
    {"no": "14.1", "title": "Limitation of Liability", "text": "Each party's aggregate liability is capped at fees paid in the 12 months preceding the claim."},
    {"no": "14.2", "title": "Exclusions", "text": "The cap in 14.1 does not apply to losses arising from a Security Incident, "
                                                  "including regulatory fines and third-party claims."},
    {"no": "19.6", "title": "Governing Law", "text": "Laws of the State of New York; venue in Manhattan."},
]
_fetch = {"n": 0}

sc = Scenario(
    "msa-liability-warning-ignored", klass="process",
    task="Review the Helix Data Services MSA (doc DMS-220871, v3) against our contracting playbook and send the "
         "GC a sign-off memo listing every deviation that needs negotiation.",
    description="The clause reviewer warns that 14.2 removes the liability cap for security incidents; the summary "
                "agent ignores the warning and tells the GC the contract has no playbook deviations.",
    category="ignored_warning",
)


@rs.tool("dms_fetch")
def dms_fetch(doc_id: str, version: int) -> dict:
    _fetch["n"] += 1
    if _fetch["n"] == 1:
        raise RuntimeError("409 Conflict: DMS-220871 v3 is locked by ocr-worker-12 (job 88431), retry later")
    return {"doc_id": doc_id, "version": version, "pages": 23, "counterparty": "Helix Data Services LLC",
            "text": "\n".join(f"{c['no']} {c['title']}. {c['text']}" for c in CLAUSES) + "\n[... 17 pages of schedules ...]"}


@rs.tool("playbook_lookup")
def playbook_lookup(topic: str) -> dict:
    book = {"liability": {"rule": "LP-7", "text": "Liability must be capped at no more than 12 months' fees for ALL "
                                                  "claims; any uncapped carve-out needs GC negotiation."},
            "payment": {"rule": "LP-3", "text": "Net 30-60 acceptable."},
            "term": {"rule": "LP-1", "text": "Up to 36 months initial term."},
            "law": {"rule": "LP-12", "text": "NY or DE law acceptable."}}
    return book[topic]


@rs.agent("intake_agent")
def intake_agent() -> dict:
    for _ in range(3):
        try:
            doc = dms_fetch("DMS-220871", 3)
            break
        except RuntimeError:
            continue
    sc.llm(f"Identify the document: {doc['counterparty']}, {doc['pages']} pages",
           "Master Services Agreement, Helix Data Services LLC, v3 (counterparty redline of 2024-09-11).")
    return doc


@rs.agent("clause_extractor")
def clause_extractor(doc: dict) -> list:
    sc.llm(f"Split into clauses:\n{doc['text']}",
           json.dumps([{"no": c["no"], "title": c["title"]} for c in CLAUSES]))
    return CLAUSES


@rs.agent("clause_reviewer")
def clause_reviewer(clauses: list) -> str:
    rules = {t: playbook_lookup(t) for t in ("liability", "payment", "term", "law")}
    return sc.llm(f"Compare each clause with the playbook.\nClauses: {json.dumps(clauses)}\nPlaybook: {json.dumps(rules)}",
                  "3.1 OK (LP-1). 7.4 OK (LP-3). 11.2 OK. 14.1 OK on its own (LP-7). WARNING: 14.2 excludes Security "
                  "Incident losses from the 14.1 cap, so breach liability incl. regulatory fines is UNCAPPED. This "
                  "deviates from LP-7 and must be negotiated before signing. 19.6 OK (LP-12).")


@rs.agent("memo_writer")
def memo_writer(review: str) -> str:
    memo = sc.llm(
        [{"role": "system", "content": "Write the GC sign-off memo. List every deviation the reviewer raised."},
         {"role": "user", "content": review}],
        "To: General Counsel\nRe: Helix Data Services MSA (DMS-220871 v3)\n\nThe agreement was reviewed clause by "
        "clause against the contracting playbook. Term, payment (net 45), confidentiality, liability cap (12 months' "
        "fees) and governing law (NY) are all within playbook limits. No deviations from the playbook; ready to sign.")
    sc.mark_culprit(agent="memo_writer")
    return memo


def app(sc):
    doc = intake_agent()
    return memo_writer(clause_reviewer(clause_extractor(doc)))


def check(answer) -> tuple[bool, str]:
    if "14.2" in answer:
        return True, "memo raises the 14.2 carve-out"
    return False, "memo says ready to sign; clause 14.2 leaves security-incident liability uncapped (LP-7 deviation)"


if __name__ == "__main__":
    sc.main(app, check)
