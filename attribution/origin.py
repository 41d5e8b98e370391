"""From the failing output back to where its decisive value entered: the provenance rules.

The failing output is the run's answer (the root's recorded answer, else the last statement of an
agent). Its decisive values are the claims it makes that the task did not give and, when the
expected answer is known, that the expected answer does not hold. Each is walked back through the
provenance: a value carried faithfully points at its origin, a derived value at its operands'
origins (the step that computed correctly is not to blame), a value restated in another unit at
the step that changed the unit. The step reached is where the wrong value entered; the hops on the
way are the failure's lineage, shown to the user as a chain.

Two generic refinements, each following how people read a failure:
- a tool that returned one value returned it wrong; a value *picked* out of a long listing (and,
  when the expected answer is known, next to the right one) is the picker's reading of it;
- an operand that the task gave is the user's, never a culprit.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rootspan.attribution.content import quote
from rootspan.attribution.expected import closeness, disagreeing_fields, leaf_values, parse_structured, scalar_expected
from rootspan.attribution.evidence import Evidence, Weights, final_answer_span, is_actor, is_tool, recovered_by, reports_failure
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.provenance import DERIVED, NOVEL, UNIT_CHANGED, Claim, Provenance
from rootspan.attribution.values import (
    CLAIM_KINDS,
    DECISION,
    IDENTIFIER,
    NUMBER,
    Value,
    day_month_key,
    extract,
    is_small_count,
    is_year,
    specificity,
)
from rootspan.model import LineageLink, Span, SpanKind

LISTING_SIZE = 5  # a tool output with this many values of one kind is a listing someone picks from
MAX_DEPTH = 6  # derivations followed back at most this deep
MAX_HOPS = 8
LOOKBACK = 6  # spans back from a valueless last word to the statement it judged  # lineage links shown between the failing output and the origin
SHORT_ANSWER = 120  # characters: in an answer this short every value is decisive, counts too
# A value a tool returned came from the world; one stated with no source came from nowhere. Of
# two origins otherwise alike, the unsourced statement is the likelier to be wrong.
TOOL_SOURCE_PRIOR = 0.75
# A tool whose result reports an error (a failing test, a 500) saw the failure, it did not make it:
# the value it returned is the symptom and weighs a third, leaving the blame to what came before.
REPORTED_FAILURE_SHARE = 0.3
# With no expected answer nothing says which of the answer's values is wrong; every one is traced.
# A value with a source in a tool result is then far likelier right than one stated with none, so
# sourced origins weigh this much less. With the expected answer the traced values are known wrong.
SOURCED_WHEN_UNKNOWN = 0.4


@dataclass
class Origin:
    """Where one decisive value entered, with the share of the blame it gets."""

    span_id: str
    value: Value
    share: float
    category: str
    how: str
    chain: list[str]  # span ids from the failing output back to the origin
    decisive: Value | None = None  # the answer's value this origin explains (``value`` may be an operand of it)
    sourced: bool = False  # the value came from a tool result (returned, or picked out of one)


def turn_of(graph: AttributionGraph, span: Span) -> Span:
    """A model call's words belong to the agent turn that made it; everything else is itself."""
    if span.kind is not SpanKind.LLM:
        return span
    current = graph.parent(span)
    for _ in range(64):
        if current is None:
            break
        if current.kind is SpanKind.AGENT:
            return current
        current = graph.parent(current)
    return span


def answer_text(graph: AttributionGraph) -> tuple[Span | None, str]:
    """The run's answer and the span that gave it: the root's recorded answer, else the last statement."""
    root = graph.root
    final = final_answer_span(graph)
    if root is not None:
        recorded = graph.outputs.get(root.span_id, "")
        if recorded.strip():
            return final, recorded
    if final is None:
        return None, ""
    return final, graph.outputs[final.span_id]


_JUDGES = re.compile(r"\b(?:yes|no|approved?|rejected?|accept(?:ed)?|declined?|pass(?:ed)?|fail(?:ed)?|true|false|valid|invalid|correct|incorrect|lgtm|ok)\b", re.I)
_ANSWER_CUE = re.compile(r"(?:total|sum|answer|result|final|amount|price|cost|balance|comes to|equals|\bis|\bare|\bwas|=|:)\W{0,3}[$€£]?\s*$", re.I)


