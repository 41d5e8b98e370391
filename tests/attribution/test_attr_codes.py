"""Codes and counts that look like arithmetic or limits: a SKU is not a subtraction, a price is not an alert count."""

from __future__ import annotations

import json

from attr_builders import span, trace

from rootspan.attribution.constraints import rule_constraints
from rootspan.attribution.evidence import Weights, rule_tool_arithmetic
from rootspan.attribution.graph import build_graph
from rootspan.attribution.provenance import build_provenance

TASK = "Send price-drop alerts for user U-77120, at most 2 alerts per day."


def _alerts(prices: list[dict], pushes: list[str]):
    spans = [
        span("run", 0, 100, op="invoke_workflow", input=TASK, rootspan__outcome="failure",
             rootspan__output=json.dumps({"alerts": pushes})),
        span("selector", 1, 40, "run", op="invoke_agent", agent="alert_selector",
             output=json.dumps(prices)),
        span("notifier", 41, 99, "run", op="invoke_agent", agent="notifier"),
    ]
    for index, sku in enumerate(pushes):
        spans.append(span(f"push-{index}", 42 + index, 43 + index, "notifier", op="execute_tool", tool="send_push",
                          arguments=json.dumps({"user_id": "U-77120", "sku": sku}), result=json.dumps({"message_id": f"pn-0000{index + 1}"})))
    return trace(*spans)


def test_a_tool_called_with_a_dashed_code_is_not_checked_as_arithmetic() -> None:
    graph = build_graph(_alerts([{"sku": "88-40213", "price": 139.0}], ["88-40213"]))
    assert list(rule_tool_arithmetic(graph, Weights())) == []


def test_prices_do_not_break_a_limit_on_a_count_of_alerts() -> None:
    prices = [{"sku": "88-40213", "price": 139.0}, {"sku": "61-10077", "price": 389.0}]
    graph = build_graph(_alerts(prices, ["88-40213", "61-10077"]))
    assert rule_constraints(graph, build_provenance(graph), Weights()) == []
