"""Bug-fix pipeline with a rubber-stamp reviewer: the coder's patch contradicts its own reasoning.

Issue BK-1187: bookings_in_range() drops bookings on the end date. A triager finds the code, a
coder explains the fix ("keep start inclusive, make end inclusive: start <= d <= end") and writes
a patch, a verifier reviews the diff and a merge bot merges it. The coder's patch actually reads
``start < d <= end``: the end date is now included but the start date is dropped. The first
apply fails on a context mismatch and is re-applied with --ignore-whitespace (that part is fine).
The verifier approves from the description without running the test suite it has access to.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from datetime import date

from harness import Scenario
import rootspan.tracer as rs

REPO = {"bookings/query.py": (
    "from datetime import date\n\n\n"
    "def bookings_in_range(bookings, start, end):\n"
    '    """Bookings whose date falls in [start, end], both ends inclusive."""\n'
    "    return [b for b in bookings if start <= b['date'] < end]\n"
)}
OLD_LINE = "    return [b for b in bookings if start <= b['date'] < end]\n"
_apply_attempts = {"n": 0}

sc = Scenario(
    "booking-range-bugfix", klass="process",
    task="Fix BK-1187: bookings_in_range(bookings, start, end) in bookings/query.py leaves out bookings that fall on "
         "the end date. Both ends must be inclusive. Open, review and merge the fix.",
    description="The coder says it will make the range start <= d <= end but writes start < d <= end, dropping "
                "start-date bookings; the verifier approves without running tests.",
    expected="start <= d <= end", category="reasoning_action_mismatch",
)


@rs.tool("grep_repo")
def grep_repo(pattern: str) -> list[str]:
    return [f"{path}:{n}: {line}" for path, text in REPO.items()
            for n, line in enumerate(text.splitlines(), start=1) if pattern in line]


@rs.tool("read_file")
def read_file(path: str) -> str:
    return REPO[path]


@rs.tool("apply_patch")
def apply_patch(path: str, old: str, new: str, ignore_whitespace: bool = False) -> str:
    _apply_attempts["n"] += 1
    if not ignore_whitespace and _apply_attempts["n"] == 1:
        raise ValueError(f"error: patch failed: {path}:6\nhunk #1 FAILED at 6 (context mismatch: trailing whitespace)")
    REPO[path] = REPO[path].replace(old, new)
    return f"applied to {path}"


def _range_ids(source: str) -> list[str]:
    scope: dict = {}
    exec(source, scope)
    bookings = [{"id": f"B-{n}", "date": date(2024, 10, d)} for n, d in enumerate([1, 5, 9, 14], start=101)]
    return [b["id"] for b in scope["bookings_in_range"](bookings, date(2024, 10, 1), date(2024, 10, 9))]


@rs.tool("run_tests")
def run_tests(path: str) -> dict:
    got = _range_ids(REPO[path])
    ok = got == ["B-101", "B-102", "B-103"]
    return {"passed": int(ok), "failed": int(not ok), "test_inclusive_range": got}


@rs.tool("merge_pr")
def merge_pr(pr: int) -> str:
    return f"PR #{pr} merged into main (squash)"


@rs.agent("triager")
def triager(task: str) -> str:
    hits = grep_repo("def bookings_in_range")
    source = read_file("bookings/query.py")
    sc.llm(f"{task}\nMatches: {hits}\n{source}",
           "Found it: bookings/query.py line 4. The filter on line 6 uses `< end`, which excludes the end date.")
    return source


@rs.agent("coder")
def coder(task: str, source: str) -> str:
    reply = sc.llm(f"{task}\nCurrent code:\n{source}\nExplain the fix, then give the new line.",
                   "The docstring promises [start, end] inclusive on both ends, but the comparison against end is "
                   "strict. Keep the start comparison inclusive and make the end inclusive as well, i.e. "
                   "start <= d <= end.\n\nNEW LINE:\n"
                   "    return [b for b in bookings if start < b['date'] <= end]\n")
    new_line = reply.split("NEW LINE:\n", 1)[1]
    sc.mark_culprit(agent="coder")
    try:
        apply_patch("bookings/query.py", OLD_LINE, new_line)
    except ValueError:
        apply_patch("bookings/query.py", OLD_LINE, new_line, ignore_whitespace=True)
    return f"-{OLD_LINE}+{new_line}"


@rs.agent("verifier")
def verifier(task: str, diff: str) -> bool:
    verdict = sc.llm([{"role": "system", "content": "You review pull requests. Tools: run_tests(path). Reply "
                                                    "APPROVE or REQUEST_CHANGES with a reason."},
                      {"role": "user", "content": f"PR #482 for {task}\nDiff:\n{diff}"}],
                     "APPROVE. The end comparison is now inclusive, which is exactly what BK-1187 asks for. Small, "
                     "focused change. LGTM.")
    return verdict.startswith("APPROVE")


@rs.agent("merge_bot")
def merge_bot(approved: bool) -> str:
    return merge_pr(482) if approved else "not merged"


def app(sc):
    source = triager(sc.task)
    diff = coder(sc.task, source)
    merge_bot(verifier(sc.task, diff))
    return REPO["bookings/query.py"]


def check(answer) -> tuple[bool, str]:
    got = _range_ids(answer)
    if got == ["B-101", "B-102", "B-103"]:
        return True, "range inclusive on both ends"
    return False, f"bookings_in_range(1 Oct..9 Oct) returns {got}, expected B-101, B-102, B-103"


if __name__ == "__main__":
    sc.main(app, check)
