"""A reviewer that rejects work against a limit nobody set: "notes should stay under 120 words".

Writer/reviewer loops fail to converge when the reviewer enforces a requirement that is in
neither the task nor its own instructions: the writer cannot satisfy both the real checklist and
the invented limit, and every round after it is a consequence. The step to blame is the first
turn that rejects (or asks for changes) citing a limit (under / at most / no more than N) whose
number appears nowhere in the task or in what that turn was given.
"""

from __future__ import annotations

import re
from typing import Iterable

from rootspan.attribution.constraints import task_constraints
from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights, is_actor
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.origin import turn_of
from rootspan.attribution.values import extract

_REJECTS = re.compile(
    r"\b(?:reject(?:ed|s)?|not approved|cannot approve|can't approve|changes requested|request changes|revise|"
    r"needs? (?:to be )?(?:cut|shortened|trimmed|reworked)|please (?:tighten|shorten|trim|cut)|cut it down|too long|over the)\b",
    re.I,
)


def rule_invented_limit(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """In a failed run, the first rejecting turn that cites a limit neither the task nor its input states."""
    root = graph.root
    if root is None or graph.trace.outcome != "failure":
        return
    task_numbers = {value.key for value in extract(graph.inputs.get(root.span_id, ""))}
    for span in graph.order:
        if not is_actor(span) or span is root:
            continue
        text = graph.outputs.get(span.span_id, "")
        if not text or not _REJECTS.search(text):
            continue
        given = task_numbers | {value.key for value in extract(graph.inputs.get(span.span_id, ""))}
        invented = next((bound for bound in task_constraints(text).bounds if bound.upper and bound.value.key not in given), None)
        if invented is None:
            continue
        turn = turn_of(graph, span)
        yield Evidence(
            turn.span_id,
            "invented_limit",
            "disobey_role_spec",
            weights.direct,
            f"step {turn.step} ({graph.agent(turn)}) rejects the work citing a limit of {quote(invented.value.shown, 20)} "
            "that neither the task nor its own instructions set",
        )
        return
