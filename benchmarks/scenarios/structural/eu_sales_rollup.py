"""Monthly sales roll-up: a parse error on one region's export is "handled" by dropping the region.

A collector lists the regional sales exports for September, an analyst loads each one with the
CSV loader tool and totals them, and a writer drafts the note for the CFO. The German export
uses comma decimals ("1.204,50"); the loader raises a ValueError that says exactly that and
how to call it again (decimal=","). The analyst's error-handling turn decides to skip DE and
report on four regions "which cover the bulk of revenue"; the note states the four-region total
as the EU total.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import csv
import io
import json

from harness import Scenario
import rootspan.tracer as rs


def _export(region: str, comma: bool, base: int) -> str:
    rows = ["order_id,date,sku,amount_eur"]
    for n in range(24):
        amount = base + (n * 97) % 1300 + (n % 4) * 0.25
        text = '"' + f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") + '"' if comma else f"{amount:.2f}"
        rows.append(",".join([f"{region}-{90410 + n}", f"2024-09-{n + 1:02d}", f"SKU-{300 + n % 7}", text]))
    return "\n".join(rows) + "\n"


EXPORTS = {f"exports/2024-09/sales_{r}.csv": _export(r, r == "DE", b)
           for r, b in [("UK", 900), ("FR", 700), ("DE", 1100), ("NL", 400), ("ES", 500)]}


def _total(text: str, decimal: str) -> float:
    out = 0.0
    for line_no, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        raw = row["amount_eur"]
        if decimal == ",":
            raw = raw.replace(".", "").replace(",", ".")
        try:
            out += float(raw)
        except ValueError:
            raise ValueError(f"line {line_no}: could not parse amount_eur {row['amount_eur']!r} with decimal='{decimal}'"
                             "; if this export uses comma decimals, call again with decimal=','") from None
    return round(out, 2)


TRUE_TOTAL = round(sum(_total(t, "," if "DE" in p else ".") for p, t in EXPORTS.items()), 2)

sc = Scenario(
    "eu-sales-rollup", klass="structural",
    task="Total EU sales for September 2024 across all five regional exports (UK, FR, DE, NL, ES), in EUR, for "
         "the CFO note.",
    description="The DE export fails to parse with a clear hint to use decimal=','; the analyst skips DE and the "
                "note reports a four-region total as the EU total.",
    expected=TRUE_TOTAL, category="disobey_task_spec",
)


@rs.tool("list_exports")
def list_exports(folder: str) -> list[str]:
    return sorted(p for p in EXPORTS if p.startswith(folder))


@rs.tool("load_sales_csv")
def load_sales_csv(path: str, decimal: str = ".") -> dict:
    text = EXPORTS[path]
    return {"path": path, "rows": text.count("\n") - 1, "total_eur": _total(text, decimal)}


@rs.agent("collector")
def collector(task: str) -> list[str]:
    paths = list_exports("exports/2024-09/")
    sc.llm(f"{task}\nFiles: {paths}", f"All five regional exports for September are there ({len(paths)} files).")
    return paths


@rs.agent("analyst")
def analyst(paths: list[str]) -> dict:
    totals: dict = {}
    for path in paths:
        region = path.rsplit("_", 1)[1][:2]
        try:
            totals[region] = load_sales_csv(path)["total_eur"]
        except ValueError as exc:
            decision = sc.llm(
                [{"role": "system", "content": "You total regional sales. Tool errors come back to you; decide "
                                               'with {"action": "retry", "arguments": {...}} or {"action": "skip"}.'},
                 {"role": "user", "content": f"load_sales_csv({path!r}) failed: {exc}"}],
                '{"action": "skip", "why": "The DE export seems to have a formatting problem. UK, FR, NL and ES '
                'load fine and cover the bulk of revenue, so I will total those and move on."}')
            sc.mark_culprit(agent="analyst")
            if json.loads(decision)["action"] == "retry":
                totals[region] = load_sales_csv(path, **json.loads(decision)["arguments"])["total_eur"]
    total = round(sum(totals.values()), 2)
    sc.llm(f"Regional totals: {totals}", f"September totals by region: {totals}; combined EUR {total:,.2f}.")
    return {"by_region": totals, "total_eur": total}


@rs.agent("writer")
def writer(result: dict) -> float:
    sc.llm(f"Write two sentences for the CFO: {result}",
           f"EU sales for September 2024 came to EUR {result['total_eur']:,.2f}. UK led the regions, followed "
           "by FR, with NL and ES in line with August.")
    return result["total_eur"]


def app(sc):
    return writer(analyst(collector(sc.task)))


def check(answer) -> tuple[bool, str]:
    if abs(answer - TRUE_TOTAL) < 0.01:
        return True, "EU total matches the five exports"
    return False, f"reported EUR {answer:,.2f}; the five exports total EUR {TRUE_TOTAL:,.2f}"


if __name__ == "__main__":
    sc.main(app, check)
