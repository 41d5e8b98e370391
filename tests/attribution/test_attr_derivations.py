"""Derivations and comparisons the engine needs to follow a wrong value back to where it entered.

Each case is a failure the way it shows up in a user's trace: a total computed per category, an end
time computed from a start and a duration, a rounded figure, an answer whose one wrong field sits
among correct ones, an agent that filled the gap after a failed call. Traces are hand-built with
the tracer's span shapes (attr_builders).
"""

from __future__ import annotations

import json

from attr_builders import sid, span, trace

from rootspan.attribution import attribute_trace
from rootspan.attribution.expected import disagreeing_fields, leaf_values, parse_structured
from rootspan.attribution.graph import build_graph
from rootspan.attribution.provenance import DERIVED, NOVEL, build_provenance, group_totals
from rootspan.attribution.values import extract


def _claims(tr, name):
    graph = build_graph(tr)
    prov = build_provenance(graph)
    target = next(s for s in graph.order if s.name == name)
    return {claim.value.key: claim for claim in prov.claims.get(target.span_id, [])}


def _root(task: str, **attributes):
    return span("root", 0, 1000, op="invoke_workflow", input=task, rootspan__outcome="failure", **attributes)


EXPENSES = [
    {"receipt": "R-01", "category": "transport", "usd": 20.51},
    {"receipt": "R-02", "category": "meals", "usd": 15.63},
    {"receipt": "R-03", "category": "transport", "usd": 28.59},
    {"receipt": "R-04", "category": "transport", "usd": 33.4},
]


def test_a_per_group_total_of_a_table_is_derived_from_its_rows() -> None:
    table = span("fx", 10, 20, "root", op="execute_tool", tool="convert", result=json.dumps(EXPENSES))
    summary = span("agg", 30, 40, "root", op="invoke_agent", agent="aggregator",
                   output='{"transport": 82.5, "meals": 15.63, "total_usd": 98.13}')
    claims = _claims(trace(_root("Total my trip expenses by category."), table, summary), "invoke_agent aggregator")
    assert claims["n:82.5"].status == DERIVED
    assert claims["n:98.13"].status == DERIVED  # the column's total
    # the members of the total are the operands, so a wrong row is found behind a right sum
    assert set(claims["n:82.5"].operands) == {"n:20.51", "n:28.59", "n:33.4"}


def test_group_totals_need_a_real_grouping() -> None:
    how, members = group_totals(json.dumps(EXPENSES))["n:82.5"]
    assert how == "the sum of usd where category is transport" and len(members) == 3
    assert group_totals("not json") == {}
    assert group_totals(json.dumps(EXPENSES[:2])) == {}  # two rows: too few to call a table
    one_per_group = [{"id": f"A-{i}", "name": f"n{i}", "v": i} for i in range(5)]
    assert not any("where" in how for how, _ in group_totals(json.dumps(one_per_group)).values())


def test_an_end_time_is_a_start_plus_a_known_duration() -> None:
    slots = span("slots", 10, 20, "root", op="execute_tool", tool="free_slots", result='["2024-06-14T15:00", "2024-06-17T10:00"]')
    booker = span("booker", 30, 40, "root", op="invoke_agent", agent="booker",
                  output='{"start": "2024-06-17T10:00", "end": "2024-06-17T11:00"}')
    claims = _claims(trace(_root("Book a 60-minute review next week."), slots, booker), "invoke_agent booker")
    assert claims["d:2024-06-17T11:00"].status == DERIVED
    # a time nothing gave and no duration explains is the booker's own
    lost = span("booker", 30, 40, "root", op="invoke_agent", agent="booker", output='{"start": "2024-06-17T10:00", "end": "2024-06-17T11:20"}')
    assert _claims(trace(_root("Book a 60-minute review next week."), slots, lost), "invoke_agent booker")["d:2024-06-17T11:20"].status == NOVEL


def test_one_value_shown_rounded_and_a_percentage_change_are_derived() -> None:
    tool = span("means", 10, 20, "root", op="execute_tool", tool="daily_means", result='{"site_a": 3836.4, "q2": 950, "q3": 1200}')
    writer = span("writer", 30, 40, "root", op="invoke_agent", agent="writer", input="Notes: q2 950, q3 1200, site A 3836.4",
                  output="Site A used 3,836 kWh a day; throughput rose 26%.")
    claims = _claims(trace(_root("Summarise the quarter."), tool, writer), "invoke_agent writer")
    assert claims["n:3836"].status == DERIVED
    assert claims["n:26"].status == DERIVED


def test_a_tool_computes_only_from_its_arguments() -> None:
    # 12 = 20 - 8 from values elsewhere in the run is chance when the tool never saw them
    earlier = span("stock", 10, 20, "root", op="execute_tool", tool="stock", result='{"on_hand": 20, "reserved": 8}')
    tool = span("price", 30, 40, "root", op="execute_tool", tool="price", arguments='{"sku": "BX-1"}', result='{"price": 12}')
    assert _claims(trace(_root("Price BX-1."), earlier, tool), "execute_tool price")["n:12"].status == NOVEL


