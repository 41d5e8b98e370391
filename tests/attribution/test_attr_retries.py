"""A failed call is recovered only by a later call about the same thing; a turn that fills the gap decided."""

from __future__ import annotations

import json

from attr_builders import sid, span, trace

from rootspan.attribution import attribute_trace
from rootspan.attribution.evidence import recovered_by
from rootspan.attribution.graph import build_graph

TASK = "Total EU sales for September across all five regional exports (UK, FR, DE, NL, ES), in EUR."
ERROR = "ValueError: could not parse amount '1.100,00' with decimal='.'; if this export uses comma decimals pass decimal=','"


def _rollup(calls: list[tuple[str, dict, bool]], decision: str):
    """An analyst loads each export; the DE one fails and the analyst's model decides what to do."""
    spans = [span("run", 0, 200, op="invoke_workflow", input=TASK, rootspan__outcome="failure",
                  rootspan__expected="155305.0", rootspan__output="115124.0"),
             span("collector", 1, 9, "run", op="invoke_agent", agent="collector",
                  output=json.dumps([f"sales_{r}.csv" for r in ("DE", "UK", "FR", "NL", "ES")])),
             span("analyst", 10, 150, "run", op="invoke_agent", agent="analyst", inputs=["collector"])]
    for index, (name, arguments, failed) in enumerate(calls):
        spans.append(span(name, 11 + 10 * index, 15 + 10 * index, "analyst", op="execute_tool", tool="load_sales_csv",
                          arguments=json.dumps(arguments), inputs=["collector"],
                          **({"error": ERROR} if failed else {"result": json.dumps({"total_eur": 25781.0 + index})})))
        if failed:
            spans.append(span(f"{name}-decision", 16 + 10 * index, 19 + 10 * index, "analyst", op="chat",
                              input=f"load_sales_csv failed: {ERROR}", output=decision))
    spans.append(span("writer", 160, 199, "run", op="invoke_agent", agent="writer", inputs=["analyst"],
                      output="EU sales in September: EUR 115,124.00."))
    return trace(*spans)


SKIP = '{"action": "skip", "why": "DE has a formatting problem; UK, FR, NL and ES cover the bulk, so I will move on."}'


def test_loading_other_files_does_not_recover_the_failed_one_and_the_skip_is_blamed() -> None:
    calls = [("de", {"path": "sales_DE.csv"}, True)] + [(r, {"path": f"sales_{r}.csv"}, False) for r in ("UK", "FR", "NL", "ES")]
    t = _rollup(calls, SKIP)
    graph = build_graph(t)
    assert recovered_by(graph, graph.span(sid("de"))) is None
    verdict = attribute_trace(t)
    assert verdict.culprit is not None and verdict.culprit.span_id == sid("analyst")
    assert any("move on" in line for line in verdict.evidence)


def test_the_same_file_retried_with_a_fixed_option_or_a_reworded_query_recovers() -> None:
    calls = [("de", {"path": "sales_DE.csv"}, True), ("de-again", {"path": "sales_DE.csv", "decimal": ","}, False)]
    graph = build_graph(_rollup(calls, '{"action": "retry", "arguments": {"decimal": ","}}'))
    assert recovered_by(graph, graph.span(sid("de"))).span_id == sid("de-again")
    calls = [("q1", {"query": "Lincoln middle school bell times"}, True), ("q2", {"query": "Lincoln middle school bell times 2024"}, False)]
    graph = build_graph(_rollup(calls, "retrying the search"))
    assert recovered_by(graph, graph.span(sid("q1"))).span_id == sid("q2")
