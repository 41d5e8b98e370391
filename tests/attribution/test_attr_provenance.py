"""Provenance: where each value entered, which values were computed, and where a wrong answer came from.

Traces are hand-built with the tracer's span shapes (attr_builders); the app-level cases run real
instrumented programs through rootspan.tracer into a run directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from attr_builders import span, trace

from rootspan.attribution import attribute_trace
from rootspan.attribution.calibration import expected_calibration_error, fit_platt, platt
from rootspan.attribution.constraints import task_constraints
from rootspan.attribution.graph import build_graph
from rootspan.attribution.provenance import DERIVED, GIVEN, NOVEL, UNIT_CHANGED, build_provenance
from rootspan.rundir import load_run


def _claims(tr, name):
    graph = build_graph(tr)
    prov = build_provenance(graph)
    target = next(s for s in graph.order if s.name == name)
    return {claim.value.key: claim for claim in prov.claims.get(target.span_id, [])}


def _team(*steps):
    root = span("root", 0, 100, op="invoke_workflow", input="What do 4 boxes of pens cost?", rootspan__outcome="failure")
    return trace(root, *steps)


def test_a_product_of_known_values_is_derived_not_claimed() -> None:
    tool = span("price", 10, 20, "root", op="execute_tool", tool="price", result='{"unit_price": 7}')
    writer = span("writer", 30, 40, "root", op="invoke_agent", agent="writer", output="4 x 7 = 28, so $28.")
    claims = _claims(_team(tool, writer), "invoke_agent writer")
    assert claims["n:28"].status == DERIVED
    assert claims["n:7"].status == GIVEN


def test_percentages_and_conversions_with_units_are_derived() -> None:
    tool = span("quote", 10, 20, "root", op="execute_tool", tool="quote", result='{"net_usd": 240, "tax_pct": 8.5}')
    writer = span("writer", 30, 40, "root", op="invoke_agent", agent="writer", output="Tax is $20.40, total $260.40.")
    claims = _claims(_team(tool, writer), "invoke_agent writer")
    assert claims["n:20.4"].status == DERIVED and claims["n:260.4"].status == DERIVED


def test_the_same_number_in_another_unit_is_a_unit_change() -> None:
    tool = span("ledger", 10, 20, "root", op="execute_tool", tool="ledger", result='{"refund_cents": 183908}')
    writer = span("writer", 30, 40, "root", op="invoke_agent", agent="writer", output="Refund of $183,908 approved.")
    assert _claims(_team(tool, writer), "invoke_agent writer")["n:183908"].status == UNIT_CHANGED


def test_a_number_with_no_source_is_novel() -> None:
    writer = span("writer", 30, 40, "root", op="invoke_agent", agent="writer", output="The total is $913.")
    assert _claims(_team(writer), "invoke_agent writer")["n:913"].status == NOVEL


def test_a_wrong_value_carried_faithfully_blames_where_it_entered() -> None:
    """A planner states a price nobody gave; the coder and the tester only carry it on."""
    planner = span("planner", 10, 20, "root", op="invoke_agent", agent="planner", output="The unit price is $1,839.08.")
    coder = span("coder", 30, 40, "root", op="invoke_agent", agent="coder", output="price = 1839.08  # from the plan")
    tester = span("tester", 50, 60, "root", op="invoke_agent", agent="tester", output="Checked: the price is 1839.08.")
    verdict = attribute_trace(_team(planner, coder, tester))
    assert verdict.culprit is not None and verdict.culprit.agent == "planner"
    assert [link.role for link in verdict.lineage] == ["failing", "carried", "introduced"]
    assert verdict.lineage[-1].agent == "planner"


def test_no_evidence_is_undetermined_with_ranked_candidates() -> None:
    quiet = span("a", 10, 20, "root", op="invoke_agent", agent="helper", output="Working on it.")
    verdict = attribute_trace(_team(quiet))
    assert not verdict.determined and verdict.culprit is None
    assert verdict.alternatives and verdict.alternatives[0].evidence


def test_task_constraints_are_read_from_the_request() -> None:
    found = task_constraints("Book it under $500, for 2023, in kg, and return the result as JSON.")
    assert [bound.value.key for bound in found.bounds] == ["n:500"] and found.bounds[0].upper
    assert found.years == {2023} and found.unit == "kg" and found.format == "json"


def test_calibration_fit_moves_toward_the_observed_accuracy() -> None:
    shares = [0.9] * 20 + [0.2] * 20
    correct = [True] * 18 + [False] * 2 + [True] * 4 + [False] * 16
    a, b, c = fit_platt(shares, correct)
    assert platt(0.9, a, b, c=c) > 0.75 and platt(0.2, a, b, c=c) < 0.35
    assert expected_calibration_error([platt(s, a, b, c=c) for s in shares], correct) < expected_calibration_error(shares, correct) + 0.05


def test_calibration_learns_that_direct_backing_is_more_often_right() -> None:
    # the same share, but verdicts backed by a direct finding are right 9 times in 10, others 4 in 10
    shares = [0.5] * 40
    direct = [True] * 20 + [False] * 20
    correct = [True] * 18 + [False] * 2 + [True] * 8 + [False] * 12
    a, b, c = fit_platt(shares, correct, direct)
    assert c > 0.5
    assert platt(0.5, a, b, direct=True, c=c) > 0.7 > platt(0.5, a, b, direct=False, c=c)


APP = textwrap.dedent(
    '''
    import sys
    import rootspan.tracer as rs

    rs.setup(service="shop", run_dir=sys.argv[1], capture_content=True, profile="off")

    @rs.tool("price_lookup")
    def price_lookup(item):
        return {"item": item, "unit_price": 7}   # the price list says 3: the tool is stale

    @rs.agent("writer")
    def writer(price):
        with rs.llm_call(model="m", provider="p") as call:
            call.messages(input=f"price {price}; 4 boxes", output=f"4 x {price['unit_price']} = 28. The total is $28.")
        return "The total is $28."

    with rs.workflow("order", task="What do 4 boxes of pens cost?"):
        answer = writer(price_lookup("pen"))
        rs.outcome(success=False, reason="total is wrong", expected="$12", answer=answer)
    rs.shutdown()
    '''
)


def test_a_tool_returning_a_wrong_price_is_blamed_not_the_writer_who_computed_from_it(tmp_path: Path) -> None:
    """The issue's two-agent app: the writer's 28 is 4 x 7 from its own inputs."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    subprocess.run([sys.executable, str(app), str(tmp_path / "run")], check=True)
    run = load_run(tmp_path / "run")
    verdict = attribute_trace(run.trace_list()[0])
    culprit = verdict.culprit or verdict.alternatives[0]
    assert culprit.name == "execute_tool price_lookup"
    assert any("28" in line and "7" in line for line in verdict.evidence)
    assert json.loads(verdict.model_dump_json())["lineage"][-1]["role"] == "introduced"


