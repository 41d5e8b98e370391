"""HR payroll, off-cycle spot bonus: hr_lookup -> payroll_calc -> payslip_writer.

The HR lookup agent pulls the Finance department roster and extracts Dana Whitfield's record.
It gets her name and ID right (E-1041) but copies the base salary from the next row
(E-1042, 91,200 instead of 84,000). The payroll calculator correctly applies 5% and the 22%
federal supplemental withholding to what it was given, and the payslip writer formats it; the
bonus register the check compares against says 4,200.00 gross.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from harness import Scenario
import rootspan.tracer as rs

ROSTER = [
    ("E-1036", "Priya Raman", "Controller", "2016-02-01", 142000),
    ("E-1037", "Tom Brecker", "Senior Accountant", "2019-07-15", 96500),
    ("E-1038", "Lucia Ferrante", "AP Specialist", "2021-03-08", 61800),
    ("E-1039", "Ken Ishida", "FP&A Analyst", "2022-01-10", 88300),
    ("E-1040", "Grace Oduya", "Payroll Lead", "2018-11-19", 93700),
    ("E-1041", "Dana Whitfield", "Financial Analyst II", "2020-09-14", 84000),
    ("E-1042", "Marcus Oyelaran", "Treasury Analyst", "2020-10-05", 91200),
    ("E-1043", "Sofia Lindqvist", "AR Specialist", "2023-04-24", 58900),
    ("E-1044", "Ravi Menon", "Tax Manager", "2017-06-12", 121400),
    ("E-1045", "Hannah Cole", "Staff Accountant", "2023-08-28", 67250),
    ("E-1046", "Diego Salas", "FP&A Manager", "2015-05-04", 134900),
    ("E-1047", "Mei Tanaka", "Audit Associate", "2024-01-08", 64100),
]
sc = Scenario(
    "bonus-neighbour-salary", klass="provenance",
    task="Pay Dana Whitfield (Finance) a one-off spot bonus of 5% of her annual base salary in the "
         "2024-06-28 off-cycle run, withholding 22% federal supplemental tax. Produce the payslip line.",
    description="the HR lookup agent copies the base salary of the next roster row (E-1042) into Dana's record",
    expected={"employee_id": "E-1041", "gross": 4200.00, "net": 3276.00}, category="tool_output_misread",
)
_turns: dict = {}


@rs.tool("hris_roster")
def hris_roster(department: str) -> str:
    lines = ["employee_id | name | title | hire_date | base_salary_usd", "---|---|---|---|---"]
    lines += [f"{e} | {n} | {t} | {h} | {s:,}" for e, n, t, h, s in ROSTER]
    return "\n".join(lines)


@rs.tool("bonus_calc")
def bonus_calc(base_salary: float, bonus_pct: float, withholding_pct: float) -> dict:
    gross = round(base_salary * bonus_pct / 100, 2)
    withheld = round(gross * withholding_pct / 100, 2)
    return {"gross": gross, "federal_withheld": withheld, "net": round(gross - withheld, 2)}


@rs.agent("hr_lookup")
def hr_lookup(task: str) -> dict:
    roster = hris_roster("Finance")
    reply = sc.llm(
        f"From the roster below, extract the employee record for the bonus request as JSON "
        f"(employee_id, name, title, base_salary).\nRequest: {task}\n\n{roster}",
        '{"employee_id": "E-1041", "name": "Dana Whitfield", "title": "Financial Analyst II", "base_salary": 91200}',
    )
    sc.mark_culprit(agent="hr_lookup")
    _turns["hr_lookup"] = rs.current_span_id()
    return json.loads(reply)


@rs.agent("payroll_calc")
def payroll_calc(record: dict) -> dict:
    rs.consumed(_turns["hr_lookup"])
    amounts = bonus_calc(record["base_salary"], 5, 22)
    return {**record, **amounts}


@rs.agent("payslip_writer")
def payslip_writer(line: dict) -> dict:
    text = sc.llm(
        f"Write the payslip line for the off-cycle run 2024-06-28: {json.dumps(line)}",
        f"Off-cycle run 2024-06-28 | {line['employee_id']} {line['name']}\n"
        f"Spot bonus (5% of ${line['base_salary']:,}): ${line['gross']:,.2f}\n"
        f"Federal supplemental withholding (22%): -${line['federal_withheld']:,.2f}\n"
        f"Net pay: ${line['net']:,.2f}",
    )
    return {"employee_id": line["employee_id"], "gross": line["gross"], "net": line["net"], "payslip": text}


def app(sc):
    record = hr_lookup(sc.task)
    line = payroll_calc(record)
    return payslip_writer(line)


def check(answer):
    if answer["employee_id"] != "E-1041" or abs(answer["gross"] - 4200.00) > 0.005:
        return False, f"bonus register expects 4,200.00 gross for E-1041; payslip has {answer['gross']:,.2f}"
    return True, "matches bonus register"


if __name__ == "__main__":
    sc.main(app, check)
