"""SLA report with a checker agent: the analyst's correct median is overruled by a verifier computing the mean.

An orchestrator asks an analyst for September's median first-response time on P1 tickets; the
analyst exports the tickets (a ~4 KB CSV with P1-P3 rows), filters P1 and computes the median
with the stats tool. A verifier agent double-checks every figure before it goes into the monthly
SLA deck, and the orchestrator's rule is to take the verifier's corrected value when it rejects.
The verifier re-derives the figure from the CSV as sum / count (the mean), declares the
analyst's median wrong and supplies the mean; the deck reports the mean as the median.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import csv
import io
import json
import statistics

from harness import Scenario
import rootspan.tracer as rs


def _export() -> str:
    rows = ["ticket,priority,opened,first_response_min,team"]
    for n in range(120):
        prio = ("P1", "P2", "P3")[n % 3]
        minutes = (12 + (n * 29) % 61 + (95 if n % 13 == 0 else 0)) if prio == "P1" else 30 + (n * 53) % 400
        rows.append(f"SUP-{41000 + n},{prio},2024-09-{n % 30 + 1:02d}T{8 + n % 10:02d}:{(n * 7) % 60:02d},"
                    f"{minutes},{('core', 'billing', 'mobile')[n % 3 if prio != 'P1' else n % 2]}")
    return "\n".join(rows) + "\n"


EXPORT = _export()
P1 = [int(r["first_response_min"]) for r in csv.DictReader(io.StringIO(EXPORT)) if r["priority"] == "P1"]
MEDIAN, MEAN = statistics.median(P1), round(statistics.fmean(P1), 1)

sc = Scenario(
    "sla-deck-p1-response", klass="process",
    task="For the September 2024 SLA deck: median first-response time, in minutes, for P1 tickets.",
    description=f"The analyst's median ({MEDIAN}) is right; the verifier recomputes it as the mean ({MEAN}), rejects "
                "it, and the orchestrator reports the mean as the median.",
    expected=MEDIAN, category="incorrect_verification",
)


@rs.tool("export_tickets")
def export_tickets(month: str, fields: list[str]) -> str:
    return EXPORT


@rs.tool("compute_stats")
def compute_stats(values: list[float], metrics: list[str]) -> dict:
    fns = {"median": statistics.median, "mean": statistics.fmean, "p90": lambda v: statistics.quantiles(v, n=10)[8],
           "count": len}
    return {m: round(fns[m](values), 1) for m in metrics}


@rs.agent("analyst")
def analyst(task: str) -> dict:
    text = export_tickets("2024-09", ["ticket", "priority", "opened", "first_response_min", "team"])
    p1 = [int(r["first_response_min"]) for r in csv.DictReader(io.StringIO(text)) if r["priority"] == "P1"]
    stats = compute_stats(p1, ["median", "p90", "count"])
    sc.llm(f"{task}\nP1 stats: {stats}",
           f"September P1 first response: median {stats['median']} min across {stats['count']} tickets "
           f"(p90 {stats['p90']} min; a few outliers above 100 min pull the tail).")
    return {"median_min": stats["median"], "n": stats["count"], "csv": text}


@rs.agent("verifier")
def verifier(task: str, result: dict) -> dict:
    p1 = [int(r["first_response_min"]) for r in csv.DictReader(io.StringIO(result["csv"])) if r["priority"] == "P1"]
    total = sum(p1)
    reply = sc.llm([{"role": "system", "content": "You verify figures for the SLA deck from the raw data. Reply "
                                                  'JSON: {"verdict": "ok"|"reject", "corrected": number|null, "why": str}'},
                    {"role": "user", "content": f"{task}\nClaimed: median {result['median_min']} min over "
                                                f"{result['n']} tickets.\nRaw CSV:\n{result['csv']}"}],
                   json.dumps({"verdict": "reject", "corrected": round(total / len(p1), 1),
                               "why": f"Recomputed from the raw rows: the {len(p1)} P1 response times add up to "
                                      f"{total} minutes, {total} / {len(p1)} = {total / len(p1):.1f}. The claimed "
                                      f"{result['median_min']} understates the typical response."}))
    sc.mark_culprit(agent="verifier")
    return json.loads(reply)


@rs.agent("orchestrator")
def orchestrator(task: str) -> float:
    result = analyst(task)
    review = verifier(task, result)
    value = review["corrected"] if review["verdict"] == "reject" and review["corrected"] is not None else result["median_min"]
    sc.llm(f"Write the deck line. Value: {value}",
           f"P1 median first response (Sep 2024): {value} min. Verified against the raw ticket export.")
    return value


def app(sc):
    return orchestrator(sc.task)


def check(answer) -> tuple[bool, str]:
    if answer == MEDIAN:
        return True, "median correct"
    return False, f"deck reports {answer} min as the P1 median; the median of the export is {MEDIAN} min"


if __name__ == "__main__":
    sc.main(app, check)
