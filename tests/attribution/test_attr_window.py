"""A date window of the task ("must air within 2024-09-09 to 2024-09-22") and the step that chose outside it."""

from __future__ import annotations

import json
from datetime import date

from attr_builders import sid, span, trace

from rootspan.attribution import attribute_trace
from rootspan.attribution.constraints import task_constraints

TASK = ("Book 3 mid-roll ad slots for the spring campaign. Every slot must publish within the flight window "
        "2023-04-03 to 2023-04-16. Budget USD 5,000 total.")
INVENTORY = [
    {"slot": "SLT-101", "show": "Trail Talk", "publish_date": "2023-04-04", "est_downloads": 41000, "price_usd": 1500},
    {"slot": "SLT-102", "show": "Trail Talk", "publish_date": "2023-04-11", "est_downloads": 39000, "price_usd": 1450},
    {"slot": "SLT-205", "show": "Split Times", "publish_date": "2023-04-20", "est_downloads": 52000, "price_usd": 1100},
    {"slot": "SLT-206", "show": "Split Times", "publish_date": "2023-04-13", "est_downloads": 50000, "price_usd": 1150},
]


def _campaign(picks: list[str]):
    """A buyer picks slot ids from the inventory; a writer looks the slots up and writes the order."""
    chosen = [row for row in INVENTORY if row["slot"] in picks]
    summary = "; ".join(f"{row['show']} ({row['publish_date']})" for row in chosen)
    return trace(
        span("run", 0, 100, op="invoke_workflow", step=0, input=TASK, **{"rootspan.outcome": "failure"}),
        span("buyer", 1, 40, "run", op="invoke_agent", agent="media_buyer", step=1),
        span("inventory", 2, 5, "buyer", op="execute_tool", tool="list_inventory", step=2,
             arguments=json.dumps({"genre": "running", "from": "2023-03-27", "to": "2023-04-30"}), result=json.dumps(INVENTORY)),
        span("buyer-llm", 6, 39, "buyer", op="chat", step=3, inputs=["inventory"], input=f"Choose slots from {json.dumps(INVENTORY)}",
             output=f"Lowest cost per download first. Slots: {', '.join(picks)}"),
        span("writer", 41, 99, "run", op="invoke_agent", agent="invoice_writer", step=4, inputs=["buyer"]),
        span("writer-llm", 42, 98, "writer", op="chat", step=5, input=f"Write the order for {json.dumps(chosen)}",
             output=f"Insertion order: {summary}. Total USD {sum(row['price_usd'] for row in chosen):,}."),
    )


def test_the_window_is_read_only_where_the_task_makes_it_a_limit() -> None:
    assert task_constraints(TASK).window == (date(2023, 4, 3), date(2023, 4, 16))
    assert task_constraints("Book a room between 3 March 2025 and 9 March 2025.").window == (date(2025, 3, 3), date(2025, 3, 9))
    # the period a report covers is not a limit on what may be chosen
    assert task_constraints("Summarise daily spend from 2024-09-12 to 2024-09-18 for the team.").window is None


def test_the_step_that_picked_the_record_dated_outside_the_window_is_blamed() -> None:
    verdict = attribute_trace(_campaign(["SLT-101", "SLT-205", "SLT-206"]))
    assert verdict.culprit is not None and verdict.culprit.span_id == sid("buyer")
    assert verdict.category == "disobey_task_spec"
    assert any("SLT-205" in line and "2023-04-20" in line for line in verdict.evidence)


def test_downloads_do_not_break_a_budget_in_dollars() -> None:
    verdict = attribute_trace(_campaign(["SLT-101", "SLT-102", "SLT-206"]))  # inside the window, USD 4,100
    assert not any("at most" in line and "USD 5,000" in line for line in verdict.evidence)


def test_a_list_of_more_ids_than_the_task_allows_breaks_its_cap() -> None:
    from rootspan.attribution.constraints import rule_constraints
    from rootspan.attribution.evidence import Weights
    from rootspan.attribution.graph import build_graph
    from rootspan.attribution.provenance import build_provenance

    task = "Gift ideas for a coffee lover: no more than 3 products, under USD 120 in total."
    five = ["SKU-CF-2281", "SKU-CF-3310", "SKU-CF-0442", "SKU-CF-0913", "SKU-CF-0870"]
    t = trace(
        span("run", 0, 100, op="invoke_workflow", input=task, rootspan__outcome="failure",
             rootspan__output=json.dumps({"items": five, "total_usd": 112.98})),
        span("ranker", 1, 20, "run", op="invoke_agent", agent="ranker", output=json.dumps(five[:3])),
        span("bundler", 21, 40, "run", op="invoke_agent", agent="bundler", inputs=["ranker"], output=json.dumps(five)),
    )
    graph = build_graph(t)
    (item,) = rule_constraints(graph, build_provenance(graph), Weights())
    assert item.span_id == sid("bundler") and "lists 5" in item.sentence
