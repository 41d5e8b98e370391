"""Bug-fix bot: the test-runner sub-agent crashes on its own report once there are two test modules.

An orchestrator takes issue GH-4471 (pagination skips the first page), a coder writes a patch, and
a ``run_test_suite`` tool delegates to a test-runner sub-agent that executes the tests, writes a
JUnit XML report and parses it into a summary. Round 1's patch really fails a test and the coder
fixes it (a recovered failure). Round 2's patch is correct and adds a regression test module;
with two modules the report root becomes <testsuites>, which the runner's parser does not expect,
and it dies with KeyError: 'failures'. The orchestrator cannot verify the fix and does not open
the PR.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import xml.etree.ElementTree as ET

from harness import Scenario
import rootspan.tracer as rs

BASE_TESTS = {"tests/test_paginate.py": """
def test_first_page():
    assert paginate(list(range(10)), page=1, per_page=3) == [0, 1, 2]
def test_last_partial_page():
    assert paginate(list(range(10)), page=4, per_page=3) == [9]
def test_past_the_end():
    assert paginate(list(range(10)), page=5, per_page=3) == []
"""}
REGRESSION = {"tests/test_regressions.py": """
def test_gh_4471_page_one_not_skipped():
    assert paginate(["a", "b", "c", "d"], page=1, per_page=2) == ["a", "b"]
"""}

sc = Scenario(
    "pagination-bugfix-bot", klass="structural",
    task="Fix GH-4471: api/util.py paginate() skips the first page (page=1 returns items 3-5 for per_page=3). "
         "Patch it, run the test suite, and open a PR if everything passes.",
    description="The test-runner sub-agent's JUnit parser crashes with KeyError on a two-module report, so a "
                "correct patch is never verified and no PR is opened.",
    expected="pr_opened", category="exception",
)


def _run_tests(source: str, test_files: dict) -> ET.Element:
    suites = []
    for path, tests in test_files.items():
        scope: dict = {}
        exec(source, scope)
        exec(tests, scope)
        suite = ET.Element("testsuite", name=path)
        failures = 0
        for name in [n for n in scope if n.startswith("test_")]:
            case = ET.SubElement(suite, "testcase", name=name, classname=path)
            try:
                scope[name]()
            except AssertionError as exc:
                failures += 1
                ET.SubElement(case, "failure", message=str(exc) or "assertion failed")
        suite.set("tests", str(len(suite))); suite.set("failures", str(failures))
        suites.append(suite)
    if len(suites) == 1:
        return suites[0]
    root = ET.Element("testsuites")
    root.extend(suites)
    return root


@rs.agent("test_runner")
def test_runner(source: str, test_files: dict) -> dict:
    report = ET.tostring(_run_tests(source, test_files), encoding="unicode")
    root = ET.fromstring(report)
    try:
        failed = int(root.attrib["failures"])
    except KeyError:
        sc.mark_culprit(agent="test_runner")
        raise
    cases = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    sc.llm(f"Summarise this JUnit report for the coder:\n{report}",
           f"{failed} of {root.get('tests')} tests failed: {', '.join(cases) or 'none'}. "
           + ("test_past_the_end expects [] for page 5 but got items back." if failed else "All green."))
    return {"tests": int(root.get("tests")), "failed": failed, "failing": cases}


@rs.tool("run_test_suite")
def run_test_suite(patch: str, add_tests: dict | None = None) -> dict:
    return test_runner(patch, {**BASE_TESTS, **(add_tests or {})})


@rs.agent("coder")
def coder(issue: str, feedback: str | None) -> tuple[str, dict | None]:
    if feedback is None:
        patch = sc.llm(f"Fix this issue in paginate():\n{issue}",
                       "def paginate(items, page, per_page):\n"
                       "    start = (page - 1) * per_page\n"
                       "    return items[start:start + per_page] if start < len(items) - 1 else items[-1:]\n")
        return patch, None
    patch = sc.llm(f"The tests failed: {feedback}. Revise the patch and add a regression test for GH-4471.",
                   "def paginate(items, page, per_page):\n"
                   "    start = (page - 1) * per_page\n"
                   "    return items[start:start + per_page]\n")
    return patch, REGRESSION


@rs.agent("orchestrator")
def orchestrator(task: str) -> dict:
    feedback = None
    for round_no in (1, 2):
        patch, extra_tests = coder(task, feedback)
        try:
            result = run_test_suite(patch, extra_tests)
        except Exception as exc:
            sc.llm(f"run_test_suite raised {type(exc).__name__}: {exc}. What now?",
                   "The test runner itself crashed (KeyError: 'failures') before reporting, so I have no test "
                   "results for this patch. I won't open a PR on an unverified change; flagging GH-4471 for a human.")
            return {"status": "blocked", "round": round_no, "reason": f"{type(exc).__name__}: {exc}"}
        if result["failed"] == 0:
            return {"status": "pr_opened", "round": round_no}
        feedback = f"{result['failed']} failing: {result['failing']}"
    return {"status": "gave_up"}


def app(sc):
    return orchestrator(sc.task)


def check(answer) -> tuple[bool, str]:
    if answer.get("status") == "pr_opened":
        return True, "fix verified and PR opened"
    return False, f"no PR for GH-4471: {answer}"


if __name__ == "__main__":
    sc.main(app, check)
