"""Who broke the run and when: evidence scored per step, propagated along data flow, first divergence blamed.

The failure analysis reads the attribution graph and the evidence rules' findings. Each finding
adds its weight to the step it blames (the tool's caller for bad code, the producer of a wrong
value for its echoes). Steps on a data-flow path to the failing output count more. The culprit
is the *first divergence*: the earliest step whose score is close enough to the strongest one,
because later failures are usually consequences of an earlier mistake. Confidence is the
culprit's share of the evidence; the next best steps are the ranked alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights, collect, final_answer_span, is_actor
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.process import ProcessModel
from rootspan.model import Alternative, Culprit, Span, SpanKind
from rootspan.text import printable

MAX_ALTERNATIVES = 3
GENERIC_RULES = frozenset({"contradiction"})
MAX_EVIDENCE = 5
SENTENCE_WIDTH = 200


@dataclass
class Scoring:
    """The knobs of the scoring, tuned on the Who&When tune split and demo faults (never the holdout)."""

    weights: Weights = field(default_factory=Weights)
    on_data_path_bonus: float = 0.0  # steps whose output reaches the failing output
    first_divergence_ratio: float = 1.0  # earliest step with at least this share of the top score wins
    early_bonus: float = 0.6  # mild preference for early steps: mistakes propagate forward
    consequence_factor: float = 0.5  # findings downstream of a hard failure are likely its consequences


@dataclass
class FailureFinding:
    """The failure half of a verdict."""

    culprit: Culprit | None
    category: str | None
    confidence: float
    evidence: list[str]
    path: list[str]
    alternatives: list[Alternative]


def _culprit(graph: AttributionGraph, span: Span) -> Culprit:
    return Culprit(span_id=span.span_id, agent=graph.agent(span), step=span.step, name=span.name)


def step_of(graph: AttributionGraph, span: Span) -> Span:
    """The step a finding belongs to: an LLM call inside an agent turn is that turn's doing.

    Tools stay themselves (a broken tool is its own culprit); a model's words are the agent's.
    """
    if span.kind != SpanKind.LLM:
        return span
    current = graph.parent(span)
    depth = 0
    while current is not None and depth < 64:
        if current.kind == SpanKind.AGENT:
            return current
        current = graph.parent(current)
        depth += 1
    return span


def failing_output(graph: AttributionGraph) -> Span | None:
    """The span whose output is the run's (wrong) result: the final answer, else the last span."""
    final = final_answer_span(graph)
    if final is not None:
        return final
    non_root = [span for span in graph.order if span is not graph.root]
    return max(non_root, key=lambda s: (s.end_ns, graph.position[s.span_id])) if non_root else graph.root


def _path(graph: AttributionGraph, culprit: Span, sink: Span | None) -> list[str]:
    if sink is None or sink.span_id == culprit.span_id:
        return [culprit.span_id]
    data = graph.data_path(culprit.span_id, sink.span_id)
    if data:
        return data
    # no recorded data flow: the time order of the steps between them is the path
    chain = [culprit.span_id]
    current = culprit.span_id
    while current in graph.next_step and len(chain) < 64:
        current = graph.next_step[current]
        chain.append(current)
        if current == sink.span_id:
            return chain
    return [culprit.span_id, sink.span_id]


def _fallback(graph: AttributionGraph) -> Span | None:
    """No evidence at all: the busiest agent's first step (the trivial prior that beats random)."""
    actors = [span for span in graph.order if is_actor(span) and span is not graph.root]
    if not actors:
        return None
    counts: dict[str | None, int] = {}
    for span in actors:
        agent = graph.agent(span)
        counts[agent] = counts.get(agent, 0) + 1
    busiest = max(counts, key=lambda agent: counts[agent])
    return next(span for span in actors if graph.agent(span) == busiest)


HARD_RULES = frozenset({"error_status", "tool_empty", "tool_failed", "tool_arithmetic"})
MAX_CONSEQUENCES = 100_000


def _discount_consequences(
    graph: AttributionGraph, scores: dict[str, float], reasons: dict[str, list[Evidence]], factor: float
) -> None:
    """Steps fed (through data flow) by a step that hard-failed get their own findings discounted.

    An error, an empty or failed tool result, a tool that computed wrong: what downstream steps
    then say or do wrong is most likely a consequence (a verifier accepting a made-up number
    after the calculator returned nothing), so the failing step stays the first divergence.
    """
    if factor >= 1.0:
        return
    hard = [span_id for span_id, items in reasons.items() if any(item.rule in HARD_RULES for item in items)]
    if not hard:
        return
    affected: set[str] = set()
    frontier = [item.span_id for span_id in hard for item in reasons[span_id] if item.rule in HARD_RULES]
    frontier += hard
    seen = set(frontier)
    while frontier and len(affected) < MAX_CONSEQUENCES:
        following: list[str] = []
        for current in frontier:
            consumers = list(graph.data_children.get(current, ()))
            parent = graph.parent(graph.span(current))
            if parent is not None and parent is not graph.root and parent.kind == SpanKind.AGENT:
                consumers.append(parent.span_id)  # a call's result is its agent turn's output too
            for consumer in consumers:
                if consumer not in seen:
                    seen.add(consumer)
                    affected.add(consumer)
                    following.append(consumer)
        frontier = following
    for span_id in list(scores):
        if span_id in affected and span_id not in hard:
            scores[span_id] *= factor
        elif span_id not in hard:
            # a finding on a model call inside an affected turn was lifted to the turn
            if any(item.span_id in affected for item in reasons.get(span_id, ())):
                scores[span_id] *= factor


