"""A check the task requires before a decision, with a named tool, that no step of the run made."""

from __future__ import annotations

from attr_builders import sid, span, trace

from rootspan.attribution.evidence import Weights
from rootspan.attribution.graph import build_graph
from rootspan.attribution.required_calls import rule_required_call_skipped

TASK = ("Quote 40 chairs to ACME. The sales agent must check stock with check_inventory before quoting a delivery date. "
        "Send the quote by e-mail.")


def _quote_desk(task: str = TASK, calls_inventory: bool = False, outcome: str = "failure"):
    """A sales agent quotes a delivery date; a mailer sends it. The warehouse had 12 chairs."""
    spans = [
        span("run", 0, 100, op="invoke_workflow", step=0, input=task, **{"rootspan.outcome": outcome}),
        span("sales", 1, 50, "run", op="invoke_agent", agent="sales_agent", step=1),
        span("sales-llm", 2, 40, "sales", op="chat", step=2, input=task,
             output="Quote: 40 chairs at $85, delivery in 5 working days."),
        span("mailer", 51, 99, "run", op="invoke_agent", agent="mailer", step=4),
        span("mail", 52, 60, "mailer", op="execute_tool", tool="send_email", step=5, arguments='{"to": "buyer@acme.test"}'),
    ]
    if calls_inventory:
        spans.append(span("stock", 41, 45, "sales", op="execute_tool", tool="check_inventory", step=3, result='{"chairs": 12}'))
    return trace(*spans)


def _found(t):
    return list(rule_required_call_skipped(build_graph(t), Weights()))


def test_the_agent_the_requirement_names_is_blamed_when_the_tool_never_ran() -> None:
    (item,) = _found(_quote_desk())
    assert item.span_id == sid("sales") and item.category == "no_verification"
    assert "check_inventory" in item.sentence


def test_without_a_named_agent_the_first_step_taking_the_decision_is_blamed() -> None:
    task = "Quote 40 chairs to ACME. Stock must be confirmed with check_inventory before quoting."
    (item,) = _found(_quote_desk(task))
    assert item.span_id == sid("sales")


def test_no_finding_when_the_tool_ran_nothing_was_required_or_the_run_succeeded() -> None:
    assert _found(_quote_desk(calls_inventory=True)) == []
    assert _found(_quote_desk("Quote 40 chairs to ACME. You can check stock with check_inventory.")) == []
    assert _found(_quote_desk(outcome="success")) == []
