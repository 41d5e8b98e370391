"""A reviewer rejecting work against a limit that neither the task nor its instructions set."""

from __future__ import annotations

from attr_builders import sid, span, trace

from rootspan.attribution.evidence import Weights
from rootspan.attribution.graph import build_graph
from rootspan.attribution.invented_limits import rule_invented_limit

TASK = "Write customer-facing release notes for Orbit v3.8.0 with a Migration section listing the upgrade steps."


def _loop(review: str, task: str = TASK):
    """A writer drafts, a reviewer checks the draft against its checklist and answers."""
    return trace(
        span("run", 0, 100, op="invoke_workflow", input=task, rootspan__outcome="failure"),
        span("writer", 1, 20, "run", op="invoke_agent", agent="writer", output="Orbit v3.8.0 ... Migration: 1. update the CLI ..."),
        span("reviewer", 21, 40, "run", op="invoke_agent", agent="reviewer", inputs=["writer"]),
        span("reviewer-llm", 22, 39, "reviewer", op="chat",
             input="Checklist: version named, a Migration section with the steps, no internal ticket ids.",
             output=review),
    )


def _found(t):
    return list(rule_invented_limit(build_graph(t), Weights()))


def test_a_rejection_citing_a_limit_nobody_set_blames_the_reviewer() -> None:
    (item,) = _found(_loop("Release notes should stay under 120 words; this one is 128. Please tighten."))
    assert item.span_id == sid("reviewer") and item.category == "disobey_role_spec"


def test_limits_from_the_task_and_approvals_are_not_invented() -> None:
    assert _found(_loop("Over the limit: at most 120 words, please cut it down.", task=TASK + " Keep it under 120 words.")) == []
    assert _found(_loop("Approved: well under 120 words and the steps are there.")) == []
