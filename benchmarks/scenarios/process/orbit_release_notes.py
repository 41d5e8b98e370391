"""Release-notes writer/reviewer loop that never converges: the reviewer invents a word limit.

An orchestrator runs up to five writer/reviewer rounds on the customer-facing notes for Orbit
v3.8.0. The reviewer's role is to approve once its checklist passes (version named, a Migration
section with the steps, no internal ticket ids); it runs a real lint tool for that. Round 1's
draft lacks migration steps and is rightly rejected. From round 2 the reviewer also demands
"under 120 words", which is not on its checklist and cannot be met with the three migration
steps; the writer alternates between cutting the steps and restoring them, and the orchestrator
stops at the round limit with nothing approved.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import re

from harness import Scenario
import rootspan.tracer as rs

CHECKLIST = ["names the version v3.8.0", "has a Migration section with the upgrade steps",
             "no internal ticket ids (ORB-1234)"]
INTRO = ("Orbit v3.8.0 is out. Highlights: scheduled exports now support Parquet alongside CSV and JSON, the "
         "dashboard loads about 40% faster on workspaces with more than 200 boards, board owners can now pin up "
         "to five views for everyone on the team, and SAML logins remember the last workspace you used. Fixed: "
         "CSV exports no longer drop rows with emoji in the title, and webhook retries back off correctly. ")
MIGRATION = ("\n\n## Migration\n1. Upgrade the CLI to 3.8.0 (`orbit self-update`) before the next scheduled "
             "export runs; older CLIs cannot read the new job format.\n2. Replace `export --format=pq` with "
             "`export --format=parquet` in your scheduled jobs; the short flag has been removed.\n3. If you sign in "
             "with SAML, run `orbit auth login` once to pick up the new session scope.")
SHORT_MIGRATION = "\n\nUpgrading: see the docs for the CLI and export-flag changes."
DRAFTS = [INTRO + "Internal: ORB-5531, ORB-5540.", INTRO + MIGRATION, INTRO + SHORT_MIGRATION, INTRO + MIGRATION,
          INTRO.replace(" alongside CSV and JSON", "").replace("about 40% ", "~40% ") + MIGRATION]
WRITER_NOTES = [
    "Here's a first draft of the v3.8.0 notes with the highlights and fixes.",
    "Added a Migration section with the three upgrade steps (CLI update, export flag rename, SAML re-login).",
    "Cut the notes down: the migration details are now a one-line pointer to the docs, which gets us well under 120 words.",
    "Restored the three migration steps; I kept everything else as short as I could.",
    "Trimmed the highlights wording; the full Migration section stays, since the steps have to be inline.",
]
REVIEWS = [
    "Rejected. There is no Migration section, and the draft lists internal ticket ids (ORB-5531, ORB-5540).",
    "Closer, the Migration section is good. But release notes should stay under 120 words so they fit the in-app "
    "banner; this one is {words}. Please tighten.",
    "Rejected: the Migration section no longer contains the upgrade steps, customers need them inline.",
    "The steps are back, thanks, but we're over the 120-word limit again. Please cut it down.",
    "Still over 120 words ({words}). Rejected.",
]

sc = Scenario(
    "orbit-release-notes", klass="process",
    task="Write the customer-facing release notes for Orbit v3.8.0 and get them approved by the docs reviewer "
         "(checklist: version named, Migration section with steps, no internal ticket ids). Max 5 review rounds.",
    description="From round 2 the reviewer rejects drafts for a 120-word limit that is not on its checklist, so "
                "the writer oscillates and no notes are approved within the round limit.",
    expected="approved notes with a Migration section", category="disobey_role_spec",
)


@rs.tool("lint_release_notes")
def lint_release_notes(text: str) -> dict:
    return {
        "words": len(text.split()),
        "names_version": "v3.8.0" in text,
        "migration_steps": bool(re.search(r"## Migration\n1\. .+\n2\. ", text)),
        "internal_ids": re.findall(r"\bORB-\d+\b", text),
    }


@rs.agent("writer")
def writer(round_no: int, feedback: str | None) -> str:
    prompt = "Write the Orbit v3.8.0 release notes." if feedback is None else f"Reviewer feedback: {feedback}\nRevise."
    sc.llm(prompt, WRITER_NOTES[round_no - 1] + "\n\n" + DRAFTS[round_no - 1])
    return DRAFTS[round_no - 1]


@rs.agent("reviewer")
def reviewer(round_no: int, draft: str) -> tuple[bool, str]:
    lint = lint_release_notes(draft)
    review = sc.llm([{"role": "system", "content": "You are the docs reviewer. Approve when every checklist item "
                                                   "passes. Checklist: " + "; ".join(CHECKLIST)},
                     {"role": "user", "content": f"Draft:\n{draft}\n\nLint: {lint}"}],
                    REVIEWS[round_no - 1].format(words=lint["words"]))
    if round_no == 2:
        sc.mark_culprit(agent="reviewer")
    return review.startswith("Approved"), review


@rs.agent("orchestrator")
def orchestrator(task: str) -> dict:
    feedback = None
    for round_no in range(1, 6):
        draft = writer(round_no, feedback)
        approved, feedback = reviewer(round_no, draft)
        if approved:
            return {"approved": True, "notes": draft}
    sc.llm(f"Review loop ended after 5 rounds without approval. Last feedback: {feedback}",
           "We hit the 5-round limit on the v3.8.0 notes without an approval. Parking the draft and asking a "
           "human on the docs team to make the call.")
    return {"approved": False, "notes": draft}


def app(sc):
    return orchestrator(sc.task)


def check(answer) -> tuple[bool, str]:
    if answer["approved"] and "## Migration" in answer["notes"]:
        return True, "notes approved"
    return False, "no approved release notes after 5 review rounds"


if __name__ == "__main__":
    sc.main(app, check)
