"""Sales analytics: data_engineer -> analyst -> writer.

The VP asks which region grew most from Q2 to Q3. The warehouse export has both ``rev_q3`` (actuals)
and ``rev_q3_plan`` (targets). The analyst, reading the header, maps "Q3 revenue" to the plan column
and hands that column to the aggregation tool. Aggregation and growth percentages are computed
correctly from the columns they were given, and the writer restates them faithfully; the answer
names LATAM (+21.5%, its plan) instead of EMEA-South (+17.3% actual).
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import csv, io, json

from harness import Scenario
import rootspan.tracer as rs

EXPORT = """region,channel,rev_q1,rev_q2,rev_q3,rev_q3_plan,units_q3,returns_pct_q3,gross_margin_pct_q3
NA-East,online,511970,497956,531637,515419,9666,1.7,31.4
NA-East,retail,699219,668190,691607,691503,17290,4.3,19.4
NA-East,partner,759126,829054,882605,887759,22630,4.4,27.1
NA-West,online,406047,419649,415442,444550,7553,1.9,25.1
NA-West,retail,878185,847851,895059,884436,21830,4.3,19.4
NA-West,partner,241633,237016,254095,251220,5293,3.8,39.2
LATAM,online,550306,543297,541648,654624,11524,4.1,38.1
LATAM,retail,639294,665724,653062,805457,13605,2.1,29.2
LATAM,partner,220985,232085,251739,290693,5244,3.1,26.1
EMEA-North,online,688593,736473,721975,763392,15695,3.9,33.3
EMEA-North,retail,242748,256153,273333,281644,5256,2.8,26.9
EMEA-North,partner,864355,824062,856409,858477,20888,4.0,23.0
EMEA-South,online,474132,502937,596403,535504,13869,3.7,30.6
EMEA-South,retail,320838,325515,382584,357758,6484,6.2,40.0
EMEA-South,partner,334084,326210,375685,347070,6708,2.2,24.5
APAC-North,online,329429,339374,360235,357124,8577,5.1,29.9
APAC-North,retail,812670,854465,835751,933902,14165,5.7,27.0
APAC-North,partner,588403,568121,605130,587640,15128,6.7,28.1
APAC-South,online,292348,304073,299620,325259,5447,1.8,26.4
APAC-South,retail,206072,222794,236631,231794,5144,6.6,31.9
APAC-South,partner,665125,643377,671177,706715,12663,3.9,20.0
ANZ,online,284767,285164,287933,310264,6696,4.1,22.7
ANZ,retail,720370,700192,736234,722523,13633,2.9,32.8
ANZ,partner,273712,294737,308813,322317,6302,5.5,30.2
"""

sc = Scenario(
    "plan-column-as-actuals", klass="provenance",
    task="Which region had the highest quarter-over-quarter revenue growth from Q2 2024 to Q3 2024 "
         "(all channels combined)? Give the region and its growth in percent to one decimal.",
    description="the analyst maps Q3 revenue to the rev_q3_plan column instead of rev_q3 actuals",
    expected={"region": "EMEA-South", "growth_pct": 17.3}, category="tool_output_misread",
)


@rs.tool("warehouse_export")
def warehouse_export(table: str, fiscal_year: int) -> str:
    return EXPORT


@rs.tool("aggregate")
def aggregate(csv_text: str, group_by: str, columns: list) -> dict:
    out: dict = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        acc = out.setdefault(row[group_by], {c: 0 for c in columns})
        for c in columns:
            acc[c] += int(row[c])
    return out


@rs.tool("growth")
def growth(totals: dict, baseline: str, current: str) -> list:
    rows = [{"region": k, "baseline": v[baseline], "current": v[current],
             "growth_pct": round((v[current] / v[baseline] - 1) * 100, 1)} for k, v in totals.items()]
    return sorted(rows, key=lambda r: r["growth_pct"], reverse=True)


@rs.agent("data_engineer")
def data_engineer() -> str:
    return warehouse_export("sales_by_region_channel", 2024)


@rs.agent("analyst")
def analyst(task: str, csv_text: str) -> list:
    header, first = csv_text.splitlines()[:2]
    reply = sc.llm(
        f"Task: {task}\nThe export has columns:\n{header}\nExample row: {first}\n"
        "Reply with JSON: group_by, baseline column, current column.",
        "Q2 revenue is `rev_q2`; for Q3 revenue the export has `rev_q3_plan`, which I'll use as the Q3 figure. "
        'Grouping by region across channels.\n\n{"group_by": "region", "baseline": "rev_q2", "current": "rev_q3_plan"}',
    )
    spec = json.loads(reply[reply.index("{"):])
    sc.mark_culprit(agent="analyst")
    totals = aggregate(csv_text, spec["group_by"], [spec["baseline"], spec["current"]])
    return growth(totals, spec["baseline"], spec["current"])


@rs.agent("writer")
def writer(task: str, ranking: list) -> dict:
    top, second = ranking[0], ranking[1]
    table = "\n".join(f"| {r['region']} | {r['baseline']:,} | {r['current']:,} | {r['growth_pct']:+.1f}% |" for r in ranking)
    text = sc.llm(
        f"Answer the VP's question in two sentences plus a table.\nQuestion: {task}\nRanking:\n{table}",
        f"**{top['region']}** had the strongest Q2 to Q3 growth at **{top['growth_pct']:+.1f}%** "
        f"(${top['baseline']:,} to ${top['current']:,}), ahead of {second['region']} at {second['growth_pct']:+.1f}%.\n\n"
        f"| Region | Q2 | Q3 | Growth |\n|---|---|---|---|\n{table}",
    )
    return {"region": top["region"], "growth_pct": top["growth_pct"], "text": text}


def app(sc):
    data = data_engineer()
    ranking = analyst(sc.task, data)
    return writer(sc.task, ranking)


def check(answer):
    ok = answer["region"] == "EMEA-South" and abs(answer["growth_pct"] - 17.3) < 0.05
    return (True, "correct") if ok else (False, f"answered {answer['region']} {answer['growth_pct']}%; "
                                                "finance's actuals show EMEA-South at +17.3%")


if __name__ == "__main__":
    sc.main(app, check)