def _folded(text: str) -> str:
    return " ".join(text.lower().replace(",", "").split()).strip(" .\"'")


def _holds(text: str, expected: str) -> bool:
    """The answer contains the expected answer, however spaced, cased or comma-grouped."""
    want = _folded(expected)
    # as a whole value: "1566" is not held by "156600"
    return bool(want) and re.search(r"(?<![\w.])" + re.escape(want) + r"(?![\w.])", _folded(text)) is not None


def _in_expected(value: Value, expected: str) -> bool:
    """The expected answer states this value as a whole word ("4" is not in "42")."""
    return re.search(r"(?<![\w.])" + re.escape(value.shown) + r"(?![\w.])", expected, re.I) is not None


def decisive_values(graph: AttributionGraph, prov: Provenance, text: str) -> list[Value]:
    """Claims of the answer that the task did not give and the expected answer does not hold.

    With a structured expected answer, the answer's values in the disagreeing fields come first
    (in the expected answer's order); with a one-number expected answer, the answer's numbers
    closest to it in size. The rest of the answer follows, ranked as answers are read.
    """
    expected = graph.trace.expected
    expected_keys = {value.key for value in extract(expected)} if expected else set()
    task = graph.inputs[graph.root.span_id] if graph.root is not None else ""
    short = len(text) <= SHORT_ANSWER
    aligned: list[Value] = []
    seen: set[str] = set()
    for _, _, leaf in disagreeing_fields(expected, text) or ():
        for value in leaf_values(leaf):
            if value.key in seen or value.key in expected_keys or value.kind == DECISION or value.key in prov.task_keys:
                continue
            seen.add(value.key)
            aligned.append(value)
    chosen: list[Value] = []
    for value in extract(text):
        # an id in the answer is a choice (which flight, which dish): traced like a claim
        if (value.kind not in CLAIM_KINDS and value.kind != IDENTIFIER) or value.key in seen or value.key in expected_keys:
            continue
        if value.key in prov.task_keys or (expected and _in_expected(value, expected)) or (value.kind != NUMBER and _in_expected(value, task)):
            continue  # the task gave it (a title, a name), in whatever form the extractor read it there
        if value.kind == DECISION:
            continue  # a yes/no judges another value; wrong verdicts are the verification rules' to find
        if not short and (is_small_count(value) or is_year(value)):
            continue
        seen.add(value.key)
        chosen.append(value)
    target = scalar_expected(expected)
    # what the answer asserts comes first (a value right after "total is", "answer:", "="), then
    # numbers and dates with units, which decide answers more often than the names around them
    chosen.sort(key=lambda value: (target is not None and closeness(value, target) > 1.0,
                                   not _ANSWER_CUE.search(text[max(0, value.start - 30) : value.start]),
                                   value.kind not in (NUMBER, "date"), value.unit is None, is_small_count(value),
                                   closeness(value, target) if target is not None else 0.0, value.start))
    if aligned:
        return aligned[:8]  # the fields that disagree are the failure; the others are context
    return chosen[:8]


def _id_prefix(value: Value) -> str:
    return re.sub(r"[\d_#-]+.*$", "", value.key[2:]) if value.kind == IDENTIFIER else ""


def _record_around(text: str, raw: str) -> str | None:
    """The innermost JSON-like object ({...}) of a listing that holds ``raw``."""
    at = text.find(raw)
    if at < 0:
        return None
    start, end = text.rfind("{", 0, at), text.find("}", at)
    return text[start : end + 1] if start >= 0 and end > at else None


def record_chooser(graph: AttributionGraph, prov: Provenance, tool_id: str, value: Value, step: Span) -> tuple[Span, str] | None:
    """The first agent step before ``step`` that named the record (by one of its ids) that a tool's
    listing holds ``value`` in: a slot's date, a hotel's price come with the slot or hotel picked.

    Only a listing offers a choice: the record's id must have a sibling of its type in the result.
    """
    text = graph.outputs.get(tool_id, "")
    written = next((v.raw for v in prov.values_out.get(tool_id, ()) if v.key == value.key or day_month_key(v.key) == value.key), value.raw)
    record = _record_around(text, written)
    if record is None:
        return None
    prefixes = Counter(_id_prefix(found) for found in {v.key: v for v in prov.values_out.get(tool_id, ()) if v.kind == IDENTIFIER}.values())
    ids = {found.key: found.raw for found in extract(record) if found.kind == IDENTIFIER and prefixes[_id_prefix(found)] >= 2}
    if not ids:
        return None
    limit = graph.position[step.span_id]
    for span in graph.order:
        if graph.position[span.span_id] > limit:
            break
        if is_actor(span) and span is not graph.root and graph.position[span.span_id] > graph.position[tool_id]:
            named = next((ids[found.key] for found in prov.values_out.get(span.span_id, ()) if found.key in ids), None)
            if named is not None:
                return turn_of(graph, span), named
    return None


