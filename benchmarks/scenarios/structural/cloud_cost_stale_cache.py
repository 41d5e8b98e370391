"""Cloud cost anomaly report: the cost API serves a stale cached snapshot, so the spike is missed.

A scoping agent lists the accounts of the platform org (its first call is throttled and the retry
works), a cost analyst agent pulls daily spend per service from the billing gateway and flags
anomalies, and a report writer sends the weekly FinOps summary. The billing gateway answers the
daily-spend query from a cache keyed without the end date, so it returns the snapshot taken on
2024-09-14 even though 2024-09-18 was asked for. The NAT gateway egress spike on acct 4471-0093
(16-18 Sep, ~$6.9k/day instead of ~$310) is not in it, and the report says "no anomalies".
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

ACCOUNTS = [{"id": "4471-0093", "name": "platform-prod"}, {"id": "4471-0107", "name": "platform-staging"},
            {"id": "4471-0112", "name": "data-lake"}]
BASE = {"EC2": 1840.0, "S3": 412.0, "NAT Gateway": 310.0, "RDS": 966.0, "CloudWatch": 88.0}
DAYS = [f"2024-09-{d:02d}" for d in range(8, 19)]


def _live(account: str, day: str) -> dict:
    row = {k: v * (0.3 if account != "4471-0093" else 1.0) for k, v in BASE.items()}
    if account == "4471-0093" and day >= "2024-09-16":
        row["NAT Gateway"] = 6920.0 + (int(day[-2:]) - 16) * 140.0
    return {k: round(v, 2) for k, v in row.items()}


_throttle = {"n": 1}

sc = Scenario(
    "cloud-cost-stale-cache", klass="structural",
    task="Weekly FinOps check for the platform org: flag any service whose daily spend from 2024-09-12 to "
         "2024-09-18 is more than 3x its trailing 7-day average, and send the report to #finops-weekly.",
    description="The billing gateway returns a cached snapshot ending 2024-09-14 for a query through 2024-09-18; "
                "the NAT gateway egress spike after 16 Sep is absent and the report says no anomalies.",
    category="stale_data",
)


@rs.tool("list_org_accounts")
def list_org_accounts(org: str) -> list:
    if _throttle["n"]:
        _throttle["n"] -= 1
        raise RuntimeError("ThrottlingException: Rate exceeded (organizations:ListAccounts)")
    return ACCOUNTS


@rs.tool("get_daily_cost")
def get_daily_cost(account_id: str, start: str, end: str) -> dict:
    # the gateway's cache key is (account_id, start); the snapshot it holds was built on 2024-09-14
    cached_end = "2024-09-14"
    days = [d for d in DAYS if start <= d <= min(end, cached_end)]
    payload = {"account_id": account_id, "granularity": "DAILY", "currency": "USD",
               "results": [{"date": d, "by_service": _live(account_id, d)} for d in days],
               "x-cache": "HIT", "generated_at": "2024-09-14T23:10:04Z", "request_id": "cx-7f31a0e2"}
    if account_id == "4471-0093":
        sc.mark_culprit(agent="cost_analyst")
    return payload


@rs.agent("scoping_agent")
def scoping_agent(org: str) -> list:
    for _ in range(3):
        try:
            accts = list_org_accounts(org)
            break
        except RuntimeError:
            continue
    sc.llm(f"Which accounts belong in scope? {json.dumps(accts)}",
           "All three accounts are platform-org workloads: 4471-0093 (prod), 4471-0107 (staging), 4471-0112 (data-lake).")
    return accts


@rs.agent("cost_analyst")
def cost_analyst(accts: list) -> str:
    dumps = {}
    for a in accts:
        dumps[a["id"]] = get_daily_cost(a["id"], "2024-09-05", "2024-09-18")
    return sc.llm(
        [{"role": "system", "content": "Flag services whose daily spend in 12-18 Sep exceeds 3x their trailing "
                                       "7-day average. Report per account."},
         {"role": "user", "content": json.dumps(dumps)}],
        "No anomalies found. 4471-0093: EC2 ~$1,840/day, NAT Gateway ~$310/day, RDS ~$966/day, all flat. "
        "4471-0107 and 4471-0112 steady at ~30% of prod. Largest day-over-day change: S3 +0.0%.")


@rs.agent("report_writer")
def report_writer(findings: str) -> str:
    return sc.llm(f"Write the #finops-weekly post from: {findings}",
                  "FinOps weekly (12-18 Sep): no cost anomalies across platform-prod, platform-staging and "
                  "data-lake. Spend is flat week over week at ~$5.4k/day org-wide. No action needed.")


def app(sc):
    return report_writer(cost_analyst(scoping_agent("platform")))


def check(answer) -> tuple[bool, str]:
    if "nat" in answer.lower() and "anomal" in answer.lower() and "no cost anomalies" not in answer.lower():
        return True, "NAT gateway spike reported"
    return False, "report says no anomalies; NAT Gateway on 4471-0093 ran ~$6.9k/day from 16 Sep (22x baseline)"


if __name__ == "__main__":
    sc.main(app, check)
