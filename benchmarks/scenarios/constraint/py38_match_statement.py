"""Code generation with a test loop: spec_writer -> coder -> test_runner -> coder -> test_runner -> reviewer -> packager.

The library supports Python 3.8 (python_requires >= 3.8). The coder's first version, with
if/elif, fails the compound-duration test ("1h30m"). Asked to fix it, the coder rewrites the loop
with a ``match`` statement, which needs Python 3.10. The tests pass on the 3.11 dev interpreter,
the reviewer approves and the packager builds; the 3.8 CI job cannot even parse the module.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import ast, re

from harness import Scenario
import rootspan.tracer as rs

CODE_1 = '''import re


def parse_duration(s: str) -> int:
    m = re.fullmatch(r"(\\d+)([smh])", s.strip())
    if not m:
        raise ValueError(f"bad duration: {s!r}")
    n, unit = int(m.group(1)), m.group(2)
    if unit == "s":
        return n
    elif unit == "m":
        return n * 60
    return n * 3600
'''
CODE_2 = '''import re

_PART = re.compile(r"(\\d+)([smh])")


def parse_duration(s: str) -> int:
    s = s.strip()
    if not s or _PART.sub("", s):
        raise ValueError(f"bad duration: {s!r}")
    total = 0
    for n, unit in _PART.findall(s):
        match unit:
            case "h":
                total += int(n) * 3600
            case "m":
                total += int(n) * 60
            case "s":
                total += int(n)
    return total
'''
CASES = [("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("2h5m10s", 7510)]
sc = Scenario(
    "py38-match-statement", klass="constraint",
    task="Add parse_duration(s) -> int (seconds) to timeparse/duration.py: accepts '90s', '15m', '2h' and compound forms "
         "like '1h30m'; raises ValueError otherwise. The package supports Python 3.8+ (python_requires >= 3.8).",
    description="on its second attempt the coder uses a match statement (Python 3.10+) in a package that must run on 3.8",
    category="disobey_task_spec",
)


@rs.tool("run_tests")
def run_tests(source: str) -> dict:
    ns: dict = {}
    exec(compile(source, "timeparse/duration.py", "exec"), ns)
    failures = []
    for text, want in CASES:
        try:
            got = ns["parse_duration"](text)
            if got != want:
                failures.append(f"parse_duration({text!r}) == {got}, expected {want}")
        except Exception as exc:  # noqa: BLE001 - a raising case is a failed case
            failures.append(f"parse_duration({text!r}) raised {type(exc).__name__}: {exc}")
    try:
        ns["parse_duration"]("10x")
        failures.append("parse_duration('10x') did not raise")
    except ValueError:
        pass
    return {"interpreter": f"{sys.version_info.major}.{sys.version_info.minor}", "passed": len(CASES) + 1 - len(failures),
            "failed": len(failures), "failures": failures}


@rs.tool("build_wheel")
def build_wheel(source: str, version: str) -> dict:
    compile(source, "timeparse/duration.py", "exec")
    return {"artifact": f"timeparse-{version}-py3-none-any.whl", "status": "built"}


@rs.agent("spec_writer")
def spec_writer(task: str) -> str:
    return sc.llm(task, "Acceptance cases:\n" + "\n".join(f"- `{t}` -> {w}" for t, w in CASES) + "\n- `10x` -> ValueError")


@rs.agent("coder")
def coder(task: str, spec: str, failures: list | None = None) -> str:
    if failures is None:
        reply = sc.llm(f"{task}\n{spec}", f"Here's a first version:\n```python\n{CODE_1}```")
    else:
        reply = sc.llm("Tests failed:\n" + "\n".join(failures) + "\nFix parse_duration.",
                       "The single regex can't handle compound durations. I'll scan all `<number><unit>` parts and "
                       f"dispatch on the unit with structural pattern matching, which reads cleanly:\n```python\n{CODE_2}```")
        sc.mark_culprit(agent="coder")
    return re.search(r"```python\n(.*?)```", reply, re.S).group(1)


@rs.agent("test_runner")
def test_runner(source: str) -> dict:
    return run_tests(source)


@rs.agent("reviewer")
def reviewer(source: str, result: dict) -> str:
    return sc.llm(f"Review this change. Test result: {result}\n```python\n{source}```",
                  "LGTM. All 6 cases pass, compound forms are handled and invalid input raises ValueError. "
                  "Nice use of a compiled module-level regex.")


@rs.agent("packager")
def packager(source: str) -> dict:
    return build_wheel(source, "0.4.0")


def app(sc):
    spec = spec_writer(sc.task)
    source = coder(sc.task, spec)
    result = test_runner(source)
    if result["failed"]:
        source = coder(sc.task, spec, result["failures"])
        result = test_runner(source)
    reviewer(source, result)
    packager(source)
    return source


def check(answer):
    try:
        ast.parse(answer, feature_version=(3, 8))
    except SyntaxError as exc:
        return False, f"CI py3.8: SyntaxError: {exc.msg} (line {exc.lineno})"
    return True, "ok on 3.8"


if __name__ == "__main__":
    sc.main(app, check)