def _is_listing(prov: Provenance, span_id: str, value: Value) -> bool:
    """The tool's output offers alternatives to this value: five or more values of its kind, or,
    for an id, another id of the same type (SUB-3301 beside SUB-3317: two subscriptions to choose from)."""
    values = prov.values_out.get(span_id, ())
    if value.kind == IDENTIFIER:
        prefix = _id_prefix(value)
        return len({other.key for other in values if other.kind == IDENTIFIER and _id_prefix(other) == prefix}) >= 2
    return sum(1 for other in values if other.kind == value.kind) >= LISTING_SIZE


def _picker(graph: AttributionGraph, prov: Provenance, key: str, tool_id: str) -> str | None:
    """The first actor after the tool that restated the value: who picked it out of the listing."""
    for holder in prov.holders.get(key, ()):
        span = graph.span(holder)
        if holder != tool_id and is_actor(span) and span is not graph.root and graph.position[holder] > graph.position[tool_id]:
            return turn_of(graph, span).span_id
    return None


def _first_unit_change(graph: AttributionGraph, prov: Provenance, key: str) -> Claim | None:
    for holder in prov.holders.get(key, ()):
        claim = prov.claim(holder, key)
        if claim is not None and claim.status == UNIT_CHANGED and graph.span(holder) is not graph.root:
            return claim
    return None


def _carriers(graph: AttributionGraph, prov: Provenance, key: str, origin: str, sink: Span | None) -> list[str]:
    """Steps that held the value between its origin and the failing output, latest first."""
    limit = graph.position[sink.span_id] if sink is not None else len(graph.order)
    found: dict[str, None] = {}  # ordered and O(1) to test: a value carried through 30k steps
    start = graph.position[origin]
    for holder in prov.holders.get(key, ()):
        position = graph.position[holder]
        if position <= start or position > limit:
            continue
        span = graph.span(holder)
        if span is graph.root:
            continue
        step = turn_of(graph, span).span_id
        if step != origin:
            found.setdefault(step, None)
    return list(reversed(found))


def _computed_on_the_way(graph: AttributionGraph, prov: Provenance, key: str, sink: Span | None) -> Claim | None:
    """The last tool call before the sink that computed the value from its own arguments.

    A calculator's 10.0 mL is where the answer's 10.0 came from, even when a 10.0 stood in a
    plate-reader dump long before: the first place a number appears is its origin only when
    nothing computed it since.
    """
    limit = graph.position[sink.span_id] if sink is not None else len(graph.order)
    found = None
    for holder in prov.holders.get(key, ()):
        if holder == prov.origin.get(key) or graph.position[holder] > limit or not is_tool(graph.span(holder)):
            continue
        claim = prov.claim(holder, key)
        if claim is not None and claim.status == DERIVED:
            found = claim
    return found