def test_a_date_repeated_without_its_year_is_given_by_the_full_date() -> None:
    root = span("root", 0, 100, op="invoke_workflow", input="Report spend from 2024-09-12 to 2024-09-18.",
                rootspan__outcome="failure")
    writer = span("writer", 30, 40, "root", op="invoke_agent", agent="writer", output="Weekly (12-18 Sep): flat.")
    claims = _claims(trace(root, writer), "invoke_agent writer")
    assert claims["dm:09-12"].status == GIVEN and claims["dm:09-18"].status == GIVEN


def test_picking_one_of_two_matches_blames_the_picker_when_the_right_one_was_listed() -> None:
    """A directory search for "Lincoln" returns an elementary and a middle school (ids of different
    types); the planner routes buses to the elementary one; the requester meant the middle school."""
    from attr_builders import sid

    matches = json.dumps({"query": "Lincoln", "matches": [{"id": "LES-118", "name": "Lincoln Elementary", "bell": "08:40"},
                                                          {"id": "LMS-204", "name": "Lincoln Middle", "bell": "07:50"}]})
    t = trace(
        span("root", 0, 100, op="invoke_workflow", input="Plan morning bus routes for Lincoln.", rootspan__outcome="failure",
             rootspan__expected='{"school_id": "LMS-204"}', rootspan__output='{"school_id": "LES-118", "routes": 4}'),
        span("directory", 1, 20, "root", op="invoke_agent", agent="directory_agent"),
        span("search", 2, 10, "directory", op="execute_tool", tool="school_directory_search", arguments='{"q": "Lincoln"}', result=matches),
        span("planner", 21, 60, "root", op="invoke_agent", agent="route_planner", inputs=["directory"]),
        span("planner-llm", 22, 59, "planner", op="chat", input=f"Plan routes for {matches}",
             output="Routing for LES-118 (Lincoln Elementary), bell 08:40: 4 routes."),
    )
    verdict = attribute_trace(t)
    top = verdict.culprit or verdict.alternatives[0]
    assert top.span_id == sid("planner")


def test_a_calculators_result_is_computed_from_its_arguments_not_an_earlier_lookalike() -> None:
    """A plate-reader dump happens to hold a 10.0; the dilution calculator's 10.0 mL comes from
    its own arguments (500 mL x 2.5 mg/L / 125 mg/L), so the answer is traced to its operands."""
    dump = "well sample dilution conc\nB2 LOT-0317 10.0 12.5\nB3 LOT-0320 1 48.2"
    root = span("root", 0, 100, op="invoke_workflow", input="Prepare 500 mL at 2.5 mg/L from lot LOT-0317.",
                rootspan__outcome="failure", rootspan__output="Pipette 10.0 mL of stock.")
    reader = span("reader", 1, 5, "root", op="execute_tool", tool="plate_reader_export", arguments='{"run": "R-1"}', result=dump)
    summary = span("summary", 6, 10, "root", op="invoke_agent", agent="assay_summariser", output="LOT-0317 measured 125 mg/L.")
    calc = span("calc", 11, 15, "root", op="execute_tool", tool="dilution_calc",
                arguments='{"stock_mg_l": 125.0, "target_mg_l": 2.5, "final_ml": 500}', result='{"stock_ml": 10.0}')
    graph = build_graph(trace(root, reader, summary, calc))
    claim = {c.value.key: c for c in build_provenance(graph).claims[calc.span_id]}["n:10"]
    assert claim.status == DERIVED and "125" in claim.how


