"""A turn that says it did something with a tool it had and never called (an unperformed action)."""

from __future__ import annotations

from attr_builders import sid, span, trace

from rootspan.attribution.actions import rule_unperformed_action
from rootspan.attribution.evidence import Weights
from rootspan.attribution.graph import build_graph

PROMPT = "You can call search_flights(origin, dest, date) and book_flight(flight_id). Book the cheapest direct flight."


def _travel(agent_says: str, calls: tuple[str, ...] = ("search_flights",), outcome: str = "failure", prompt: str = PROMPT):
    """A travel agent that searches, then (maybe) books, then a concierge confirms to the traveller."""
    spans = [
        span("run", 0, 100, op="invoke_workflow", step=0, input="Fly me from Oslo to Bergen on 2025-03-14.",
             **{"rootspan.outcome": outcome}),
        span("agent", 1, 50, "run", op="invoke_agent", agent="travel_agent", step=1),
        span("agent-llm", 2, 5, "agent", op="chat", step=2, input=prompt, output='{"tool": "search_flights"}'),
    ]
    for index, tool in enumerate(calls):
        spans.append(span(f"tool-{tool}", 6 + 10 * index, 14 + 10 * index, "agent", op="execute_tool", tool=tool, step=3 + index,
                          arguments='{"origin": "OSL"}', result='{"flight_id": "DY614", "fare_nok": 899}'))
    spans.append(span("agent-llm-2", 40, 49, "agent", op="chat", step=3 + len(calls), input="results", output=agent_says))
    spans.append(span("concierge", 51, 90, "run", op="invoke_agent", agent="concierge", step=9,
                      output=f"Dear traveller: {agent_says}"))
    return trace(*spans)


def _found(t):
    return list(rule_unperformed_action(build_graph(t), Weights()))


def test_a_booking_claimed_without_the_booking_call_blames_the_claiming_turn() -> None:
    (item,) = _found(_travel("I have booked DY614 for NOK 899; your e-ticket follows."))
    assert item.span_id == sid("agent") and item.category == "premature_termination"
    assert "book_flight" in item.sentence and "booked DY614" in item.sentence


def test_no_finding_when_the_action_ran_was_not_claimed_or_the_run_succeeded() -> None:
    assert _found(_travel("I have booked DY614 for NOK 899.", calls=("search_flights", "book_flight"))) == []
    assert _found(_travel("DY614 has not been booked yet: shall I go ahead?")) == []
    assert _found(_travel("Once DY614 is booked you will get an e-ticket.")) == []
    assert _found(_travel("I have booked DY614 for NOK 899.", outcome="success")) == []
    # a lookup claim proves nothing: only actions that change the world are read
    assert _found(_travel("I have searched and found DY614 for NOK 899.")) == []
    # the concierge repeats the claim but was never offered book_flight: not its turn to blame
    no_tool_named = _travel("I have booked DY614.", prompt="Find a flight and report it.")
    assert _found(no_tool_named) == []