def trace_value(graph: AttributionGraph, prov: Provenance, value: Value, sink: Span | None, share: float = 1.0, depth: int = 0,
                whole_listing: bool = False) -> list[Origin]:
    """Origins of one decisive value, each with its share of the blame.

    ``whole_listing``: the value is one member of a total over a whole column or group, so
    nobody picked it out of its listing; the listing's source answers for it.
    """
    key = value.key
    changed = _first_unit_change(graph, prov, key)
    if changed is not None:
        step = turn_of(graph, graph.span(changed.span_id)).span_id
        chain = _carriers(graph, prov, key, step, sink) + [step]
        return [Origin(step, value, share, "tool_output_misread", changed.how, chain)]
    claim = _computed_on_the_way(graph, prov, key, sink) or prov.first_claim(key)
    if claim is None:
        origin = prov.origin.get(key)
        if origin is None or origin in prov.task_keys or (graph.root is not None and origin == graph.root.span_id):
            return []
        step = turn_of(graph, graph.span(origin)).span_id
        return [Origin(step, value, share, "hallucination", "stated with no source", _carriers(graph, prov, key, step, sink) + [step])]
    span = graph.span(claim.span_id)
    step = turn_of(graph, span).span_id
    chain = _carriers(graph, prov, key, step, sink) + [step]
    if claim.status == DERIVED and depth < MAX_DEPTH:
        operands = [
            (source, operand)
            for source, operand in zip(claim.sources, claim.operands or ("",) * len(claim.sources))
            if graph.root is None or source != graph.root.span_id
        ]
        origins: list[Origin] = []
        for source, operand in operands:
            if not operand and source in graph.by_id:
                # a sum or mean of a whole listing: the listing's source holds the error
                origins.append(_listing_origin(graph, source, value, share / len(operands), chain, claim.how))
                continue
            if not operand or operand in prov.task_keys:
                continue
            operand_value = next((v for v in prov.values_out.get(source, ()) + prov.values_in.get(source, ()) if v.key == operand), None)
            if operand_value is None:
                continue
            aggregate = claim.how.startswith(("the sum of", "the mean of"))
            for found in trace_value(graph, prov, operand_value, graph.span(step), share / max(1, len(operands)), depth + 1, aggregate):
                found.chain = chain[:-1] + [step] + found.chain if step not in found.chain else found.chain
                found.how = f"{value.shown} = {claim.how}; {found.how}"
                origins.append(found)
        if origins or operands == []:
            return _merged(origins)
        # operands only from sources we cannot read back: the deriving step is all we have
        return [Origin(step, value, share * 0.5, "hallucination", f"{value.shown} = {claim.how}", chain)]
    if is_tool(span):
        expected = graph.trace.expected
        expected_values = extract(expected or "") if expected else []
        right_one_there = any(
            v.key in prov.origin and prov.origin[v.key] == span.span_id for v in expected_values if v.kind in CLAIM_KINDS
        )
        # the expected value of the same kind came back in the same result (LMS-204 beside
        # LES-118): the tool offered both, whatever their types, and someone chose
        listing = _is_listing(prov, span.span_id, value) or any(
            v.kind == value.kind and v.key != value.key and prov.origin.get(v.key) == span.span_id for v in expected_values
        )
        picker = _picker(graph, prov, key, span.span_id) if listing and not whole_listing else None
        if picker is not None:
            # picking from a listing is a reading: the picker's, for certain when the right value
            # sat in the same listing, mostly otherwise (the listing itself may be wrong)
            picker_share = share if right_one_there else share * 0.6
            picked_chain = _carriers(graph, prov, key, picker, sink) + [picker]
            found = [Origin(picker, value, picker_share, "tool_output_misread", f"picked {value.shown} out of {quote(span.name, 40)}'s listing", picked_chain, sourced=True)]
            if not right_one_there:
                found.append(Origin(span.span_id, value, share - picker_share, "tool_wrong_result", "returned by the tool", chain, sourced=True))
            return found
        chosen = record_chooser(graph, prov, span.span_id, value, sink) if sink is not None and not whole_listing else None
        if chosen is not None and chosen[0] is not graph.root:
            # the value came with a record someone picked out of the listing (a subscription's
            # renewal date with the subscription): the pick is the reading, as for the id itself
            turn, named = chosen
            picked_chain = _carriers(graph, prov, key, turn.span_id, sink) + [turn.span_id]
            return [Origin(turn.span_id, value, share * 0.6, "tool_output_misread",
                           f"came with {named}, picked out of {quote(span.name, 40)}'s listing", picked_chain, sourced=True),
                    Origin(span.span_id, value, share * 0.4, "tool_wrong_result", "returned by the tool", chain, sourced=True)]
        if reports_failure(graph.outputs[span.span_id]):
            # a check that reports a failure observed it; the value it returned is the symptom
            return [Origin(span.span_id, value, share * REPORTED_FAILURE_SHARE, "tool_error", "the tool's report of a failure", chain, sourced=True)]
        return [Origin(span.span_id, value, share * TOOL_SOURCE_PRIOR, "tool_wrong_result", "returned by the tool", chain, sourced=True)]
    if claim.status == NOVEL and claim.span_id in prov.claims and span is not graph.root:
        authored = prov.authored.get(key) == claim.span_id and not is_actor(span)
        return [Origin(step, value, share, "tool_misuse" if authored else "hallucination", "stated with no source", chain)]
    return [Origin(step, value, share, "hallucination", "stated with no source", chain)]


