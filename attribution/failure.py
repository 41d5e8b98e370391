"""Who broke the run and when: evidence per step, the failing value traced to its origin, calibrated confidence.

The failure analysis reads the attribution graph, the value provenance and the evidence rules'
findings. Each finding adds its weight to the step it blames. The provenance pass walks the failing
answer's decisive values back to the step where they entered the run, and steps on that lineage
(or on a data-flow path to the failing output) count more, while the steps downstream of a hard
failure count less (they are its consequences). The culprit is the best step, ties going to the
earlier one. Its confidence is a calibrated probability (calibration.py); below the abstention
threshold the verdict is *undetermined*: the ranked candidates with their evidence, not a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rootspan.attribution.calibration import ABSTAIN_BELOW, calibrated, raw_share
from rootspan.attribution.actions import rule_unperformed_action
from rootspan.attribution.constraints import rule_constraints, rule_handoff_fit
from rootspan.attribution.coverage import rule_result_short_of_request
from rootspan.attribution.defaults import rule_zeroed_result
from rootspan.attribution.dropped import rule_dropped_requirement
from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights, collect, final_answer_span, is_actor
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.invented_limits import rule_invented_limit
from rootspan.attribution.origin import Origin, lineage, rule_never_retrieved, rule_swallowed_error, rule_unsupported, rule_value_origin, turn_of
from rootspan.attribution.process import ProcessModel
from rootspan.attribution.required_calls import rule_required_call_skipped
from rootspan.attribution.provenance import build_provenance
from rootspan.model import Alternative, Culprit, LineageLink, Span, SpanKind
from rootspan.text import printable

MAX_ALTERNATIVES = 3
MAX_EVIDENCE = 5
SENTENCE_WIDTH = 200


@dataclass
class Scoring:
    """The knobs of the scoring, each explained in docs/attribution.md; none was searched on Who&When."""

    weights: Weights = field(default_factory=Weights)
    on_data_path_bonus: float = 0.5  # steps on the failing value's lineage or a data path to the failing output
    first_divergence_ratio: float = 1.0  # earliest step with at least this share of the top score wins
    early_bonus: float = 0.3  # mild preference for early steps: mistakes propagate forward
    consequence_factor: float = 0.5  # findings downstream of a hard failure are likely its consequences
    abstain_below: float = ABSTAIN_BELOW  # calibrated confidence under which the verdict is undetermined


@dataclass
class FailureFinding:
    """The failure half of a verdict."""

    culprit: Culprit | None
    category: str | None
    confidence: float
    evidence: list[str]
    path: list[str]
    alternatives: list[Alternative]
    determined: bool = True
    lineage: list[LineageLink] = field(default_factory=list)
    evidence_share: float = 0.0
    direct: bool = False  # a direct finding backs the culprit (a calibration feature)


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


HARD_RULES = frozenset({"error_status", "tool_empty", "tool_failed", "tool_arithmetic", "result_short_of_request", "zeroed_result"})  # failures that cause what follows
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
    # an error nothing recovered from ends the run's sound part: what is said after it (a span's
    # output exists at its end, so a turn around the failed call too) is downstream in time even
    # where no data edge was recorded
    errors = [graph.span(item.span_id) for span_id in hard for item in reasons[span_id] if item.rule == "error_status"]
    if errors:
        first_end = min(span.end_ns for span in errors)
        affected.update(span.span_id for span in graph.order if span.end_ns > first_end)
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
    # a turn speaks through its model calls: when the call read the failed result, so did the turn
    affected |= {turn_of(graph, graph.span(span_id)).span_id for span_id in list(affected)
                 if span_id in graph.by_id and graph.span(span_id).kind is SpanKind.LLM}
    # a step is exempt only when it failed itself; a caller blamed for a call's failure is not
    failed_itself = {span_id for span_id in hard if any(item.rule in HARD_RULES and item.span_id == span_id for item in reasons[span_id])}
    # an agent that swallowed the failure and filled the gap is not its consequence but its author
    failed_itself |= {span_id for span_id, items in reasons.items() if any(item.rule == "swallowed_error" for item in items)}
    for span_id in list(scores):
        if span_id in affected and span_id not in failed_itself:
            scores[span_id] *= factor
        elif span_id not in failed_itself:
            # a finding on a model call inside an affected turn was lifted to the turn
            if any(item.span_id in affected for item in reasons.get(span_id, ())):
                scores[span_id] *= factor


def gather_evidence(graph: AttributionGraph, weights: Weights, process: ProcessModel | None) -> tuple[list[Evidence], list[Origin], Span | None]:
    """Every rule's findings: the structural and process rules, then the provenance passes."""
    findings = collect(graph, weights, process)
    provenance = build_provenance(graph)
    origin_findings, origins, sink = rule_value_origin(graph, provenance, weights)
    findings.extend(origin_findings)
    findings.extend(rule_unsupported(graph, provenance, weights))
    findings.extend(rule_swallowed_error(graph, provenance, weights))
    findings.extend(rule_constraints(graph, provenance, weights))
    findings.extend(rule_handoff_fit(graph, weights))
    findings.extend(rule_unperformed_action(graph, weights))
    findings.extend(rule_dropped_requirement(graph, weights))
    findings.extend(rule_result_short_of_request(graph, weights))
    findings.extend(rule_required_call_skipped(graph, weights))
    findings.extend(rule_zeroed_result(graph, weights))
    findings.extend(rule_invented_limit(graph, weights))
    findings.extend(rule_never_retrieved(graph, provenance, findings, weights))
    return findings, origins, sink