def analyze_failure(
    graph: AttributionGraph,
    scoring: Scoring | None = None,
    evidence: list[Evidence] | None = None,
    process: ProcessModel | None = None,
) -> FailureFinding:
    """Score every step, then blame the first divergence; works with or without the expected answer."""
    scoring = scoring or Scoring()
    findings = evidence if evidence is not None else collect(graph, scoring.weights, process)
    sink = failing_output(graph)
    scores: dict[str, float] = {}
    reasons: dict[str, list[Evidence]] = {}
    # per step: the strongest finding of each rule, summed over rules (the same rule firing on
    # an agent turn and on the model call inside it is one finding, not two)
    strongest: dict[tuple[str, str], float] = {}
    for item in findings:
        target = item.blames or item.span_id
        if target not in graph.by_id:
            continue
        target = step_of(graph, graph.span(target)).span_id
        key = (target, item.rule)
        if item.weight > strongest.get(key, 0.0):
            scores[target] = scores.get(target, 0.0) - strongest.get(key, 0.0) + item.weight
            strongest[key] = item.weight
        reasons.setdefault(target, []).append(item)
    _discount_consequences(graph, scores, reasons, scoring.consequence_factor)
    if sink is not None:
        # the walk back over every data edge is only worth it when the bonus counts
        reaching = set(graph.upstream(sink.span_id)) | {sink.span_id} if scoring.on_data_path_bonus else set()
        last = max(len(graph.order) - 1, 1)
        for span_id in scores:
            factor = 1.0 + (scoring.on_data_path_bonus if span_id in reaching else 0.0)
            factor += scoring.early_bonus * (1.0 - graph.position[span_id] / last)
            scores[span_id] *= factor
    ranked = sorted(scores.items(), key=lambda item: (-item[1], graph.position[item[0]]))
    if not ranked or ranked[0][1] <= 0:
        fallback = _fallback(graph)
        if fallback is None:
            return FailureFinding(None, None, 0.0, ["no step recorded any evidence of a failure"], [], [])
        return FailureFinding(
            culprit=_culprit(graph, fallback),
            category=None,
            confidence=0.1,
            evidence=[
                printable(
                    f"no deterministic evidence; step {fallback.step} is the first step of {graph.agent(fallback)}, "
                    "the agent with the most steps"
                )
            ],
            path=_path(graph, fallback, sink),
            alternatives=[],
        )
    top_score = ranked[0][1]
    threshold = scoring.first_divergence_ratio * top_score
    chosen_id = min((span_id for span_id, score in ranked if score >= threshold), key=lambda s: graph.position[s])
    chosen = graph.span(chosen_id)
    total = sum(score for _, score in ranked)
    confidence = scores[chosen_id] / (total + 1.0)
    own = sorted(reasons[chosen_id], key=lambda item: -item.weight)
    # the answer-tracing rule says where a wrong value came from, not what went wrong there:
    # a more specific finding on the same step names the category when there is one
    specific = [item for item in own if item.rule not in GENERIC_RULES]
    category = (specific or own)[0].category if own else None
    if category == "hallucination" and any(item.category == "ignored_input" for item in own):
        # a step that dropped an input and stated a number in its place: the omission came first
        category = "ignored_input"
    sentences = [item.sentence for item in own]
    # what the mistake led to downstream, strongest first
    sentences += [
        item.sentence
        for span_id, _ in ranked
        if span_id != chosen_id
        for item in reasons[span_id][:1]
    ]
    evidence_lines = [printable(quote(sentence, SENTENCE_WIDTH)) for sentence in sentences[:MAX_EVIDENCE]]
    alternatives = [
        Alternative(
            span_id=span_id,
            agent=graph.agent(graph.span(span_id)),
            step=graph.span(span_id).step,
            confidence=round(score / (total + 1.0), 3),
        )
        for span_id, score in ranked
        if span_id != chosen_id
    ][:MAX_ALTERNATIVES]
    return FailureFinding(
        culprit=_culprit(graph, chosen),
        category=category,
        confidence=round(min(0.99, confidence), 3),
        evidence=evidence_lines,
        path=_path(graph, chosen, sink),
        alternatives=alternatives,
    )


def is_failure(graph: AttributionGraph) -> bool:
    """A trace failed when it says so (rootspan.outcome), or, when it says nothing, when a step errored."""
    outcome = graph.trace.outcome
    if outcome is not None:
        return outcome != "success"
    return any(span.is_error for span in graph.order)
