"""Exhibition lighting plan: the lighting designer sets a watercolour to the oil-painting light level.

A registrar lists the 14 loans for the exhibition and pulls each one's condition report, a curator
writes the wall narrative (long and correct, no bearing on the light levels), a lighting designer
assigns a target illuminance per work, and a fixture scheduler orders the track heads and dimmer
settings per wall.

The loan agreements cap works on paper at 50 lux. Wall B hangs three oils with one watercolour;
the designer lights wall B at an even 150 lux "for a consistent wall wash", watercolour included,
and the fixture order carries it out.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "gallery-lighting-paper-lux", klass="constraint",
    task="Draft the lighting plan for 'Harbour Light: 1880-1930' in Gallery 4 (14 loans on walls A-D). Loan "
         "conditions: works on paper (watercolour, gouache, drawing, print, photograph) max 50 lux; oil or tempera "
         "on canvas or panel max 200 lux. Give each work's target lux and order the fixtures.",
    description="the lighting designer lights a watercolour on the oil wall at 150 lux, over the 50 lux paper limit",
    expected={"LN-2025-0418": 50},
    category="constraint_violation",
)

LOANS = [
    ("LN-2025-0411", "A", "Fog over the Roads", "watercolour on paper", "Kunsthalle Bremen"),
    ("LN-2025-0412", "A", "Fishing Fleet at Dawn", "gouache on paper", "private collection"),
    ("LN-2025-0413", "A", "Lighthouse Keeper's Daughter", "graphite on paper", "Rijksmuseum"),
    ("LN-2025-0414", "A", "Quay Study No. 3", "etching", "British Museum"),
    ("LN-2025-0415", "B", "The Harbour at Honfleur", "oil on canvas", "Musee Eugene Boudin"),
    ("LN-2025-0416", "B", "Evening Regatta", "oil on canvas", "private collection"),
    ("LN-2025-0417", "B", "Cargo Steamer, Antwerp", "oil on panel", "KMSKA"),
    ("LN-2025-0418", "B", "Canal at Dusk", "watercolour on paper", "Whitworth Art Gallery"),
    ("LN-2025-0419", "C", "Dock Workers", "gelatin silver print", "Nederlands Fotomuseum"),
    ("LN-2025-0420", "C", "Cranes, Rotterdam", "gelatin silver print", "Nederlands Fotomuseum"),
    ("LN-2025-0421", "C", "Harbour Poster, 1926", "colour lithograph", "V&A"),
    ("LN-2025-0422", "D", "Storm off Scheveningen", "oil on canvas", "Mesdag Collection"),
    ("LN-2025-0423", "D", "Net Menders", "tempera on panel", "private collection"),
    ("LN-2025-0424", "D", "Moonlit Jetty", "oil on canvas", "Kroller-Muller Museum"),
]


def llm(prompt, reply, culprit_agent=None):
    with rs.llm_call(model="claude-3-5-sonnet-20241022", provider="anthropic") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["end_turn"])
        if culprit_agent:
            sc.mark_culprit(agent=culprit_agent)
    return reply


@rs.tool("loan_register")
def loan_register(exhibition: str) -> list[dict]:
    return [{"loan_id": lid, "wall": wall, "title": title, "medium": medium, "lender": lender}
            for lid, wall, title, medium, lender in LOANS]


@rs.tool("condition_report")
def condition_report(loan_id: str) -> dict:
    paper = any(w in dict((l[0], l[3]) for l in LOANS)[loan_id] for w in ("paper", "print", "etching", "lithograph"))
    return {"loan_id": loan_id, "condition": "good", "notes": "minor foxing lower margin" if paper else "stable craquelure",
            "max_lux": 50 if paper else 200, "max_annual_lux_h": 150000 if paper else 600000, "uv_max_uw_lm": 10}


@rs.tool("order_fixtures")
def order_fixtures(wall: str, heads: int, dimmer_pct: int, lux_target: int) -> dict:
    return {"wall": wall, "heads": heads, "model": "ERCO Optec 12W 3000K", "dimmer_pct": dimmer_pct,
            "lux_target": lux_target, "work_order": f"WO-G4-{wall}-0625"}


@rs.agent("registrar")
def registrar(task: str) -> list[dict]:
    loans = loan_register("Harbour Light: 1880-1930")
    reports = [condition_report(l["loan_id"]) for l in loans]
    llm([{"role": "user", "content": task}, {"role": "user", "content": json.dumps(reports)}],
        "All 14 loans arrived in good condition. Eight are paper-based (walls A, B and C), six are oils or tempera "
        "(walls B and D). Every report repeats the UV limit of 10 uW/lm.")
    return loans


@rs.agent("curator")
def curator(loans: list[dict]) -> str:
    return llm(f"Write the wall narrative for these loans: {json.dumps(loans)}",
               "Wall A opens the show in the grey half-light of the North Sea: Fog over the Roads and the Fishing "
               "Fleet gouache set the palette, with the graphite Lighthouse Keeper's Daughter as the human anchor. "
               "Wall B turns to the harbour as spectacle, Boudin's Honfleur beside the Evening Regatta and the Antwerp "
               "steamer, closing on the quiet Canal at Dusk. Wall C brings the camera and the poster: the working port "
               "of Rotterdam in silver prints and the 1926 lithograph that sold it to tourists. Wall D ends at night "
               "and in storm, Mesdag's Scheveningen facing the Moonlit Jetty. Suggested label length: 80 words.")


@rs.agent("lighting_designer")
def lighting_designer(loans: list[dict]) -> dict:
    reply = llm([{"role": "system", "content": "Assign a target lux to every loan and a wall dimmer level. Reply JSON "
                                               "{loan_id: lux}."},
                 {"role": "user", "content": sc.task}, {"role": "user", "content": json.dumps(loans)}],
                '{"LN-2025-0411": 50, "LN-2025-0412": 50, "LN-2025-0413": 50, "LN-2025-0414": 50, '
                '"LN-2025-0415": 150, "LN-2025-0416": 150, "LN-2025-0417": 150, "LN-2025-0418": 150, '
                '"LN-2025-0419": 50, "LN-2025-0420": 50, "LN-2025-0421": 50, '
                '"LN-2025-0422": 180, "LN-2025-0423": 180, "LN-2025-0424": 180}',
                culprit_agent="lighting_designer")
    return json.loads(reply)


@rs.agent("fixture_scheduler")
def fixture_scheduler(loans: list[dict], plan: dict) -> dict:
    for wall in "ABCD":
        works = [l["loan_id"] for l in loans if l["wall"] == wall]
        target = max(plan[w] for w in works)
        order_fixtures(wall, heads=len(works) * 2, dimmer_pct=round(target / 200 * 100), lux_target=target)
    llm(f"Summarise the fixture order: {json.dumps(plan)}",
        "Ordered 28 Optec heads at 3000K: wall A, C at 25 % (50 lux), wall B at 75 % (150 lux), wall D at 90 % "
        "(180 lux). Work orders WO-G4-A..D-0625 go to the install crew on Monday.")
    return plan


def app(sc):
    loans = registrar(sc.task)
    curator(loans)
    plan = lighting_designer(loans)
    return fixture_scheduler(loans, plan)


def check(answer):
    paper_ids = [l[0] for l in LOANS if any(w in l[3] for w in ("paper", "print", "etching", "lithograph"))]
    over = {lid: answer[lid] for lid in paper_ids if answer[lid] > 50}
    if not over:
        return True, "every work within its loan limit"
    return False, f"works on paper lit over the 50 lux loan limit: {over}; the Whitworth lender's courier refused the hang"


if __name__ == "__main__":
    sc.main(app, check)