def _merged(origins: list[Origin]) -> list[Origin]:
    """One origin per step and category, shares summed: the 25 invoices of one fetch that make up
    a wrong total are one finding on the fetch, as strong as the total, not 25 weak ones."""
    merged: dict[tuple[str, str], Origin] = {}
    for origin in origins:
        kept = merged.get((origin.span_id, origin.category))
        if kept is None:
            merged[(origin.span_id, origin.category)] = origin
        else:
            kept.share += origin.share
    return list(merged.values())


def _listing_origin(graph: AttributionGraph, source: str, value: Value, share: float, chain: list[str], how: str) -> Origin:
    span = graph.span(source)
    step = turn_of(graph, span).span_id
    full = chain + [step] if step not in chain else chain
    if is_tool(span):
        return Origin(span.span_id, value, share * TOOL_SOURCE_PRIOR, "tool_wrong_result", f"{value.shown} = {how}, which the tool returned", full, sourced=True)
    return Origin(step, value, share, "hallucination", f"{value.shown} = {how}, which this step stated", full)


def _excerpt(graph: AttributionGraph, span_id: str, value: Value | None) -> str:
    text = graph.outputs.get(span_id, "") or graph.inputs.get(span_id, "")
    if value is None or value.raw not in text:
        return quote(text, 80)
    index = text.index(value.raw)
    start = max(0, index - 40)
    return quote(("…" if start else "") + text[start : index + len(value.raw) + 40], 90)


def lineage(graph: AttributionGraph, origin: Origin, sink: Span | None) -> list[LineageLink]:
    """The chain shown to the user: failing output first, the introducing step last."""
    hops = list(dict.fromkeys(origin.chain))
    if sink is not None:
        sink_step = turn_of(graph, sink).span_id
        if sink_step not in hops:
            hops.insert(0, sink_step)
    if len(hops) > MAX_HOPS:
        hops = hops[:1] + hops[-(MAX_HOPS - 1) :]
    links = []
    for index, span_id in enumerate(hops):
        span = graph.span(span_id)
        role = "introduced" if span_id == origin.span_id else ("failing" if index == 0 else "carried")
        links.append(
            LineageLink(
                span_id=span_id,
                step=span.step,
                agent=graph.agent(span),
                name=span.name,
                role=role,
                value=origin.value.shown,
                quote=_excerpt(graph, span_id, origin.value) if role != "introduced" else _excerpt(graph, _stated_in(graph, span_id, origin.value), origin.value),
            )
        )
    return links


def _stated_in(graph: AttributionGraph, step_id: str, value: Value) -> str:
    """The span inside a turn whose text holds the value (the model call), else the turn."""
    if value.raw in graph.outputs.get(step_id, ""):
        return step_id
    for child in graph.children(step_id):
        if value.raw in graph.outputs.get(child.span_id, ""):
            return child.span_id
    return step_id


