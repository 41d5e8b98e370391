"""Market-brief pipeline: the researcher establishes a competitor left the on-prem market, the writer says otherwise.

A planner outlines the brief, a researcher searches news and reads press releases, a writer
drafts the competitive section from the researcher's notes (the data flow is recorded with
``rs.consumed``) and an editor polishes it. The search turns up a 2022 launch article for
Fabrikam On-Prem 6.0 and a 2024 press release (PR-2024-031) ending the on-prem edition on
31 March 2024; the researcher's notes say plainly that the 2022 article is superseded. The writer
nevertheless presents Fabrikam On-Prem 6.0 as the main on-prem alternative, and the editor only
tightens the wording.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from harness import Scenario
import rootspan.tracer as rs

NEWS = [
    {"id": "N-5521", "date": "2022-06-14", "source": "itweek.example",
     "headline": "Fabrikam launches On-Prem 6.0 for regulated industries",
     "text": "Fabrikam On-Prem 6.0 brings air-gapped installs and FIPS 140-2 crypto to banks and hospitals."},
    {"id": "N-7730", "date": "2024-01-22", "source": "fabrikam.example/press",
     "headline": "Fabrikam focuses on cloud; On-Prem edition to be retired",
     "text": "See press release PR-2024-031."},
    {"id": "N-7812", "date": "2024-05-03", "source": "analystdesk.example",
     "headline": "Northwind gains regulated customers after Fabrikam exit",
     "text": "Northwind Server 11 picked up at least 14 former Fabrikam On-Prem accounts in Q1 2024."},
]
PRESS = {"PR-2024-031": "Fabrikam will end sale of Fabrikam On-Prem on 31 March 2024. Existing licences are "
                        "supported until 31 March 2026. Customers are offered migration to Fabrikam Cloud EU with "
                        "a 30% first-year discount."}

sc = Scenario(
    "onprem-market-brief", klass="process",
    task="Write the 'On-prem competitors' section of the Q3 2024 market brief for Tailspin Server: who still sells "
         "an on-prem product to regulated industries, and what changed this year.",
    description="The researcher's notes say Fabrikam retired its on-prem edition in March 2024; the writer ignores "
                "them and presents Fabrikam On-Prem 6.0 as the leading on-prem alternative.",
    expected="Fabrikam retired On-Prem (31 Mar 2024); Northwind Server 11 is the main on-prem competitor",
    category="ignored_input",
)


@rs.tool("search_news")
def search_news(query: str, since: str) -> list[dict]:
    return [n for n in NEWS if n["date"] >= since or "Fabrikam" in query]


@rs.tool("get_press_release")
def get_press_release(release_id: str) -> str:
    return PRESS[release_id]


@rs.agent("planner")
def planner(task: str) -> list[str]:
    sc.llm(task, "Outline for the section:\n1. Who sells on-prem to regulated buyers today\n2. What changed in "
                 "2024\n3. Implication for Tailspin Server\nResearch focus: Fabrikam and Northwind.")
    return ["Fabrikam on-prem status", "Northwind Server 11"]


def research(topics: list[str]) -> str:
    """The researcher's turn (run inside its agent span by the app)."""
    hits = search_news("Fabrikam On-Prem Northwind Server regulated", since="2022-01-01")
    release = get_press_release("PR-2024-031")
    return sc.llm(f"Topics: {topics}\nNews: {hits}\nPR-2024-031: {release}\nWrite research notes for the writer.",
                  "Research notes:\n"
                  "- Fabrikam ended sales of Fabrikam On-Prem on 31 March 2024 (PR-2024-031). Existing licences are "
                  "supported until 31 March 2026; customers are being pushed to Fabrikam Cloud EU (30% off year 1).\n"
                  "- The June 2022 piece on Fabrikam On-Prem 6.0 (N-5521) is superseded by that announcement; don't "
                  "cite it as current.\n"
                  "- Northwind Server 11 is now the main on-prem option for regulated buyers and took at least 14 "
                  "former Fabrikam On-Prem accounts in Q1 2024 (N-7812).")


@rs.agent("writer")
def writer(outline: list[str], notes: str, notes_span: str) -> str:
    rs.consumed(notes_span)
    draft = sc.llm(f"Write the 'On-prem competitors' section. Use the research notes.\n{notes}",
                   "### On-prem competitors\n"
                   "Fabrikam remains the reference on-prem vendor for regulated industries: Fabrikam On-Prem 6.0 "
                   "offers air-gapped installs and FIPS 140-2 crypto, and is the product Tailspin Server is most "
                   "often compared with in bank and hospital deals. Northwind Server 11 is a growing second option "
                   "and picked up at least 14 regulated accounts in Q1 2024.\n"
                   "Implication: position Tailspin Server head-to-head against Fabrikam On-Prem 6.0 on total cost.")
    sc.mark_culprit(agent="writer")
    return draft


@rs.agent("editor")
def editor(draft: str) -> str:
    return sc.llm(f"Edit for concision and house style:\n{draft}",
                  "### On-prem competitors\n"
                  "Fabrikam On-Prem 6.0 remains the reference product for regulated industries (air-gapped installs, "
                  "FIPS 140-2) and the one Tailspin Server meets most in bank and hospital deals. Northwind Server 11 "
                  "is a growing second option, with at least 14 new regulated accounts in Q1 2024.\n"
                  "Implication: position Tailspin Server against Fabrikam On-Prem 6.0 on total cost.")


def app(sc):
    outline = planner(sc.task)
    with rs.agent_span("researcher") as research_turn:
        notes = research(outline)
        rs.record_output(notes)
    return editor(writer(outline, notes, research_turn.span_id))


def check(answer) -> tuple[bool, str]:
    text = answer.lower()
    if "retired" in text or "ended" in text or "discontinued" in text:
        return True, "brief reflects Fabrikam's exit"
    return False, "brief presents Fabrikam On-Prem as a current product; it was retired on 31 March 2024"


if __name__ == "__main__":
    sc.main(app, check)
