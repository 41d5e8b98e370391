"""An agent app traced by the real tracer, one trace per way a run can end; used as a subprocess.

``python outcomes_app.py RUN_DIR`` writes four traces (in this order, a millisecond apart):
1. ``recovered``: a tool raises, the agent catches it and answers from another tool; no outcome.
2. ``unrecovered``: a tool raises and nothing catches it, so the exception leaves the workflow.
3. ``told-failure``: no span errors, the app records ``outcome(success=False, reason=...)``.
4. ``told-success-after-retry``: a tool call errors, its retry succeeds, the app records success.
The failed ones are 2 and 3 under the shared definition (``Trace.failed``).
"""

from __future__ import annotations

import sys
import time

import rootspan.tracer as rs

REASON = "answered 41, expected 42"


@rs.tool("search")
def search(query: str, fail: bool) -> str:
    if fail:
        raise ConnectionError(f"search backend unreachable for {query!r}")
    return "42"


@rs.tool("cache")
def cache(query: str) -> str:
    return "42"


def recovered() -> None:
    with rs.workflow("recovered"):
        with rs.agent_span("solver"):
            try:
                search("answer", fail=True)
            except ConnectionError:
                cache("answer")


def unrecovered() -> None:
    try:
        with rs.workflow("unrecovered"):
            with rs.agent_span("solver"):
                search("answer", fail=True)
    except ConnectionError:
        pass  # outside the trace: the run itself died of it


def told_failure() -> None:
    with rs.workflow("told-failure"):
        with rs.agent_span("solver"):
            with rs.llm_call(model="tiny", provider="local") as call:
                call.usage(input_tokens=12, output_tokens=3)
        rs.outcome(success=False, reason=REASON, expected="42")


def told_success_after_retry() -> None:
    with rs.workflow("told-success-after-retry"):
        with rs.agent_span("solver"):
            try:
                search("answer", fail=True)
            except ConnectionError:
                search("answer", fail=False)
        rs.outcome(success=True, expected="42")


def main(run_dir: str) -> None:
    rs.setup(service="outcomes-app", run_dir=run_dir, profile="off")
    for scenario in (recovered, unrecovered, told_failure, told_success_after_retry):
        scenario()
        time.sleep(0.002)  # distinct start times: the traces list in this order
    rs.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