def rule_value_origin(graph: AttributionGraph, prov: Provenance, weights: Weights) -> tuple[list[Evidence], list[Origin], Span | None]:
    """Evidence on the steps where the failing answer's decisive values entered the run."""
    if graph.trace.outcome is None or graph.trace.outcome == "success":
        return [], [], None
    sink, text = answer_text(graph)
    if not text:
        return [], [], sink
    expected = graph.trace.expected
    if expected and (_holds(text, expected) or disagreeing_fields(expected, text) == []):
        return [], [], sink  # the answer holds the expected value: what failed lies elsewhere
    values = decisive_values(graph, prov, text)
    # a verdict with no value ("no", "rejected") judged an earlier statement; an empty or null
    # answer judged nothing: the run produced no value, which the process rules explain
    if not values and sink is not None and _JUDGES.search(text):
        # the last word holds no value ("no", "approved"): the answer is what it judged, the
        # latest earlier statement that holds one
        for earlier in graph.before(sink):
            if len(values) or graph.position[sink.span_id] - graph.position[earlier.span_id] > LOOKBACK:
                break
            if is_actor(earlier) and earlier is not graph.root and graph.outputs[earlier.span_id].strip():
                values = decisive_values(graph, prov, graph.outputs[earlier.span_id])
                if values:
                    sink = earlier
    origins: list[Origin] = []
    for rank, value in enumerate(values):
        # the first decisive value weighs most: answers lead with what they claim
        for origin in trace_value(graph, prov, value, sink, share=specificity(value) / (1 + 0.5 * rank)):
            origin.decisive = value
            if origin.sourced and not expected:
                origin.share *= SOURCED_WHEN_UNKNOWN
            origins.append(origin)
    evidence: list[Evidence] = []
    versus = f"; expected '{quote(expected, 40)}'" if expected else " and the run failed"
    for origin in origins:
        span = graph.span(origin.span_id)
        evidence.append(
            Evidence(
                origin.span_id,
                "value_origin",
                origin.category,
                weights.value_origin * origin.share,
                _origin_sentence(graph, origin, span) + versus,
            )
        )
    return evidence, origins, sink


def _origin_sentence(graph: AttributionGraph, origin: Origin, span: Span) -> str:
    where = f"step {span.step} ({graph.agent(span) or quote(span.name, 30)})"
    decisive = origin.decisive or origin.value
    if decisive.key == origin.value.key:
        return f"'{quote(decisive.shown, 30)}' in the answer entered the run at {where}: {quote(origin.how, 80)}"
    return (f"'{quote(decisive.shown, 30)}' in the answer is computed from '{quote(origin.value.shown, 30)}', which entered "
            f"the run at {where}: {quote(origin.how, 100)}")


def _expected_values(expected: str) -> list[Value]:
    structured = parse_structured(expected)
    if isinstance(structured, (dict, list)):
        leaves = [value for _, leaf, _ in disagreeing_fields(expected, "{}") or () for value in leaf_values(leaf)]
        return [value for value in leaves if specificity(value) >= 0.6 or value.kind == "quoted"]
    return [value for value in extract(expected) if specificity(value) >= 0.6]


def rule_never_retrieved(graph: AttributionGraph, prov: Provenance, evidence: list[Evidence], weights: Weights) -> list[Evidence]:
    """The expected answer's values appear nowhere in the run: the information never came in.

    Then no step misread or miscomputed it; the retrieval that came back empty or failed is where
    the run lost it, and its finding weighs like a value's origin. Needs the expected answer.
    """
    expected = graph.trace.expected
    if not expected or graph.trace.outcome in (None, "success"):
        return []
    root = graph.root
    task = graph.inputs[root.span_id].lower() if root is not None else ""
    wanted = [value for value in _expected_values(expected) if value.key not in prov.task_keys and value.shown.lower() not in task]
    if not wanted or any(value.key in prov.origin for value in wanted):
        return []
    held = [graph.outputs[span.span_id].lower() + graph.inputs[span.span_id].lower() for span in graph.order if span is not root]
    if any(value.shown.lower() in text for value in wanted for text in held):
        return []  # held verbatim somewhere, in a form the extractor does not read as that value
    empty = [item for item in evidence if item.rule in ("tool_empty", "tool_failed") and item.blames is None]
    if not empty:
        return []
    first = min(empty, key=lambda item: graph.position[item.span_id])
    span = graph.span(first.span_id)
    return [Evidence(first.span_id, "never_retrieved", first.category, weights.value_origin * 0.5,
                     f"no step ever held the expected '{quote(expected, 40)}'; step {span.step} ({quote(span.name, 30)}) "
                     "is the first retrieval that came back with nothing")]


# a stand-in for what a failed call should have given, or leaving that part out
_STAND_IN = re.compile(
    r"\b(?:using (?:the |a |an )?(?:scheduled|default|estimated|cached|previous|last|planned|typical|average)\b[^.\n]{0,30}|"
    r"assum(?:e|ing) [^.\n]{0,30}|fall(?:ing)? back to [^.\n]{0,30}|instead of [^.\n]{0,30}|"
    r"skip(?:ping)? [^.\n]{0,30}|(?:without|excluding|leaving out|leave out) (?:it|them|that|those|this|the [^.\n]{0,20})|"
    r"move on|carry on without)",
    re.I,
)
_REPORTS_TROUBLE = re.compile(
    r"\b(?:fail(?:ed|s|ure)?|error|exception|blocked|denied|unavailable|timed? ?out|could not|couldn't|cannot|can't|unable|"
    r"retry|rolled back|not (?:available|reachable|found))\b",
    re.I,
)


