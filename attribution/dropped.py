"""A requirement of the task that a step read and did not pass on: every later step worked without it.

Summaries, memory compaction and hand-offs condense what came before; the allergy, the "no
overnight layovers" or the "never the 2022 price list" that the condensed version leaves out is gone
for every step after it, and those steps fail faithfully. The step that dropped it is the last one
whose input still held the requirement, when its output does not hold it and no later step's input
does either. Requirements are the task's sentences that exclude something (no, not, never, without,
avoid, except, allergic, ...); a sentence is "held" by a text that holds most of its content words.
"""

from __future__ import annotations

import re
from typing import Iterable

from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights, is_actor
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.origin import turn_of
from rootspan.model import Span, SpanKind

_SENTENCE = re.compile(r"[^.!?\n]+")
# exclusions only: numeric limits ("at most 3", "under $500") are the constraint rule's, and a
# task's main instruction ("book dinner for 4") is consumed by every plan, not passed on word for word
_RESTRICTS = re.compile(
    r"\b(?:no|not|never|without|avoid|mustn't|don't|do not|nothing|none|exclude|excluding|except|allerg\w*)\b",
    re.I,
)
_FILLER = frozenset(
    """about also anything anywhere around because before could every from have just like make more most much need
    please should some that their them then there these they this those very what when where which while will with
    would your yours also into over only must never without avoid nothing none except excluding strictly require
    required important""".split()
)
MIN_CONTENT_WORDS = 2  # a requirement of fewer content words ("no", "only that") cannot be told apart in later text
HELD_FRACTION = 0.5  # share of a requirement's content words a text must hold to carry it (paraphrases keep most)


def _stems(text: str) -> set[str]:
    return {word[:5] for word in re.findall(r"[a-z]{4,}", text.lower()) if word not in _FILLER}


# "no more than 3", "not later than Friday", "not to exceed $500": limits, the constraint rule's
_LIMIT_PHRASE = re.compile(r"\b(?:no|not)\s+(?:more|fewer|less|later|earlier|longer|shorter|greater|higher|lower|to exceed)\b", re.I)


def _excludes_something(sentence: str) -> bool:
    """An exclusion word followed by what it excludes ("no attractions without step-free access");
    "reorder every SKU below its reorder point, and nothing else" only stresses the instruction,
    and "no more than 3 products" is a limit."""
    sentence = _LIMIT_PHRASE.sub(" ", sentence)
    return any(_stems(sentence[match.end() :]) - {"else"} for match in _RESTRICTS.finditer(sentence))


def requirements(task: str) -> list[tuple[str, set[str]]]:
    """(sentence, content stems) of each sentence of the task that restricts what may be done."""
    found = []
    for match in _SENTENCE.finditer(task):
        sentence = match.group(0).strip()
        stems = _stems(sentence)
        if _excludes_something(sentence) and len(stems) >= MIN_CONTENT_WORDS:
            found.append((sentence, stems))
    return found


def _holds(text_stems: set[str], requirement: set[str]) -> bool:
    return len(requirement & text_stems) >= HELD_FRACTION * len(requirement)


def rule_dropped_requirement(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """In a failed run, the last step that read a requirement of the task, did not restate it, and was followed by steps that never saw it."""
    root = graph.root
    if root is None or graph.trace.outcome != "failure":
        return
    wanted = requirements(graph.inputs.get(root.span_id, ""))
    if not wanted:
        return
    actors = [span for span in graph.order if is_actor(span) and span is not root]
    stems_in = {span.span_id: _stems(graph.inputs.get(span.span_id, "")) for span in actors}
    stems_out = {span.span_id: _stems(graph.outputs.get(span.span_id, "")) for span in actors}
    for sentence, stems in wanted:
        holders = [index for index, span in enumerate(actors) if _holds(stems_in[span.span_id], stems)]
        if not holders:
            continue
        last = holders[-1]
        dropper = actors[last]
        turn = turn_of(graph, dropper)
        later = [span for span in actors[last + 1 :] if turn_of(graph, span) is not turn]
        passed_on = stems_out[dropper.span_id] | _stems(graph.outputs.get(turn.span_id, ""))
        if not later or _holds(passed_on, stems):
            continue  # the requirement was passed on, or nothing came after
        reset = _context_reset(graph, turn, later)
        if reset is not None:
            yield Evidence(reset.span_id, "dropped_requirement", "loss_of_history", weights.symptom,
                           f"step {reset.step} ({graph.agent(reset)}) started {graph.agent(turn)}'s next turn without "
                           f"{quote(sentence, 70)}, which its earlier turn (step {turn.step}) had")
            return
        yield Evidence(
            turn.span_id,
            "dropped_requirement",
            "loss_of_history",
            weights.symptom,
            f"step {turn.step} ({graph.agent(turn)}) read {quote(sentence, 70)} and did not pass it on; "
            f"no later step saw it",
        )
        return


def _context_reset(graph: AttributionGraph, turn: Span, later: list[Span]) -> Span | None:
    """The turn that fed the same agent's next turn, when that next turn had lost the requirement.

    An agent that held the requirement and, in its next turn, no longer does did not drop it
    itself: whoever assembled that turn's context (a session or memory manager, an orchestrator)
    started it afresh. That is the turn just before, by another agent.
    """
    agent = graph.agent(turn)
    by_id = {turn_of(graph, span).span_id: turn_of(graph, span) for span in later}
    turns = list(by_id.values())
    for index, candidate in enumerate(turns):
        if candidate.kind is SpanKind.AGENT and graph.agent(candidate) == agent:
            feeders = [previous for previous in turns[:index] if graph.agent(previous) != agent]
            return feeders[-1] if feeders else None
    return None
