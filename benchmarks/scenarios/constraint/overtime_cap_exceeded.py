"""Weekly contractor payroll, one pay turn per contractor: intake -> pay_calc (x6) -> fx -> payout_writer -> approver.

Policy HR-OT-3 pays overtime (hours above 40) at 1.5x and caps it at 8 hours per contractor per week.
For each contractor the pay agent reads the timesheet and the rate card and states regular and
overtime hours. It applies the cap correctly for CT-106 (49 h -> 8 OT), but for CT-103 (52 h) it
pays all 12 overtime hours. Gross pay is multiplied out correctly from the stated hours, the FX
agent converts GBP and USD to EUR correctly, and the payout file and approval restate the figures.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from harness import Scenario
import rootspan.tracer as rs

CONTRACTORS = {  # id: (name, hours in 2024-W45, hourly rate, currency)
    "CT-101": ("Ines Duarte", 46.0, 62.00, "EUR"), "CT-102": ("Callum Reid", 40.0, 55.00, "GBP"),
    "CT-103": ("Mateo Alvarez", 52.0, 70.00, "USD"), "CT-104": ("Anja Petrovic", 38.5, 58.00, "EUR"),
    "CT-105": ("Yusuf Demir", 44.0, 49.50, "EUR"), "CT-106": ("Grace Whitlock", 49.0, 60.00, "GBP"),
}
TO_EUR = {"EUR": 1.0, "GBP": 1.1942, "USD": 0.9318}
STATED_OT = {"CT-101": 6.0, "CT-102": 0.0, "CT-103": 12.0, "CT-104": 0.0, "CT-105": 4.0, "CT-106": 8.0}
sc = Scenario(
    "overtime-cap-exceeded", klass="constraint",
    task="Run contractor payroll for week 2024-W45 (Platform team, 6 contractors). Policy HR-OT-3: hours above 40 are "
         "overtime at 1.5x the hourly rate, capped at 8 overtime hours per contractor per week (excess is not paid). "
         "Produce the payout file in EUR.",
    description="for CT-103 the pay agent pays 12 overtime hours, above the policy's 8-hour cap",
    category="disobey_task_spec",
)


@rs.tool("roster")
def roster(team: str) -> list:
    return list(CONTRACTORS)


@rs.tool("timesheet")
def timesheet(contractor_id: str, week: str) -> dict:
    hours = CONTRACTORS[contractor_id][1]
    days = [8.0] * 5
    days[-1] += hours - 40.0
    return {"contractor": contractor_id, "week": week, "daily_hours": days, "total_hours": hours, "approved_by": "M. Osei"}


@rs.tool("rate_card")
def rate_card(contractor_id: str) -> dict:
    name, _, rate, cur = CONTRACTORS[contractor_id]
    return {"contractor": contractor_id, "name": name, "hourly_rate": rate, "currency": cur, "contract": f"SOW-24-{contractor_id[-3:]}"}


@rs.tool("fx_rates")
def fx_rates(base: str, date: str) -> dict:
    return TO_EUR


@rs.agent("intake")
def intake(task: str) -> list:
    return roster("platform")


@rs.agent("pay_calc")
def pay_calc(cid: str) -> dict:
    ts, rc = timesheet(cid, "2024-W45"), rate_card(cid)
    total, ot = ts["total_hours"], STATED_OT[cid]
    regular = min(total, 40.0)
    over = total - 40
    note = "" if over <= 0 else f" ({over:g} h over 40{', capped at 8' if ot < over else ''})"
    reply = sc.llm(f"Policy HR-OT-3 (OT > 40 h at 1.5x, max 8 OT h/week). Timesheet: {json.dumps(ts)} Rate: {json.dumps(rc)}",
                   f"{rc['name']}: {regular:g} regular h, {ot:g} overtime h{note}.\n"
                   f'{{"contractor": "{cid}", "regular_hours": {regular}, "overtime_hours": {ot}}}')
    if cid == "CT-103":
        sc.mark_culprit(agent="pay_calc")
    hours = json.loads(reply[reply.index("{"):])
    gross = round(hours["regular_hours"] * rc["hourly_rate"] + hours["overtime_hours"] * rc["hourly_rate"] * 1.5, 2)
    return {**hours, "name": rc["name"], "currency": rc["currency"], "gross": gross}


@rs.agent("fx")
def fx(lines: list) -> list:
    rates = fx_rates("EUR", "2024-11-08")
    return [{**l, "gross_eur": round(l["gross"] * rates[l["currency"]], 2)} for l in lines]


@rs.agent("payout_writer")
def payout_writer(lines: list) -> str:
    rows = "\n".join(f"{l['contractor']},{l['name']},{l['regular_hours']:g},{l['overtime_hours']:g},{l['gross_eur']:.2f},EUR"
                     for l in lines)
    return sc.llm(f"Write the payout file for 2024-W45: {json.dumps(lines)}",
                  f"contractor_id,name,regular_h,overtime_h,amount,currency\n{rows}")


@rs.agent("approver")
def approver(lines: list, payout: str) -> None:
    total = round(sum(l["gross_eur"] for l in lines), 2)
    sc.llm(f"Approve payout totalling EUR {total:,.2f}?\n{payout}",
           f"Approved: 6 contractors, EUR {total:,.2f} total for 2024-W45. Releasing to the payments queue.")


def app(sc):
    lines = [pay_calc(cid) for cid in intake(sc.task)]
    lines = fx(lines)
    approver(lines, payout_writer(lines))
    return lines


def check(answer):
    over = {l["contractor"]: l["overtime_hours"] for l in answer if l["overtime_hours"] > 8}
    return (not over, f"overtime above the HR-OT-3 cap of 8 h: {over}" if over else "ok")


if __name__ == "__main__":
    sc.main(app, check)
