"""A check the task requires ("the reviewer must confirm with policy_status before approving") that no step made.

Process rules in a task name a tool and who must use it before a decision: verify stock with
``check_inventory`` before quoting, confirm in-force status with ``policy_status`` before approving.
When the tool never ran, every later step acted on an unchecked decision; the step to blame is the
one the requirement names (an agent of the run, by its name or its name with spaces), else the
first step whose output takes the decision the check had to come before ("approving" -> the first
"approve"). A tool is a snake_case name (``policy_status``) after with/call/use/run/via, as tasks
and system prompts name tools; a requirement needs must, required, has to, always or never ...
without.
"""

from __future__ import annotations

import re
from typing import Iterable

from rootspan import semconv as sc
from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights, is_actor, is_tool
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.origin import turn_of
from rootspan.model import Span, SpanKind

_SENTENCE = re.compile(r"[^.;!?\n]+")
_REQUIRED = re.compile(r"\b(?:must|required to|is required|are required|has to|have to|needs? to|always|only after)\b", re.I)
_TOOL_AFTER = re.compile(r"\b(?:with|call|calling|calls|use|using|uses|run|running|via|through|query|querying)\s+`?([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`?")
_BEFORE = re.compile(r"\bbefore\s+([a-z]{4,})", re.I)


def _called_tools(graph: AttributionGraph) -> set[str]:
    names: set[str] = set()
    for span in graph.order:
        if is_tool(span):
            name = span.attributes.get(sc.GEN_AI_TOOL_NAME)
            names.add(name if isinstance(name, str) else span.name.split(" ", 1)[-1])
    return names


def _agent_turns(graph: AttributionGraph) -> dict[str, Span]:
    """Each agent's first turn, by agent name."""
    turns: dict[str, Span] = {}
    for span in graph.order:
        if span.kind is SpanKind.AGENT and span is not graph.root:
            agent = graph.agent(span)
            if agent:
                turns.setdefault(agent, span)
    return turns


def _named_agent(sentence: str, turns: dict[str, Span]) -> Span | None:
    lower = sentence.lower()
    named = [turn for agent, turn in turns.items() if agent.lower() in lower or agent.lower().replace("_", " ") in lower]
    return named[0] if len(named) == 1 else None


def _decider(graph: AttributionGraph, sentence: str) -> Span | None:
    """The first step whose output takes the decision the check had to precede."""
    match = _BEFORE.search(sentence)
    if match is None:
        return None
    stem = re.sub(r"(?:ing|ed|es|s)$", "", match.group(1).lower())[:5]  # approving -> appro, quoting -> quot
    for span in graph.order:
        if is_actor(span) and span is not graph.root and stem in graph.outputs.get(span.span_id, "").lower():
            return turn_of(graph, span)
    return None


def rule_required_call_skipped(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """In a failed run, a tool the task requires a step to use, that no step of the run called."""
    root = graph.root
    if root is None or graph.trace.outcome != "failure":
        return
    task = graph.inputs.get(root.span_id, "")
    if "_" not in task:
        return
    called = _called_tools(graph)
    turns = _agent_turns(graph)
    for match in _SENTENCE.finditer(task):
        sentence = match.group(0).strip()
        if not _REQUIRED.search(sentence):
            continue
        for tool in _TOOL_AFTER.findall(sentence):
            if tool in called or tool in turns:
                continue  # it ran (or it is an agent's name, not a tool)
            step = _named_agent(sentence, turns) or _decider(graph, sentence)
            if step is None:
                continue
            yield Evidence(
                step.span_id,
                "required_call_skipped",
                "no_verification",
                weights.direct,
                f"the task requires '{quote(sentence, 90)}'; step {step.step} ({graph.agent(step)}) went on "
                f"and no step of the run called {tool}",
            )
            return