def rule_swallowed_error(graph: AttributionGraph, prov: Provenance, weights: Weights) -> list[Evidence]:
    """A call failed and nothing retried it, yet its agent went on stating values no call returned.

    The failure was the tool's, but the wrong answer is the agent's: it swallowed the error and
    filled the gap. Counts only values that reach the answer, so an agent that reports the failure
    (or says nothing specific) is not blamed.
    """
    if graph.trace.outcome in (None, "success"):
        return []
    _, answer = answer_text(graph)
    answer_keys = {value.key for value in extract(answer) if value.kind in CLAIM_KINDS}
    found: list[Evidence] = []
    seen: set[str] = set()
    for span in graph.order:
        if not (is_tool(span) and span.is_error) or recovered_by(graph, span) is not None:
            continue
        turn = turn_of(graph, graph.parent(span) or span)
        if turn is span or turn is graph.root or turn.span_id in seen or turn.kind is not SpanKind.AGENT:
            continue
        stated = [turn.span_id] + [child.span_id for child in graph.children(turn.span_id) if child.kind is SpanKind.LLM and child.start_ns >= span.end_ns]
        # a turn that puts a stand-in in the missing data's place or leaves that part out ("using
        # the scheduled 38 h", "skip DE"), however openly, made the run's decision: the steps after
        # it carry a result short of the task
        stand_in = next((match for holder in stated for match in [_STAND_IN.search(graph.outputs[holder])] if match), None)
        if stand_in is not None:
            seen.add(turn.span_id)
            found.append(Evidence(turn.span_id, "swallowed_error", "task_derailment", weights.direct,
                                  f"step {turn.step} ({graph.agent(turn)}) went on after step {span.step} failed and was not "
                                  f"retried, with '{quote(stand_in.group(0), 30)}' in place of what the call should have returned"))
            continue
        if any(_REPORTS_TROUBLE.search(graph.outputs[holder]) for holder in stated):
            continue  # it told of the failure and stated nothing in its place
        invented = [
            claim.value for holder in stated for claim in prov.claims.get(holder, ())
            if claim.status == NOVEL and claim.value.key in answer_keys and specificity(claim.value) >= 0.6
            and not is_small_count(claim.value)
        ]
        if not invented:
            continue
        seen.add(turn.span_id)
        shown = ", ".join(dict.fromkeys(quote(value.shown, 20) for value in invented[:3]))
        found.append(Evidence(turn.span_id, "swallowed_error", "hallucination", weights.direct,
                              f"step {turn.step} ({graph.agent(turn)}) went on after step {span.step} failed, stating {shown} "
                              "that no call returned"))
    return found


def rule_unsupported(graph: AttributionGraph, prov: Provenance, weights: Weights) -> list[Evidence]:
    """Numbers an agent states with no source and no derivation from what it had (weak evidence).

    Counts, years, identifiers and list markers are not claims; a value whose unit says what it
    is (a price, a weight) or with three or more significant digits is.
    """
    found: list[Evidence] = []
    for span in graph.order:
        if not is_actor(span) or span is graph.root:
            continue
        novel = [
            claim.value
            for claim in prov.claims.get(span.span_id, ())
            if claim.status == NOVEL
            and claim.value.kind == NUMBER
            and not is_small_count(claim.value)
            and not is_year(claim.value)
            and (claim.value.unit is not None or len(claim.value.key.lstrip("n:-").replace(".", "").strip("0")) >= 3)
        ]
        if not novel:
            continue
        text_size = len(graph.outputs[span.span_id])
        density = min(1.0, 2000 / max(1, text_size))  # page dumps hold numbers nobody claimed
        found.append(
            Evidence(
                span.span_id,
                "unsupported_claim",
                "hallucination",
                weights.weak * min(1.0, 0.5 * len(novel)) * density,
                f"step {span.step} ({graph.agent(span)}) states {', '.join(v.shown for v in novel[:4])} that no earlier "
                "input or tool result contains or computes",
            )
        )
    return found
