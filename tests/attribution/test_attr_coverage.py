"""A tool result that ends days before the date range it was asked for (a stale cache, a cut page)."""

from __future__ import annotations

import json

from attr_builders import sid, span, trace

from rootspan.attribution import attribute_trace
from rootspan.attribution.coverage import rule_result_short_of_request
from rootspan.attribution.evidence import Weights
from rootspan.attribution.graph import build_graph

TASK = "Flag any service whose daily spend from 2023-05-12 to 2023-05-18 is above 3x its 7-day average."


def _daily(first: int, last: int) -> str:
    return json.dumps({"results": [{"date": f"2023-05-{day:02d}", "egress_usd": 310.0} for day in range(first, last + 1)]})


def _cost_report(result: str, end: str = "2023-05-18", outcome: str = "failure"):
    """An analyst pulls daily spend from a billing API and a writer posts the weekly summary."""
    return trace(
        span("run", 0, 100, op="invoke_workflow", step=0, input=TASK, **{"rootspan.outcome": outcome}),
        span("analyst", 1, 50, "run", op="invoke_agent", agent="cost_analyst", step=1),
        span("billing", 2, 10, "analyst", op="execute_tool", tool="get_daily_cost", step=2,
             arguments=json.dumps({"start": "2023-05-05", "end": end}), result=result),
        span("analyst-llm", 11, 49, "analyst", op="chat", step=3, inputs=["billing"],
             input=f"Flag anomalies in: {result}", output="No anomalies: egress flat at $310/day."),
        span("writer", 51, 99, "run", op="invoke_agent", agent="report_writer", step=4, inputs=["analyst"]),
        span("writer-llm", 52, 98, "writer", op="chat", step=5, input="Post: No anomalies: egress flat at $310/day.",
             output="Weekly FinOps: no anomalies, spend ~$2.2k/week. No action needed."),
    )


def _found(t):
    return list(rule_result_short_of_request(build_graph(t), Weights()))


def test_a_daily_series_that_stops_days_before_the_asked_end_blames_the_tool() -> None:
    t = _cost_report(_daily(5, 14))
    (item,) = _found(t)
    assert item.span_id == sid("billing") and item.category == "tool_wrong_result"
    assert "2023-05-18" in item.sentence and "2023-05-14" in item.sentence
    verdict = attribute_trace(t)
    top = verdict.culprit or verdict.alternatives[0]
    assert top.span_id == sid("billing")  # the writer's unsupported figure is a consequence of the gap


def test_complete_lagging_sparse_or_future_results_are_not_short() -> None:
    assert _found(_cost_report(_daily(5, 18))) == []
    assert _found(_cost_report(_daily(5, 17))) == []  # one day behind: a reporting lag
    sparse = json.dumps([{"date": d, "amount": 23.4} for d in ("2023-05-05", "2023-05-09", "2023-05-15")])
    assert _found(_cost_report(sparse)) == []  # purchases on three days: gaps are normal
    releases = json.dumps([{"episode": n, "publishes": f"2023-05-{d:02d}"} for n, d in enumerate((5, 6, 9, 14), 1)])
    assert _found(_cost_report(releases)) == []  # irregular release days: the last one may come early
    # asked through the end of the year on the day of the call (November 2023): nothing after it can exist
    assert _found(_cost_report(json.dumps([{"date": f"2023-11-{d:02d}"} for d in range(1, 14)]), end="2023-12-31")) == []
    assert _found(_cost_report(_daily(5, 14), outcome="success")) == []


def _telemetry(arguments: dict, result: dict):
    """A plant analyst asks for one day's telemetry; a planner schedules from the analyst's summary."""
    return trace(
        span("run", 0, 100, op="invoke_workflow", step=0, input="Plan maintenance from yesterday's telemetry.",
             **{"rootspan.outcome": "failure"}),
        span("analyst", 1, 50, "run", op="invoke_agent", agent="telemetry_analyst", step=1),
        span("historian", 2, 10, "analyst", op="execute_tool", tool="string_telemetry", step=2,
             arguments=json.dumps(arguments), result=json.dumps(result)),
        span("analyst-llm", 11, 49, "analyst", op="chat", step=3, inputs=["historian"],
             input=f"Flag tripped strings: {json.dumps(result)}", output="All strings ok."),
    )


ROWS = [{"string": f"S{n}", "date": "2023-06-02", "kwh": 410.0} for n in range(1, 6)]


def test_a_dated_snapshot_from_days_before_the_day_asked_for_is_stale() -> None:
    (item,) = _found(_telemetry({"site": "SF-2", "day": "2023-06-10"},
                                {"requested_day": "2023-06-10", "as_of": "2023-06-02", "rows": ROWS}))
    assert item.span_id == sid("historian") and "2023-06-02" in item.sentence


def test_a_bound_or_a_fresh_answer_is_not_a_stale_snapshot() -> None:
    # invoices due before a day are all earlier: that is what was asked
    assert _found(_telemetry({"due_before": "2023-06-10"}, {"rows": ROWS})) == []
    fresh = [dict(row, date="2023-06-10") for row in ROWS]
    assert _found(_telemetry({"day": "2023-06-10"}, {"requested_day": "2023-06-10", "rows": fresh})) == []
    # a record with its own history (created, updated) is not a snapshot of a day
    assert _found(_telemetry({"day": "2023-06-10"}, {"customer": "C-1", "since": "2019-03-01", "updated": "2021-01-04"})) == []
