"""Replenishment feed: data_puller -> analyst -> formatter.

The replenishment service parses the answer as a JSON array. The data puller exports week 37 sales
lines, the analyst's tool ranks SKUs by units and totals revenue correctly (SKU-10442: 100 x $19.99
= 1999.00), and the formatter, the last step, returns a CSV table with a header row instead of the
required JSON.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import csv, io, json

from harness import Scenario
import rootspan.tracer as rs

LINES = """order_id,sku,qty,unit_price_usd,week
O-88101,SKU-10442,12,19.99,2024-W37
O-88102,SKU-20981,3,149.00,2024-W37
O-88103,SKU-10442,40,19.99,2024-W37
O-88104,SKU-30017,25,4.50,2024-W37
O-88105,SKU-44120,8,89.90,2024-W37
O-88106,SKU-30017,60,4.50,2024-W37
O-88107,SKU-51002,15,12.00,2024-W37
O-88108,SKU-20981,9,149.00,2024-W37
O-88109,SKU-10442,48,19.99,2024-W37
O-88110,SKU-62233,30,7.25,2024-W37
O-88111,SKU-51002,22,12.00,2024-W37
O-88112,SKU-44120,14,89.90,2024-W37
O-88113,SKU-62233,18,7.25,2024-W37
O-88114,SKU-30017,11,4.50,2024-W37
O-88115,SKU-70345,5,249.00,2024-W37
O-88116,SKU-51002,9,12.00,2024-W37
"""
sc = Scenario(
    "csv-instead-of-json", klass="constraint",
    task="Return the top 5 SKUs by units sold in week 2024-W37 as a JSON array of objects with keys sku, units, "
         "revenue_usd. The output is parsed directly by the replenishment service.",
    description="the formatter emits a CSV table where a JSON array was required",
    category="disobey_task_spec",
)


@rs.tool("sales_export")
def sales_export(week: str) -> str:
    return LINES


@rs.tool("top_skus")
def top_skus(csv_text: str, n: int) -> list:
    agg: dict = {}
    for r in csv.DictReader(io.StringIO(csv_text)):
        a = agg.setdefault(r["sku"], {"sku": r["sku"], "units": 0, "revenue_usd": 0.0})
        a["units"] += int(r["qty"])
        a["revenue_usd"] = round(a["revenue_usd"] + int(r["qty"]) * float(r["unit_price_usd"]), 2)
    return sorted(agg.values(), key=lambda a: -a["units"])[:n]


@rs.agent("data_puller")
def data_puller() -> str:
    return sales_export("2024-W37")


@rs.agent("analyst")
def analyst(text: str) -> list:
    return top_skus(text, 5)


@rs.agent("formatter")
def formatter(task: str, rows: list) -> str:
    out = sc.llm(
        [{"role": "system", "content": "You format results for downstream systems."},
         {"role": "user", "content": f"{task}\n\nRows: {rows}"}],
        "sku,units,revenue_usd\n" + "\n".join(f"{r['sku']},{r['units']},{r['revenue_usd']:.2f}" for r in rows),
    )
    sc.mark_culprit(agent="formatter")
    return out


def app(sc):
    return formatter(sc.task, analyst(data_puller()))


def check(answer):
    try:
        data = json.loads(answer)
    except json.JSONDecodeError as exc:
        return False, f"replenishment service could not parse the feed: {exc}"
    ok = isinstance(data, list) and len(data) == 5 and all({"sku", "units", "revenue_usd"} <= set(d) for d in data)
    return ok, "ok" if ok else "feed has the wrong shape"


if __name__ == "__main__":
    sc.main(app, check)
