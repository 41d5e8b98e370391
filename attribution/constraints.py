"""Explicit constraints of the task (a limit, a year, a unit, a format) and the first step that broke one.

Users state constraints in the request: "under $500", "at most 3 items", "for 2023", "in kg",
"as JSON". A plan, a tool call or an answer that breaks one is where the run went wrong even when
every later step is faithful to it. Only statements that *act* count: a step's own output or a
tool call's arguments (written by the step that made the call); a tool result listing options
that break the limit is data, not a decision. A violation counts only when it reaches the run's
answer or a tool call (a value considered and dropped is not a failure).

Also the role fit of handoffs: a step that hands the work to an agent whose name shares nothing
with the request while another agent of the team matches it (a billing ticket sent to tech
support) chose the wrong agent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from rootspan import semconv as sc
from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights, is_actor, is_tool
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.origin import answer_text, record_chooser, turn_of
from rootspan.attribution.provenance import Provenance, author_of_input, unit_conflict
from rootspan.attribution.values import DATE, IDENTIFIER, NUMBER, Value, extract, is_year
from rootspan.model import Span

_UPPER = re.compile(r"\b(?:under|below|less than|at most|no more than|not (?:to )?exceed(?:ing)?|max(?:imum)?(?: of)?|up to|within(?: a budget of)?|budget(?: of| is|:)?|cap(?:ped)? at|limit(?: of| is|:)?)\s+(?:(?:USD|EUR|GBP)\s+)?$", re.I)
_LOWER = re.compile(r"\b(?:at least|minimum(?: of)?|more than|no less than)\s+$", re.I)
_YEAR_CONTEXT = re.compile(r"\b(?:in|for|during|of|fiscal year|fy|year)\s+$", re.I)
_UNIT_REQUIRED = re.compile(
    r"\b(?:in|into|as|using)\s+(euros?|eur|dollars|usd|pounds sterling|gbp|kilograms?|kg|pounds|lbs?|kilomet(?:er|re)s?|km|miles|"
    r"celsius|fahrenheit|metric(?: units)?|si units|imperial(?: units)?|hours|minutes)\b",
    re.I,
)
_FORMAT_REQUIRED = re.compile(r"\b(?:as|in|return|output|respond with|formatted as)\s+(?:a\s+|valid\s+)?(json|csv|yaml|markdown table)\b", re.I)
_UNIT_WORDS = {
    "euro": "eur", "euros": "eur", "eur": "eur", "dollars": "usd", "usd": "usd", "pounds sterling": "gbp", "gbp": "gbp",
    "kilogram": "kg", "kilograms": "kg", "kg": "kg", "pounds": "lb", "lb": "lb", "lbs": "lb", "kilometers": "km",
    "kilometres": "km", "kilometer": "km", "kilometre": "km", "km": "km", "miles": "mi", "metric": "metric",
    "metric units": "metric", "si units": "metric", "imperial": "imperial", "imperial units": "imperial", "hours": "h", "minutes": "min",
}
_METRIC = {"kg", "g", "km", "m", "cm", "mm", "l", "ml", "°c", "c"}
_IMPERIAL = {"lb", "oz", "mi", "ft", "in", "gal", "°f", "f", "btu", "btu/h", "cfm", "psi", "gpm"}
OPTIONS = 5  # an output with this many dates lists options someone else picks from
# "within the flight window 2024-09-09 to 2024-09-22", "between 3 March 2025 and 9 March 2025":
# two dates joined by to/through/until/and/a dash, with a word that makes them a limit near them
# ("from X to Y" alone is often the period a report covers, not a limit on what may be chosen)
_RANGE_JOIN = re.compile(r"^\s*(?:to|through|thru|until|till|and|-|–)\s*(?:and\s+)?$", re.I)
_WINDOW_WORDS = re.compile(r"\b(?:window|within|inside|between|during|only|must|no later|no earlier|not before|not after)\b", re.I)
_WEEKDAYS_ONLY = re.compile(r"\b(?:weekdays? only|only (?:on )?weekdays|on a weekday|no weekends?|not (?:on )?(?:a |the )?weekends?|business days? only|monday(?: to|-| through) friday)\b", re.I)
_MONTH_YEAR = re.compile(r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\s+(\d{4})\b", re.I)
_MONTHS = "january february march april may june july august september october november december".split()


_LENGTH_UNIT = re.compile(r"\s*(characters?|chars?|words?)\b", re.I)


_NOUN_AFTER = re.compile(r"[\s-]*([A-Za-z]{3,})")


def noun_after(text: str, value: Value) -> str | None:
    """The word right after a number, folded to a stem ("5 review rounds" -> "revie"): what it counts."""
    match = _NOUN_AFTER.match(text, value.start + len(value.raw))
    return match.group(1).lower()[:5] if match else None


@dataclass(frozen=True)
class Bound:
    value: Value
    upper: bool
    length: str | None = None  # "characters" or "words": a limit on a text's length, not on a value
    noun: str | None = None  # what a unitless limit counts ("rounds", "items"): only counts of it break it


@dataclass
class Constraints:
    """What the task requires, as far as a pattern can read it."""

    bounds: list[Bound]
    years: set[int]
    unit: str | None
    format: str | None
    month: tuple[int, int] | None = None  # (year, month) when the task is about one month
    weekdays_only: bool = False
    window: tuple[date, date] | None = None  # dates chosen must fall inside (inclusive)

    @property
    def empty(self) -> bool:
        return not (self.bounds or self.years or self.unit or self.format or self.month or self.weekdays_only or self.window)


def _day(value: Value) -> date | None:
    try:
        return date.fromisoformat(value.key[2:12]) if value.kind == DATE else None
    except ValueError:
        return None


def date_window(task: str, values: list[Value]) -> tuple[date, date] | None:
    """The one date range the task limits choices to, when it states one."""
    dates = [value for value in values if _day(value) is not None]
    windows = []
    for first, second in zip(dates, dates[1:]):
        between = task[first.start + len(first.raw) : second.start]
        near = task[max(0, first.start - 60) : first.start] + " " + task[second.start + len(second.raw) : second.start + len(second.raw) + 40]
        start, end = _day(first), _day(second)
        if start is not None and end is not None and start < end and _RANGE_JOIN.match(between) and _WINDOW_WORDS.search(near):
            windows.append((start, end))
    return windows[0] if len(windows) == 1 else None


def task_constraints(task: str) -> Constraints:
    bounds: list[Bound] = []
    years: set[int] = set()
    task_values = extract(task)
    for value in task_values:
        before = task[max(0, value.start - 40) : value.start]
        if value.kind == NUMBER and is_year(value) and _YEAR_CONTEXT.search(before):
            years.add(int(value.number or 0))
        elif value.kind == NUMBER and not is_year(value):
            after = _LENGTH_UNIT.match(task, value.start + len(value.raw))
            length = ("words" if after.group(1).lower().startswith("w") else "characters") if after else None
            noun = noun_after(task, value) if value.unit is None else None
            if _UPPER.search(before):
                bounds.append(Bound(value, True, length, noun))
            elif _LOWER.search(before):
                bounds.append(Bound(value, False, length, noun))
        elif value.kind == DATE:
            years.add(int(value.key[2:6]))
    months = {(int(match.group(2)), _MONTHS.index(match.group(1).lower()) + 1) for match in _MONTH_YEAR.finditer(task)}
    unit_match = _UNIT_REQUIRED.search(task)
    format_match = _FORMAT_REQUIRED.search(task)
    return Constraints(
        bounds=bounds,
        years=years if len(years) == 1 else set(),  # a range of years is not one required year
        unit=_UNIT_WORDS.get(unit_match.group(1).lower()) if unit_match else None,
        format=format_match.group(1).lower() if format_match else None,
        month=next(iter(months)) if len(months) == 1 else None,
        weekdays_only=bool(_WEEKDAYS_ONLY.search(task)),
        window=date_window(task, task_values),
    )


def _acting_texts(graph: AttributionGraph) -> Iterable[tuple[Span, str, str]]:
    """(step to blame, text, where) for what steps decided: their outputs and the tool calls they wrote."""
    for span in graph.order:
        if span is graph.root:
            continue
        if is_tool(span):
            arguments = graph.inputs[span.span_id]
            author = author_of_input(graph, span)
            if arguments and author is not None:
                yield turn_of(graph, author), arguments, f"the {quote(span.name, 40)} call"
        elif is_actor(span):
            text = graph.outputs[span.span_id]
            if text:
                yield turn_of(graph, span), text, "its output"


_CURRENCY_UNITS = frozenset({"usd", "eur", "gbp", "jpy", "chf", "cad", "aud", "cents"})
# a unitless number under a budget in money must say it is money: "total": 650 is, downloads are not
_MONEY_WORDS = re.compile(r"price|cost|total|budget|amount|spend|fee|charge|sum|subtotal|due|paid|pay", re.I)


def _breaks(bound: Bound, value: Value, text: str = "") -> bool:
    if value.kind != NUMBER or value.number is None or bound.value.number is None or is_year(value):
        return False
    if bound.value.unit != value.unit and not (bound.value.unit is None or value.unit is None):
        return False
    if bound.value.unit is None and value.unit is not None:
        return False
    if bound.value.unit in _CURRENCY_UNITS and value.unit is None and not _MONEY_WORDS.search(text[max(0, value.start - 30) : value.start]):
        return False
    return value.number > bound.value.number if bound.upper else value.number < bound.value.number


_JSON_KEY_BEFORE = re.compile(r"[\"']?[\w.-]+[\"']?\s*[:=]\s*$")


def _counts(text: str, value: Value, noun: str) -> bool:
    """The number may be a count of what a limit counts ("at most 2 alerts"): it says so ("3
    alerts"), or it is a whole number standing alone; a fraction or a number under another key
    ("price": 139.0) counts something else."""
    after = noun_after(text, value)
    if after is not None:
        return after == noun
    whole = value.number is not None and value.number == int(value.number) and "." not in value.raw
    return whole and not _JSON_KEY_BEFORE.search(text[max(0, value.start - 40) : value.start])


def _in_answer(text: str, answer: str) -> bool:
    """The step's text reached the answer whole (as written, or escaped inside a JSON answer)."""
    body = text.strip()
    return bool(body) and (body in answer or json.dumps(body)[1:-1] in answer or json.dumps(body, ensure_ascii=False)[1:-1] in answer)


def _length(text: str, unit: str) -> int:
    return len(text.split()) if unit == "words" else len(text.strip())


def _past(bound: Bound, size: int) -> bool:
    limit = bound.value.number or 0
    return size > limit if bound.upper else size < limit


def _reaches(key: str, reached: set[str]) -> bool:
    return key in reached


def rule_constraints(graph: AttributionGraph, prov: Provenance, weights: Weights) -> list[Evidence]:
    """The first acting step that broke an explicit constraint of the task."""
    root = graph.root
    if root is None or graph.trace.outcome in (None, "success"):
        return []
    task = graph.inputs[root.span_id]
    constraints = task_constraints(task)
    if constraints.empty:
        return []
    sink, answer = answer_text(graph)
    answer_keys = {value.key for value in extract(answer)}
    argument_keys: set[str] = set()
    for span in graph.order:
        if is_tool(span):
            argument_keys |= {value.key for value in prov.values_in.get(span.span_id, ())}
    reached = answer_keys | argument_keys
    found: list[Evidence] = []
    blamed: set[str] = set()
    picked: dict[str, str] = {}  # value key -> the id of the listed record it came with

    def introducer(step: Span, value: Value) -> Span:
        """Who first stated the breaking value: a step that passes a query or a plan on to a tool
        carries the choice, the step that wrote it made it; a value of a record a tool listed was
        chosen by whoever picked that record."""
        origin = prov.origin.get(value.key)
        if origin is None or origin == root.span_id or origin not in graph.by_id:
            return step
        if is_tool(graph.span(origin)):
            chosen = record_chooser(graph, prov, origin, value, step)
            if chosen is not None:
                picked[value.key] = chosen[1]
                return chosen[0]
        first = turn_of(graph, graph.span(origin))
        return first if is_actor(first) and first is not graph.root and graph.position[first.span_id] <= graph.position[step.span_id] else step

    def add(step: Span, category: str, sentence: str) -> None:
        if step.span_id in blamed:
            return
        blamed.add(step.span_id)
        found.append(Evidence(step.span_id, "constraint", category, weights.direct, sentence))

    for step, text, where in _acting_texts(graph):
        values = extract(text)
        for bound in constraints.bounds:
            if bound.length is not None:
                size = _length(text, bound.length)
                if "call" not in where and _in_answer(text, answer) and _past(bound, size):
                    add(step, "disobey_task_spec", f"step {step.step} ({graph.agent(step)}) writes {size} {bound.length} that reach the "
                        f"answer; the task asks for {'at most' if bound.upper else 'at least'} {quote(bound.value.shown, 20)}")
                continue
            # a number the task itself gave (an opt-out code, an order number) breaks no limit
            broken = next((v for v in values if v.key not in prov.task_keys and _breaks(bound, v, text) and _reaches(v.key, reached)
                           and (bound.noun is None or v.unit is not None or _counts(text, v, bound.noun))), None)
            if broken is not None:
                limit = "at most" if bound.upper else "at least"
                step = introducer(step, broken)
                add(step, "disobey_task_spec", f"step {step.step} ({graph.agent(step)}) puts {quote(broken.shown, 20)} in {where}; "
                    f"the task asks for {limit} {quote(bound.value.shown, 20)}")
            elif bound.upper and bound.noun is not None and bound.value.number is not None and "call" not in where:
                listed = _listed_ids(values, answer_keys)
                if len(listed) > bound.value.number and len(listed) >= MIN_LISTED:
                    add(step, "disobey_task_spec", f"step {step.step} ({graph.agent(step)}) lists {len(listed)} "
                        f"({', '.join(quote(raw, 16) for raw in listed[:6])}) that reach the answer; the task caps them at "
                        f"{quote(bound.value.shown, 20)}")
        if constraints.years and "call" in where:
            wrong = next((v for v in values if _year_of(v) is not None and _year_of(v) not in constraints.years), None)
            if wrong is not None:
                step = introducer(step, wrong)
                add(step, "disobey_task_spec", f"step {step.step} ({graph.agent(step)}) chose {quote(wrong.shown, 20)}, used in {where}; "
                    f"the task is about {', '.join(str(y) for y in sorted(constraints.years))}")
        if constraints.month and "call" in where:
            outside = next((v for v in values if v.kind == DATE and (int(v.key[2:6]), int(v.key[7:9])) != constraints.month), None)
            if outside is not None:
                step = introducer(step, outside)
                add(step, "disobey_task_spec", f"step {step.step} ({graph.agent(step)}) chose {quote(outside.shown, 20)}, used in {where}; "
                    f"the task is about {_MONTHS[constraints.month[1] - 1].title()} {constraints.month[0]}")
        options = "call" not in where and sum(1 for v in values if v.kind == DATE) >= OPTIONS
        if constraints.weekdays_only and not options:  # a list of dates passed on is options, not a choice
            # only a date that reaches the answer: the end of a searched range may well be a Sunday
            weekend = next((v for v in values if v.kind == DATE and _weekday(v) in (5, 6) and v.key in answer_keys), None)
            if weekend is not None:
                step = introducer(step, weekend)
                add(step, "disobey_task_spec", f"step {step.step} ({graph.agent(step)}) chose {quote(weekend.shown, 20)}, a "
                    f"{('Saturday', 'Sunday')[_weekday(weekend) - 5]}, used in {where}; the task asks for weekdays only")
        if constraints.window:
            # only a date that reaches the answer: a search or a trailing average may well look outside
            first, last = constraints.window
            outside = next((v for v in values if (day := _day(v)) is not None and not first <= day <= last and v.key in answer_keys), None)
            if outside is not None:
                chooser = introducer(step, outside)
                choice = (f"picked {quote(picked[outside.key], 30)}, dated {quote(outside.shown, 20)}" if outside.key in picked
                          else f"chose {quote(outside.shown, 20)}, used in {where}")
                add(chooser, "disobey_task_spec", f"step {chooser.step} ({graph.agent(chooser)}) {choice}; "
                    f"the task allows {first.isoformat()} to {last.isoformat()} only")
        if found:
            break  # the first step that broke a constraint is the divergence; later ones follow it
    if not found and constraints.unit and answer:
        found.extend(_unit_violation(graph, prov, constraints.unit, answer, weights))
    if not found and constraints.format and answer and not _has_format(answer, constraints.format) and sink is not None:
        step = turn_of(graph, sink)
        found.append(Evidence(step.span_id, "constraint", "disobey_task_spec", weights.direct,
                              f"step {step.step} ({graph.agent(step)}) answers in another format; the task asks for {constraints.format}"))
    return found


MIN_LISTED = 3  # two ids side by side are as often a pair of versions or models as a list of picks


def _listed_ids(values: list[Value], answer_keys: set[str]) -> list[str]:
    """The largest set of ids of one type (SKU-..., ORD-...) a text lists that reach the answer:
    what a cap on "products" or "tickets" counts when the items are named by id."""
    groups: dict[str, dict[str, str]] = {}
    for value in values:
        if value.kind == IDENTIFIER and value.key in answer_keys:
            prefix = re.sub(r"[\d_#-]+.*$", "", value.key[2:])
            groups.setdefault(prefix, {})[value.key] = value.raw
    return max((list(group.values()) for group in groups.values()), key=len, default=[])


def _weekday(value: Value) -> int:
    try:
        return date.fromisoformat(value.key[2:12]).weekday()
    except ValueError:
        return -1


def _year_of(value: Value) -> int | None:
    if value.kind == DATE:
        return int(value.key[2:6])
    if is_year(value):
        return int(value.number or 0)
    return None


def _unit_violation(graph: AttributionGraph, prov: Provenance, unit: str, answer: str, weights: Weights) -> list[Evidence]:
    """The answer states a quantity in another unit than asked: blame the first step that stated it so."""
    for value in extract(answer):
        if value.kind != NUMBER or value.unit is None or value.unit == unit:
            continue
        wrong = (unit == "metric" and value.unit in _IMPERIAL) or (unit == "imperial" and value.unit in _METRIC) or (
            unit not in ("metric", "imperial") and unit_conflict(unit, value.unit)
        )
        if not wrong:
            continue
        for holder in prov.holders.get(value.key, ()):
            span = graph.span(holder)
            if is_actor(span) and span is not graph.root:
                step = turn_of(graph, span)
                return [Evidence(step.span_id, "constraint", "disobey_task_spec", weights.direct,
                                 f"step {step.step} ({graph.agent(step)}) states {quote(value.shown, 20)}; the task asks for {unit}")]
    return []


def _has_format(text: str, wanted: str) -> bool:
    body = text.strip().strip("`")
    if body.lower().startswith(wanted):
        body = body[len(wanted) :]
    if wanted == "json":
        try:
            json.loads(body.strip())
        except ValueError:
            return False
        return True
    if wanted == "csv":
        lines = [line for line in body.strip().splitlines() if line.strip()]
        return len(lines) >= 2 and all("," in line for line in lines)
    return True


_SPLIT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _name_words(name: str) -> set[str]:
    return {word.lower()[:5] for word in _SPLIT.findall(name) if len(word) >= 3} - {"agent", "assis", "speci", "exper"}


def _words(text: str) -> set[str]:
    return {word.lower()[:5] for word in re.findall(r"[A-Za-z]{3,}", text)}


# "billing (charges, invoices, refunds)" or "- billing: charges and refunds" in a router's prompt:
# the options it chose from, each with the words of its role
_OPTION_FORMS = (
    re.compile(r"(?:^|[\s,;])([A-Za-z][A-Za-z_-]{2,40})\s*\(([^()\n]{3,200})\)"),
    re.compile(r"(?m)^\W*([A-Za-z][A-Za-z_-]{2,40}):\s+([^\n]{3,200})"),
)
MIN_ROLE_OVERLAP = 2  # request words an option's role must share to count as the better fit


def _listed_options(graph: AttributionGraph, turn: Span, target: str) -> dict[str, set[str]]:
    """Options the handing-off turn was offered (name -> role words), when the target is one of them.

    A router usually names its queues in its own prompt; the ones it did not pick never run, so
    only the prompt shows what a better choice would have been.
    """
    request = graph.inputs[graph.root.span_id] if graph.root is not None else ""
    texts = [graph.inputs.get(turn.span_id, "")] + [graph.inputs.get(child.span_id, "") for child in graph.children(turn.span_id)]
    texts = [text.replace(request, " ") if request else text for text in texts]  # the request's own "(...)" lists no options
    for form in _OPTION_FORMS:
        options: dict[str, set[str]] = {}
        for text in texts:
            for match in form.finditer(text):
                options.setdefault(match.group(1), set()).update(_name_words(match.group(1)) | _words(match.group(2)))
        if target in options and len(options) >= 2:
            return options
    return {}


def rule_handoff_fit(graph: AttributionGraph, weights: Weights) -> list[Evidence]:
    """A handoff to an agent whose role matches nothing in the request while another agent's does."""
    root = graph.root
    if root is None or graph.trace.outcome in (None, "success"):
        return []
    team = set(graph.trace.agents())
    handoffs = [(span, span.attributes.get(sc.ROOTSPAN_HANDOFF_TO)) for span in graph.order]
    handoffs = [(span, target) for span, target in handoffs if isinstance(target, str) and target]
    team |= {target for _, target in handoffs}
    request = _words(graph.inputs[root.span_id])
    found: list[Evidence] = []
    for span, target in handoffs:
        context = request | _words(str(span.attributes.get(sc.ROOTSPAN_HANDOFF_REASON, "")))
        fits = _name_words(target) & context
        # an agent that fits better but took part after the handoff got the work anyway: the
        # request was routed through, not lost
        after = {graph.agent(later) for later in graph.order[graph.position[span.span_id] + 1 :]}
        better = sorted(agent for agent in team if agent not in (target, graph.agent(span)) and agent not in after and _name_words(agent) & request)
        step = turn_of(graph, span)
        if not fits and better:
            found.append(Evidence(step.span_id, "handoff_fit", "wrong_handoff", weights.direct,
                                  f"step {step.step} ({graph.agent(step)}) hands off to {quote(target, 30)}, whose role matches "
                                  f"nothing in the request; {quote(better[0], 30)} does"))
            break
        listed = _better_listed(_listed_options(graph, step, target), target, request, after)
        if listed is not None:
            found.append(Evidence(step.span_id, "handoff_fit", "wrong_handoff", weights.direct,
                                  f"step {step.step} ({graph.agent(step)}) hands off to {quote(target, 30)}; the request matches "
                                  f"the role it gave {quote(listed, 30)} better"))
            break
    return found


def _better_listed(options: dict[str, set[str]], target: str, request: set[str], after: set[str]) -> str | None:
    """The listed option whose role shares clearly more of the request's words than the target's.

    Only the request counts here (not the router's reason, which argues for its own pick), and
    only an option that never took part afterwards (one that did got the work anyway).
    """
    if not options:
        return None
    chosen = len(options[target] & request)
    scored = sorted(((len(words & request), name) for name, words in options.items() if name != target and name not in after), reverse=True)
    if scored and scored[0][0] >= MIN_ROLE_OVERLAP and scored[0][0] > chosen:
        return scored[0][1]
    return None