def test_the_expected_answer_is_compared_field_by_field() -> None:
    expected = '{"unsalted butter": 567}'
    answer = '{"bread flour": 1270, "unsalted butter": 544, "eggs": 500}'
    ((path, want, got),) = disagreeing_fields(expected, answer)
    assert path == ("unsalted butter",) and want == 567 and got == 544
    assert disagreeing_fields('{"a": 1}', '{"a": 1.0, "b": 2}') == []
    assert disagreeing_fields("42", "{}") is None  # a scalar expected answer is not a structure
    assert parse_structured("{'released': None}") == {"released": None}  # the Python literal agents print
    assert [value.key for value in leaf_values("1Z9A7W360312884427")] == ["i:1z9a7w360312884427"]


def test_the_disagreeing_field_decides_whom_a_structured_answer_blames() -> None:
    # the converter's tool returned the butter short; flour and eggs are right and must not vote
    steps = [
        span("fetch", 10, 20, "root", op="execute_tool", tool="get_recipe", result='{"flour_cups": 10, "butter_lb": 1.25, "eggs": 10}'),
        span("conv_flour", 30, 40, "root", op="execute_tool", tool="to_grams", arguments='{"cups": 10}', result="1270.0"),
        span("conv_butter", 41, 50, "root", op="execute_tool", tool="to_grams", arguments='{"lb": 1.25}', result="544.5"),
        span("conv_eggs", 51, 60, "root", op="execute_tool", tool="to_grams", arguments='{"eggs": 10}', result="500.0"),
        span("shopper", 70, 80, "root", op="invoke_agent", agent="shopper",
             output='{"bread flour": 1270, "unsalted butter": 544, "eggs": 500}'),
    ]
    root = _root("Scale the recipe and give the shopping list in grams.", rootspan__expected='{"unsalted butter": 567}',
                 rootspan__output='{"bread flour": 1270, "unsalted butter": 544, "eggs": 500}')
    verdict = attribute_trace(trace(root, *steps))
    from rootspan.attribution.whowhen import top_candidate

    assert top_candidate(verdict).span_id == sid("conv_butter")


def test_an_agent_that_fills_the_gap_after_a_failed_call_swallowed_the_error() -> None:
    steps = [
        span("agent", 10, 60, "root", op="invoke_agent", agent="order_agent",
             output="Order 8812-X shipped with DHL on 10 Sep; it arrives on 19 Sep."),
        span("status", 20, 30, "agent", op="execute_tool", tool="get_order_status", error="ConnectionResetError: reset by peer"),
        span("reply", 70, 80, "root", op="invoke_agent", agent="reply_writer", inputs=["agent"],
             output="Good news: order 8812-X shipped with DHL on 10 Sep and arrives on 19 Sep."),
    ]
    root = _root("Where is my order 8812-X?", rootspan__output="Good news: order 8812-X shipped with DHL on 10 Sep and arrives on 19 Sep.")
    verdict = attribute_trace(trace(root, *steps))
    assert verdict.culprit is not None and verdict.culprit.span_id == sid("agent")
    assert any("went on after" in line for line in verdict.evidence)
    # an agent that reports the failure swallowed nothing: the failed call stays the culprit
    steps[0] = span("agent", 10, 60, "root", op="invoke_agent", agent="order_agent", output="The order service failed; I could not get the status.")
    steps[2] = span("reply", 70, 80, "root", op="invoke_agent", agent="reply_writer", inputs=["agent"], output="Sorry, we could not look it up.")
    verdict = attribute_trace(trace(_root("Where is my order 8812-X?"), *steps))
    assert not any("went on after" in line for line in verdict.evidence)


def test_values_that_are_not_claims_stay_whole() -> None:
    keys = {(value.kind, value.key, value.unit) for value in extract("Room PT-LIS-0340, a 45-minute call at 2024-03-14T15:00, 5-10 days")}
    assert ("identifier", "i:pt-lis-0340", None) in keys
    assert ("number", "n:45", "min") in keys
    assert ("date", "d:2024-03-14T15:00", None) in keys
    assert {"n:5", "n:10"} <= {key for _, key, _ in keys}  # a range is two numbers
    assert not any(key == "n:340" or key == "n:-340" for _, key, _ in keys)


def test_an_answer_holds_the_expected_value_only_as_a_whole_value() -> None:
    from rootspan.attribution.origin import _holds

    assert _holds("Refund: 1,566", "1566") and _holds("total 42.", "42")
    assert not _holds("156600", "1566") and not _holds("4200", "42")


def test_a_tool_that_rescales_its_argument_computes_its_result() -> None:
    planner = span("planner", 10, 20, "root", op="invoke_agent", agent="planner", output='{"refund_usd": 1566.0}')
    tool = span("minor", 30, 40, "root", op="execute_tool", tool="to_minor_units", arguments='{"amount": 1566.0}', result="156600")
    claims = _claims(trace(_root("Refund one mug."), planner, tool), "execute_tool to_minor_units")
    assert claims["n:156600"].status == DERIVED and claims["n:156600"].how == "1566 x 100"