def test_a_yearless_date_in_the_answer_is_traced_to_the_full_date_a_tool_returned() -> None:
    from rootspan.attribution.origin import trace_value
    from rootspan.attribution.values import extract as values_of

    root = span("root", 0, 100, op="invoke_workflow", input="Weekly active users by platform.", rootspan__outcome="failure",
                rootspan__output="Crash spike since 9 Sep on Android.")
    export = span("export", 1, 5, "root", op="execute_tool", tool="query_active_users", arguments='{"week": "W37"}',
                  result="date,platform,active\n2024-09-09,android,9900\n2024-09-10,android,9120")
    writer = span("writer", 6, 20, "root", op="invoke_agent", agent="reporter", output="Crash spike since 9 Sep on Android.")
    graph = build_graph(trace(root, export, writer))
    prov = build_provenance(graph)
    (day,) = [value for value in values_of("Crash spike since 9 Sep on Android.") if value.key == "dm:09-09"]
    (origin,) = trace_value(graph, prov, day, graph.span(writer.span_id))
    assert origin.span_id == export.span_id and origin.how == "returned by the tool"


def test_a_value_that_came_with_a_picked_record_blames_the_picker() -> None:
    """Two subscriptions are listed; the account agent cancels one without asking; the reply's
    renewal date is that subscription's, so it was chosen with it, not invented by the tool."""
    from attr_builders import sid

    listing = json.dumps([{"id": "SUB-3301", "product": "Family plan", "renews": "2024-11-01"},
                          {"id": "SUB-3317", "product": "Solo plan", "renews": "2024-10-14"}])
    t = trace(
        span("root", 0, 100, op="invoke_workflow", input="please cancel my subscription", rootspan__outcome="failure",
             rootspan__expected="ask which subscription to cancel",
             rootspan__output="Done: SUB-3301 is cancelled; you keep access until 1 November."),
        span("account", 1, 50, "root", op="invoke_agent", agent="account_agent"),
        span("list", 2, 5, "account", op="execute_tool", tool="list_subscriptions", arguments='{"customer": "CU-1"}', result=listing),
        span("account-llm", 6, 40, "account", op="chat", input=f"Subscriptions: {listing}", output="Cancel SUB-3301."),
        span("messenger", 51, 99, "root", op="invoke_agent", agent="messenger", inputs=["account"],
             output="Done: SUB-3301 is cancelled; you keep access until 1 November."),
    )
    verdict = attribute_trace(t)
    top = verdict.culprit or verdict.alternatives[0]
    assert top.span_id == sid("account")
    assert any("came with SUB-3301" in line for line in verdict.evidence)


def test_a_total_over_the_records_a_step_named_is_computed_not_invented() -> None:
    catalog = json.dumps([{"sku": "SKU-CF-2281", "price": 29.0}, {"sku": "SKU-CF-3310", "price": 49.0},
                          {"sku": "SKU-CF-0442", "price": 18.5}, {"sku": "SKU-CF-7001", "price": 99.0}])
    answer = '{"items": ["SKU-CF-2281", "SKU-CF-3310", "SKU-CF-0442"], "total_usd": 96.50}'
    root = span("root", 0, 100, op="invoke_workflow", input="Three coffee gifts.", rootspan__outcome="failure", rootspan__output=answer)
    search = span("search", 1, 5, "root", op="execute_tool", tool="catalog_search", arguments='{"q": "coffee"}', result=catalog)
    pricer = span("pricer", 6, 20, "root", op="invoke_agent", agent="pricer", output=answer)
    graph = build_graph(trace(root, search, pricer))
    claim = {c.value.key: c for c in build_provenance(graph).claims[pricer.span_id]}["n:96.5"]
    assert claim.status == DERIVED and search.span_id in claim.sources
    # the record-wise total on its own: found from the listing by the ids named beside the value
    from rootspan.attribution.provenance import picked_total, records_by_id
    from rootspan.attribution.values import extract as values_of

    beside = values_of(answer)
    (total,) = [value for value in beside if value.key == "n:96.5"]
    sources, how, _ = picked_total(total, beside, [(search.span_id, records_by_id(catalog))])
    assert sources == (search.span_id,) and how == "the sum of price over the 3 records named"
    assert picked_total(total, beside[:1], [(search.span_id, records_by_id(catalog))]) is None  # one id: no total
