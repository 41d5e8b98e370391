"""A requirement of the task that a condensing step read and did not pass on."""

from __future__ import annotations

from attr_builders import sid, span, trace

from rootspan.attribution.dropped import requirements, rule_dropped_requirement
from rootspan.attribution.evidence import Weights
from rootspan.attribution.graph import build_graph

TASK = ("Plan a 3-day Lisbon itinerary for my parents in May. My father uses a wheelchair, so no attractions "
        "without step-free access. They like museums and food markets.")


def _itinerary(brief: str, planner_input: str | None = None, outcome: str = "failure"):
    """A concierge writes a brief for the planner, which plans from the brief alone (or from what it is given)."""
    return trace(
        span("run", 0, 100, op="invoke_workflow", step=0, input=TASK, **{"rootspan.outcome": outcome}),
        span("concierge", 1, 20, "run", op="invoke_agent", agent="concierge", step=1),
        span("concierge-llm", 2, 19, "concierge", op="chat", step=2, input=f"Write a brief for the planner.\n{TASK}", output=brief),
        span("planner", 21, 60, "run", op="invoke_agent", agent="planner", step=3),
        span("planner-llm", 22, 59, "planner", op="chat", step=4, input=planner_input or f"Plan from this brief: {brief}",
             output="Day 1: Castelo de Sao Jorge and Alfama stairs walk. Day 2: Gulbenkian. Day 3: Time Out Market."),
    )


def _found(t):
    return list(rule_dropped_requirement(build_graph(t), Weights()))


def test_the_brief_that_left_out_an_exclusion_is_blamed() -> None:
    (item,) = _found(_itinerary("3-day Lisbon trip in May for two seniors who like museums and food markets."))
    assert item.span_id == sid("concierge") and item.category == "loss_of_history"
    assert "wheelchair" in item.sentence


def test_no_finding_when_the_requirement_was_passed_on_or_reached_later_steps() -> None:
    kept = "3-day Lisbon trip for two seniors; the father uses a wheelchair: step-free access only."
    assert _found(_itinerary(kept)) == []
    # the planner got the whole task beside the brief: nothing was lost on the way
    assert _found(_itinerary("3-day Lisbon trip for two seniors.", planner_input=f"{TASK}\nBrief: 3-day trip")) == []
    assert _found(_itinerary("3-day Lisbon trip for two seniors.", outcome="success")) == []


def test_only_sentences_that_exclude_something_are_requirements() -> None:
    found = [sentence for sentence, _ in requirements(TASK)]
    assert found == ["My father uses a wheelchair, so no attractions without step-free access"]
    assert requirements("Book a table for 4 at 19:30 within 1 km of the museum.") == []


FLIGHT_TASK = "Find me a flight from Oslo to Tokyo on 12 March. No overnight layovers, my daughter is travelling with me."


def test_the_step_that_restarted_an_agents_context_is_blamed_not_the_agent() -> None:
    """A chat app's memory keeps only the latest reply between the booking agent's turns, so the
    agent's second turn starts without "no overnight layovers" and books one. The agent's first
    turn read the requirement and did not restate it, but it was not the one that lost it."""
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, input=FLIGHT_TASK, **{"rootspan.outcome": "failure"}),
        span("booker-1", 1, 20, "run", op="invoke_agent", agent="booking_agent", step=1),
        span("booker-1-llm", 2, 19, "booker-1", op="chat", step=2, input=FLIGHT_TASK,
             output="I found three options; shall I look at fares for the direct one?"),
        span("memory", 21, 30, "run", op="invoke_agent", agent="session_memory", step=3),
        span("memory-llm", 22, 29, "memory", op="chat", step=4, input="Summarise the latest reply: I found three options; shall I look at fares for the direct one?",
             output="User wants Oslo to Tokyo on 12 March for two people."),
        span("booker-2", 31, 60, "run", op="invoke_agent", agent="booking_agent", step=5),
        span("booker-2-llm", 32, 59, "booker-2", op="chat", step=6,
             input="History: User wants Oslo to Tokyo on 12 March for two people. Book the cheapest fare.",
             output="Booked SK1454 via Helsinki with a 14-hour overnight connection."),
    )
    (item,) = _found(t)
    assert item.span_id == sid("memory") and item.category == "loss_of_history"
    assert "booking_agent" in item.sentence and "layover" in item.sentence


def test_nothing_else_stresses_the_instruction_and_excludes_nothing() -> None:
    task = "Reorder every reviewed SKU whose on-hand plus inbound units are below its reorder point, and nothing else."
    assert requirements(task) == []
    assert requirements("Order bolts for the store, but nothing from the 2022 price list.") != []


def test_a_numeric_limit_is_not_an_exclusion_to_pass_on() -> None:
    assert requirements("Gift ideas for a coffee lover: no more than 3 products, under USD 120 in total.") == []