def _on_failing_path(graph: AttributionGraph, origins: list[Origin], sink: Span | None) -> set[str]:
    """Steps the failing output depends on: the value lineages, and data flow into the sink."""
    reaching: set[str] = set()
    for origin in origins:
        reaching.update(origin.chain)
    if sink is not None:
        for span_id in graph.upstream(sink.span_id, limit=10_000):
            reaching.add(turn_of(graph, graph.span(span_id)).span_id)
    return reaching


def _score(graph: AttributionGraph, findings: list[Evidence], scoring: Scoring, reaching: set[str]) -> tuple[dict[str, float], dict[str, list[Evidence]]]:
    scores: dict[str, float] = {}
    reasons: dict[str, list[Evidence]] = {}
    # per step: the strongest finding of each rule, summed over rules (the same rule firing on
    # an agent turn and on the model call inside it is one finding, not two)
    strongest: dict[tuple[str, str], float] = {}
    for item in findings:
        target = item.blames or item.span_id
        if target not in graph.by_id or item.weight <= 0:
            continue
        target = step_of(graph, graph.span(target)).span_id
        key = (target, item.rule)
        if item.weight > strongest.get(key, 0.0):
            scores[target] = scores.get(target, 0.0) - strongest.get(key, 0.0) + item.weight
            strongest[key] = item.weight
        reasons.setdefault(target, []).append(item)
    _discount_consequences(graph, scores, reasons, scoring.consequence_factor)
    last = max(len(graph.order) - 1, 1)
    for span_id in scores:
        factor = 1.0 + (scoring.on_data_path_bonus if span_id in reaching else 0.0)
        factor += scoring.early_bonus * (1.0 - graph.position[span_id] / last)
        scores[span_id] *= factor
    return scores, reasons


def _category(reasons: list[Evidence]) -> str | None:
    """The category of the step's strongest finding; an omission outranks the number put in its place."""
    own = sorted(reasons, key=lambda item: -item.weight)
    if not own:
        return None
    category = own[0].category
    if category == "hallucination" and any(item.category == "ignored_input" for item in own):
        category = "ignored_input"
    return category


def _sentences(reasons: list[Evidence], limit: int) -> list[str]:
    ordered = sorted(reasons, key=lambda item: -item.weight)
    return [printable(quote(item.sentence, SENTENCE_WIDTH)) for item in ordered[:limit]]


def _structural_lineage(graph: AttributionGraph, culprit: Span, path: list[str]) -> list[LineageLink]:
    """No value to follow (an error, a stop): the path from the failing output back to the culprit."""
    hops = list(reversed(path))[:8]
    links = []
    for index, span_id in enumerate(hops):
        span = graph.span(span_id)
        role = "introduced" if span_id == culprit.span_id else ("failing" if index == 0 else "carried")
        text = graph.outputs.get(span_id, "") or span.status_message
        links.append(LineageLink(span_id=span_id, step=span.step, agent=graph.agent(span), name=span.name, role=role, quote=quote(text, 80)))
    return links


