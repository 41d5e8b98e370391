"""SQL analytics assistant: the analyst writes a query the database rejects, and the report says "no data".

A schema scout describes the warehouse tables, an analyst writes and runs the SQL (a real SQLite
database built in memory), and a reporter turns the rows into the answer. Both ``orders`` and
``customers`` have a ``region`` column (orders: where it shipped; customers: billing region). The
analyst's join selects and groups by bare ``region``, SQLite refuses with "ambiguous column name",
and the pipeline, which runs one query per analyst turn, hands the reporter an empty result.
The sanity ``COUNT(*)`` the analyst ran first worked fine.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import sqlite3

from harness import Scenario
import rootspan.tracer as rs

REGIONS = ["EMEA", "NA", "APAC", "LATAM"]


def build_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript("""
        CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, region TEXT, signup_date TEXT);
        CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer_id INTEGER, region TEXT, order_date TEXT,
                             amount_eur REAL, status TEXT);
    """)
    for cid in range(1, 41):
        db.execute("INSERT INTO customers VALUES (?, ?, ?, ?)",
                   (cid, f"Customer {cid:03d}", REGIONS[cid % 4], f"2023-{cid % 12 + 1:02d}-15"))
    for n in range(1, 181):
        month = 5 + n % 6  # May..Oct 2024
        status = "refunded" if n % 17 == 0 else "paid"
        db.execute("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
                   (f"SO-{24000 + n}", n % 40 + 1, REGIONS[(n * 3) % 4], f"2024-{month:02d}-{n % 27 + 1:02d}",
                    round(80 + (n * 37) % 900 + 0.5 * (n % 3), 2), status))
    return db


DB = build_db()
EXPECTED = {region: total for region, total in DB.execute(
    "SELECT region, ROUND(SUM(amount_eur), 2) FROM orders WHERE order_date BETWEEN '2024-07-01' AND '2024-09-30' "
    "AND status != 'refunded' GROUP BY region ORDER BY region")}

sc = Scenario(
    "q3-revenue-by-region", klass="structural",
    task="Net revenue per shipping region for Q3 2024 (1 Jul - 30 Sep), excluding refunded orders, in EUR. "
         "Include the customer count per region too.",
    description="The analyst's join uses a bare 'region' that exists in both tables; SQLite rejects the query and "
                "the report comes back empty.",
    expected=EXPECTED, category="tool_misuse",
)


@rs.tool("describe_tables")
def describe_tables(tables: list[str]) -> str:
    out = []
    for table in tables:
        cols = DB.execute(f"PRAGMA table_info({table})").fetchall()
        out.append(f"{table}(" + ", ".join(f"{c[1]} {c[2]}" for c in cols) + ")")
    return "\n".join(out)


@rs.tool("run_sql")
def run_sql(query: str) -> list[list]:
    return [list(row) for row in DB.execute(query).fetchall()]


@rs.agent("schema_scout")
def schema_scout(task: str) -> str:
    schema = describe_tables(["orders", "customers"])
    sc.llm(f"Which tables answer this? {task}\n{schema}",
           "orders has amount_eur, order_date, status and region (shipping region), customers has the billing "
           "region. For revenue per shipping region use orders.region; join customers on customer_id for counts.")
    return schema


@rs.agent("analyst")
def analyst(task: str, schema: str) -> list[list]:
    sanity = run_sql("SELECT COUNT(*) FROM orders WHERE order_date BETWEEN '2024-07-01' AND '2024-09-30'")
    query = sc.llm(
        [{"role": "system", "content": "You write SQLite. Reply with one SQL statement only."},
         {"role": "user", "content": f"{task}\nSchema:\n{schema}\nQ3 orders in table: {sanity[0][0]}"}],
        "SELECT region, ROUND(SUM(o.amount_eur), 2) AS net_revenue_eur, COUNT(DISTINCT c.customer_id) AS customers\n"
        "FROM orders o JOIN customers c ON c.customer_id = o.customer_id\n"
        "WHERE o.order_date BETWEEN '2024-07-01' AND '2024-09-30' AND o.status != 'refunded'\n"
        "GROUP BY region ORDER BY region;")
    sc.mark_culprit(agent="analyst")
    try:
        return run_sql(query)
    except sqlite3.Error:
        return []  # one query per turn; the reporter says what it got


@rs.agent("reporter")
def reporter(rows: list[list]) -> dict:
    if not rows:
        sc.llm("Report Q3 2024 net revenue per region from these rows: []",
               "The revenue query returned no rows, so I can't give Q3 2024 figures per region. It may be worth "
               "checking whether Q3 orders have been loaded into the warehouse yet.")
        return {}
    table = "\n".join(f"{r[0]}: EUR {r[1]:,.2f} ({r[2]} customers)" for r in rows)
    sc.llm(f"Report these rows:\n{table}", f"Q3 2024 net revenue by region:\n{table}")
    return {r[0]: r[1] for r in rows}


def app(sc):
    schema = schema_scout(sc.task)
    rows = analyst(sc.task, schema)
    return reporter(rows)


def check(answer) -> tuple[bool, str]:
    if answer == EXPECTED:
        return True, "revenue per region matches the ledger"
    return False, f"report has {answer or 'no figures'}; the ledger says {EXPECTED}"


if __name__ == "__main__":
    sc.main(app, check)
