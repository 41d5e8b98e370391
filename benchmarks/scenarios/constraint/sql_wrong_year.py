"""SQL analytics assistant over a real SQLite database: schema_scout -> query_writer -> executor -> reporter.

The question is about Q3 2024. The query writer's first SQL filters July-September **2023** and
also references a column that does not exist (``o.segment``); the database rejects it, the writer
fixes the join but keeps the 2023 date range, and the query then runs. The executor's result and
the reporter's cents-to-dollars formatting are correct for the query that ran; the number
answers the wrong year.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import re, sqlite3
from datetime import date, timedelta

from harness import Scenario
import rootspan.tracer as rs


def _database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript("""
        CREATE TABLE customers (customer_id TEXT PRIMARY KEY, name TEXT, segment TEXT, country TEXT);
        CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer_id TEXT, order_date TEXT, status TEXT, total_cents INTEGER);
    """)
    segments = ["EMEA", "AMER", "APAC"]
    for i in range(30):
        db.execute("INSERT INTO customers VALUES (?,?,?,?)", (f"C-{1000 + i}", f"Customer {i}", segments[i % 3],
                                                               ["DE", "US", "JP", "FR", "CA", "SG"][i % 6]))
    seed = 20240917
    for n in range(600):
        seed = (seed * 1103515245 + 12345) % 2**31
        day = date(2023, 1, 1) + timedelta(days=seed % 730)
        status = "completed" if seed % 10 < 8 else ("refunded" if seed % 10 == 8 else "cancelled")
        db.execute("INSERT INTO orders VALUES (?,?,?,?,?)", (f"O-{50000 + n}", f"C-{1000 + seed % 30}", day.isoformat(),
                                                             status, 1500 + seed % 250000))
    return db


DB = _database()
sc = Scenario(
    "sql-wrong-year", klass="constraint",
    task="What was total revenue from completed orders for EMEA customers in Q3 2024 (1 July to 30 September 2024)? "
         "Answer in USD.",
    description="the query writer filters Q3 2023 instead of Q3 2024; the query runs and is reported correctly",
    category="disobey_task_spec",
)
SQL_1 = ("SELECT SUM(o.total_cents) AS revenue_cents FROM orders o WHERE o.segment = 'EMEA' AND o.status = 'completed' "
         "AND o.order_date BETWEEN '2023-07-01' AND '2023-09-30';")
SQL_2 = ("SELECT SUM(o.total_cents) AS revenue_cents FROM orders o JOIN customers c ON c.customer_id = o.customer_id "
         "WHERE c.segment = 'EMEA' AND o.status = 'completed' AND o.order_date BETWEEN '2023-07-01' AND '2023-09-30';")


@rs.tool("list_tables")
def list_tables() -> list:
    return [r[0] for r in DB.execute("SELECT name FROM sqlite_master WHERE type='table'")]


@rs.tool("describe_table")
def describe_table(table: str) -> list:
    return [{"column": r[1], "type": r[2]} for r in DB.execute(f"PRAGMA table_info({table})")]


@rs.tool("run_sql")
def run_sql(query: str) -> list:
    cur = DB.execute(query)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


@rs.agent("schema_scout")
def schema_scout() -> dict:
    return {t: describe_table(t) for t in list_tables()}


@rs.agent("query_writer")
def query_writer(task: str, schema: dict, error: str | None = None) -> str:
    if error is None:
        reply = sc.llm(f"Question: {task}\nSchema: {schema}\nWrite one SQLite query.",
                       f"Revenue for the quarter from completed EMEA orders:\n```sql\n{SQL_1}\n```")
        sc.mark_culprit(agent="query_writer")
    else:
        reply = sc.llm(f"The query failed: {error}\nSchema: {schema}\nFix it.",
                       f"`segment` lives on `customers`, so join it in:\n```sql\n{SQL_2}\n```")
    return re.search(r"```sql\n(.*?)\n```", reply, re.S).group(1)


@rs.agent("executor")
def executor(query: str) -> dict:
    try:
        return {"rows": run_sql(query)}
    except sqlite3.OperationalError as exc:
        return {"error": str(exc)}


@rs.agent("reporter")
def reporter(task: str, rows: list) -> float:
    usd = rows[0]["revenue_cents"] / 100
    sc.llm(f"Answer: {task}\nResult: {rows}", f"Total revenue from completed EMEA orders in Q3 was **${usd:,.2f}**.")
    return usd


def app(sc):
    schema = schema_scout()
    query = query_writer(sc.task, schema)
    result = executor(query)
    if "error" in result:
        query = query_writer(sc.task, schema, error=result["error"])
        result = executor(query)
    return reporter(sc.task, result["rows"])


def check(answer):
    cents = DB.execute("SELECT SUM(total_cents) FROM orders o JOIN customers c USING (customer_id) WHERE c.segment='EMEA' "
                       "AND o.status='completed' AND o.order_date BETWEEN '2024-07-01' AND '2024-09-30'").fetchone()[0]
    if abs(answer - cents / 100) > 0.005:
        return False, f"answered ${answer:,.2f}; finance's Q3 2024 EMEA revenue is ${cents / 100:,.2f}"
    return True, "ok"


if __name__ == "__main__":
    sc.main(app, check)