def analyze_failure(
    graph: AttributionGraph,
    scoring: Scoring | None = None,
    evidence: list[Evidence] | None = None,
    process: ProcessModel | None = None,
) -> FailureFinding:
    """Score every step, blame the best, calibrate the confidence, abstain when it is low."""
    scoring = scoring or Scoring()
    if evidence is not None:
        findings, origins, sink = evidence, [], failing_output(graph)
    else:
        findings, origins, sink = gather_evidence(graph, scoring.weights, process)
        sink = sink or failing_output(graph)
    reaching = _on_failing_path(graph, origins, sink) if scoring.on_data_path_bonus else set()
    scores, reasons = _score(graph, findings, scoring, reaching)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], graph.position[item[0]]))
    if not ranked or ranked[0][1] <= 0:
        return _no_evidence(graph, sink)
    top_score = ranked[0][1]
    threshold = scoring.first_divergence_ratio * top_score
    chosen_id = min((span_id for span_id, score in ranked if score >= threshold), key=lambda s: graph.position[s])
    chosen = graph.span(chosen_id)
    total = sum(score for _, score in ranked)
    direct = is_directly_backed(reasons[chosen_id], scoring.weights)
    confidence = calibrated(scores[chosen_id], total, direct)
    ordered = [chosen_id] + [span_id for span_id, _ in ranked if span_id != chosen_id]
    candidates = [
        Alternative(
            span_id=span_id,
            agent=graph.agent(graph.span(span_id)),
            step=graph.span(span_id).step,
            confidence=round(confidence if span_id == chosen_id else confidence * scores[span_id] / scores[chosen_id], 3),
            name=graph.span(span_id).name,
            category=_category(reasons[span_id]),
            evidence=_sentences(reasons[span_id], 3),
        )
        for span_id in ordered[: MAX_ALTERNATIVES + 1]
    ]
    path = _path(graph, chosen, sink)
    own_origin = max((origin for origin in origins if origin.span_id == chosen_id), key=lambda o: o.share, default=None)
    links = lineage(graph, own_origin, sink) if own_origin is not None else _structural_lineage(graph, chosen, path)
    sentences = _sentences(reasons[chosen_id], MAX_EVIDENCE)
    # what the mistake led to downstream, strongest first
    sentences += [_sentences(reasons[span_id], 1)[0] for span_id in ordered[1:] if reasons.get(span_id)]
    determined = confidence >= scoring.abstain_below
    return FailureFinding(
        culprit=_culprit(graph, chosen) if determined else None,
        category=_category(reasons[chosen_id]) if determined else None,
        confidence=round(confidence, 3),
        evidence=sentences[:MAX_EVIDENCE],
        path=path,
        alternatives=candidates[1:] if determined else candidates,
        determined=determined,
        lineage=links,
        evidence_share=round(raw_share(scores[chosen_id], total), 4),
        direct=direct,
    )


def is_directly_backed(reasons: list[Evidence], weights: Weights) -> bool:
    """A full-weight finding other than a value's origin backs the step: an error on it, a broken
    constraint, a swallowed failure. Observed facts, more often right than an inference."""
    return any(item.rule != "value_origin" and item.weight >= weights.direct * 0.99 for item in reasons)


def _no_evidence(graph: AttributionGraph, sink: Span | None) -> FailureFinding:
    """No finding at all: undetermined, with the busiest agent's first step as the only candidate."""
    fallback = _fallback(graph)
    if fallback is None:
        return FailureFinding(None, None, 0.0, ["no step recorded any evidence of a failure"], [], [], determined=False)
    sentence = printable(
        f"no evidence; step {fallback.step} is the first step of {graph.agent(fallback)}, the agent with the most steps"
    )
    candidate = Alternative(
        span_id=fallback.span_id, agent=graph.agent(fallback), step=fallback.step, confidence=0.1,
        name=fallback.name, category=None, evidence=[sentence],
    )
    return FailureFinding(
        culprit=None, category=None, confidence=0.1, evidence=[sentence],
        path=_path(graph, fallback, sink), alternatives=[candidate], determined=False,
    )


def is_failure(graph: AttributionGraph) -> bool:
    """Whether to look for a culprit: the shared definition of a failed trace (``Trace.failed``)."""
    return graph.trace.failed
