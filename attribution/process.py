"""How the team usually runs, learnt from a run's successful traces, and the failing traces that deviate.

A run of an agent team holds many traces of the same workflow. Their successful traces show
which agent hands to which and which agent ends a run; a failing trace whose turns take a
handoff never seen in a success, or that ends on an agent no success ends on, shows where it
left the usual path: a wrong handoff, or a premature stop. With fewer than two successes there
is nothing to learn from and the model stays silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights
from rootspan.attribution.graph import AttributionGraph
from rootspan.model import Span, SpanKind, Trace

MIN_SUCCESSES = 2


def agent_turns(trace: Trace) -> list[Span]:
    """Top-level agent turns (agent spans with no agent above them), in start order."""
    turns = []
    for span in trace.spans:
        if span.kind != SpanKind.AGENT:
            continue
        if any(ancestor.kind == SpanKind.AGENT for ancestor in trace.ancestors(span)):
            continue
        turns.append(span)
    return turns


@dataclass
class ProcessModel:
    """Handoffs, first and last agents seen in successful traces."""

    successes: int = 0
    transitions: set[tuple[str, str]] = field(default_factory=set)
    followers: dict[str, set[str]] = field(default_factory=dict)
    last_agents: set[str] = field(default_factory=set)

    @classmethod
    def from_traces(cls, traces: Iterable[Trace]) -> "ProcessModel":
        model = cls()
        for trace in traces:
            if trace.outcome != "success":
                continue
            names = [trace.agent_of(span) or span.name for span in agent_turns(trace)]
            if not names:
                continue
            model.successes += 1
            model.last_agents.add(names[-1])
            for before, after in zip(names, names[1:]):
                model.transitions.add((before, after))
                model.followers.setdefault(before, set()).add(after)
        return model

    @property
    def usable(self) -> bool:
        return self.successes >= MIN_SUCCESSES

    def deviations(self, graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
        if not self.usable:
            return
        turns = agent_turns(graph.trace)
        names = [graph.agent(span) or span.name for span in turns]
        for (span, before), after in zip(zip(turns, names), names[1:]):
            if (before, after) in self.transitions or before not in self.followers:
                continue
            usual = ", ".join(sorted(self.followers[before]))
            yield Evidence(
                span.span_id,
                "process_handoff",
                "wrong_handoff",
                weights.symptom,
                f"step {span.step} ({quote(before, 30)}) hands off to {quote(after, 30)}; in {self.successes} "
                f"successful traces {quote(before, 30)} hands off to {quote(usual, 60)}",
            )
        errored = any(span.is_error for span in graph.order if span is not graph.root)
        if turns and not errored and names[-1] not in self.last_agents:
            last = turns[-1]
            usual = ", ".join(sorted(self.last_agents))
            yield Evidence(
                last.span_id,
                "process_end",
                "premature_termination",
                weights.symptom,
                f"the run ends after step {last.step} ({quote(names[-1], 30)}); successful traces end with {quote(usual, 60)}",
            )
