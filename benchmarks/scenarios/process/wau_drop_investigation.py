"""Product-analytics crew: asked for a WAU breakdown by platform, the analyst goes off debugging a crash.

A PM agent asks for week 37's weekly-active-user drop broken down by platform (web, iOS, Android)
versus week 36. The analyst pulls the daily active-user export (a ~2 KB CSV) and, in the same
turn, the error-log summary, sees an Android crash spike in build 5.14.2 and spends its turns on
the crash: stack traces, affected devices, a suggested fix. A reporter writes up what the analyst
produced. The deliverable, WAU per platform for W36 and W37, is never computed.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import csv
import io

from harness import Scenario
import rootspan.tracer as rs

PLATFORMS = {"web": 41200, "ios": 28900, "android": 33600}
W37_FACTOR = {"web": 0.99, "ios": 0.97, "android": 0.78}


def _daily_csv() -> str:
    rows = ["date,iso_week,platform,active_users,new_users,sessions"]
    for day in range(14):
        week = 36 if day < 7 else 37
        for platform, base in PLATFORMS.items():
            users = int(base * (W37_FACTOR[platform] if week == 37 else 1.0) * (0.92 + 0.02 * (day % 7)))
            rows.append(f"2024-09-{2 + day:02d},2024-W{week},{platform},{users},{users // 23},{int(users * 2.4)}")
    return "\n".join(rows) + "\n"


DAILY = _daily_csv()
WAU = {}
for r in csv.DictReader(io.StringIO(DAILY)):
    WAU.setdefault(r["platform"], {}).setdefault(r["iso_week"], []).append(int(r["active_users"]))
EXPECTED = {p: {w: round(sum(v) / len(v)) for w, v in weeks.items()} for p, weeks in WAU.items()}
ERRORS = """crash summary 2024-W37 (top 3 by count)
android 5.14.2  java.lang.IllegalStateException: Fragment PlayerFragment not attached to a context   18,412 events  9,870 users
android 5.14.2  android.database.sqlite.SQLiteDatabaseLockedException                               1,203 events    911 users
ios     5.14.1  EXC_BAD_ACCESS in AVPlayerItem observer                                               388 events    301 users
"""

sc = Scenario(
    "wau-drop-investigation", klass="process",
    task="WAU dropped in 2024-W37. Give me average daily active users per platform (web, iOS, Android) for W36 vs "
         "W37, so we can see which platform the drop comes from.",
    description="The analyst notices an Android crash spike and delivers a crash investigation instead of the "
                "requested per-platform W36/W37 active-user breakdown.",
    expected=EXPECTED, category="task_derailment",
)


@rs.tool("query_active_users")
def query_active_users(start: str, end: str, group_by: list[str]) -> str:
    return DAILY


@rs.tool("crash_summary")
def crash_summary(week: str) -> str:
    return ERRORS


@rs.tool("crash_details")
def crash_details(signature: str, build: str) -> dict:
    return {"signature": signature, "build": build, "top_devices": ["Pixel 7", "Galaxy S23", "Galaxy A54"],
            "first_seen": "2024-09-09T06:12Z", "stack_top": "PlayerFragment.onStreamEnded(PlayerFragment.kt:212)"}


@rs.agent("pm")
def pm(task: str) -> str:
    return sc.llm(task, "Analyst: please pull daily actives for 2 Sep - 15 Sep by platform and give W36 vs W37 "
                        "averages per platform. Reporter: one paragraph for the Monday review.")


@rs.agent("analyst")
def analyst(brief: str) -> dict:
    query_active_users("2024-09-02", "2024-09-15", ["date", "platform"])
    crashes = crash_summary("2024-W37")
    plan = sc.llm(f"{brief}\nCrash summary W37:\n{crashes}",
                  "Before the numbers: Android 5.14.2 has an IllegalStateException in PlayerFragment hitting ~9,900 "
                  "users this week. That's the interesting part, so I'll dig into the crash: devices, first-seen time "
                  "and the code path.")
    sc.mark_culprit(agent="analyst")
    details = crash_details("java.lang.IllegalStateException: Fragment PlayerFragment not attached", "5.14.2")
    findings = sc.llm(f"Crash details: {details}",
                      "Root cause is likely PlayerFragment.onStreamEnded (line 212) touching requireContext() after "
                      "the fragment is detached; first seen 9 Sep 06:12 UTC, right after the 5.14.2 rollout, mostly on "
                      "Pixel 7 and Galaxy S23/A54. Fix: guard with isAdded or move the callback to the view lifecycle.")
    return {"plan": plan, "findings": findings}


@rs.agent("reporter")
def reporter(result: dict) -> dict:
    text = sc.llm(f"Write the Monday-review paragraph from: {result['findings']}",
                  "W37 engagement: Android 5.14.2 shipped a crash in the player screen (PlayerFragment, ~9,900 users "
                  "affected since 9 Sep, mainly Pixel 7 and Galaxy S23/A54). The fix is a lifecycle guard in "
                  "onStreamEnded; recommend a 5.14.3 hotfix this week.")
    return {"summary": text, "wau": None}


def app(sc):
    return reporter(analyst(pm(sc.task)))


def check(answer) -> tuple[bool, str]:
    if answer.get("wau") == EXPECTED:
        return True, "per-platform W36/W37 actives delivered"
    return False, "no per-platform W36 vs W37 active-user figures in the answer"


if __name__ == "__main__":
    sc.main(app, check)
