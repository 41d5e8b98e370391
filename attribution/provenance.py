"""Value provenance: where each value a step states first entered the run, and how it got there.

The culprit of a wrong result is the step where the decisive wrong value entered (the tool that
returned it, the agent that stated it with no source), not the steps that carried it forward or
computed correctly from it. So every value a step states is classified once, replaying the trace
in time order:

- ``given``: already present in the run (the task, a tool result, an earlier output or input);
  the claim points at the span that first held it.
- ``derived``: computable from values already present: one arithmetic operation over two of
  them (or two over three of the step's own inputs), a percentage, a unit conversion, a sum of a
  listing, a rounding. Sources are the operands' origins; the deriving step did its job.
- ``unit_changed``: the same number as an earlier value, stated in another unit with no
  conversion (183908 cents restated as $183,908): the step that changed the unit introduced it.
- ``novel``: no source and no derivation: the step introduced the value.

A value that first shows up in a span's *input* (a tool's arguments, a prompt) was written by
whoever built that input: the caller of the tool, the agent around the model call, the user for
the workflow's task. Linear in the trace apart from the derivation search, which runs only for
values not found verbatim and is bounded per value and per trace.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from datetime import datetime
from dataclasses import dataclass, field
from typing import Callable, Iterable

from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.values import (
    CLAIM_KINDS,
    DATE,
    DECISION,
    IDENTIFIER,
    day_month_key,
    NUMBER,
    Value,
    extract,
    is_small_count,
    is_year,
    number_key,
)
from rootspan.model import Span, SpanKind

GIVEN = "given"
DERIVED = "derived"
_ID_LIKE = re.compile(r"[A-Za-z]{1,12}(?:[-_][A-Za-z0-9]{1,12}){0,3}[-_#]?\d[\w-]*")
NOVEL = "novel"
UNIT_CHANGED = "unit_changed"

POOL_RECENT = 16  # recent run values tried as operands beside the step's own inputs (more finds coincidences)
POOL_OWN = 24  # the step's own input numbers tried as operands
TRIPLE_OPERANDS = 8  # three-operand forms only over this many of the step's own inputs
MAX_DERIVATIONS = 5_000  # derivation searches per trace: a bound for huge traces (the corpus needs < 500), not a tuning knob

# Factors that turn one quantity into the same quantity in another unit or scale (cents/dollars,
# thousands, minutes/hours/days, inches/cm, feet/m, miles/km, lb/kg, gallons/litres, ounces/grams).
CONVERSIONS = (100.0, 1000.0, 60.0, 3600.0, 24.0, 7.0, 12.0, 52.0, 365.0, 1e6, 2.54, 0.3048, 1.609344, 0.453592, 3.78541, 28.3495)
_CURRENCIES = frozenset({"usd", "eur", "gbp", "jpy", "cents"})
_UNIT_FAMILIES = ({"usd", "cents"}, {"kg", "g", "mg", "lb", "oz"}, {"km", "m", "cm", "mm", "mi", "ft", "in"},
                  {"h", "min", "s", "ms", "day", "week", "month", "year"}, {"l", "ml", "gal"}, {"gb", "mb", "kb", "tb"})


@dataclass(frozen=True)
class Claim:
    """One value as one step stated it, and where it came from."""

    span_id: str
    value: Value
    status: str
    sources: tuple[str, ...] = ()  # span ids: the origin (given) or the operands' origins (derived)
    how: str = ""  # the derivation, in words ("4 x 7", "8.5% of 240", "183908 / 100")
    operands: tuple[str, ...] = ()  # value keys of a derivation's operands


@dataclass
class Provenance:
    """Every span's claims, the first holder of each value, and who held it since."""

    claims: dict[str, list[Claim]] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # value key -> span that first held it
    origin_unit: dict[str, str | None] = field(default_factory=dict)
    holders: dict[str, list[str]] = field(default_factory=dict)  # value key -> spans whose output held it
    task_keys: set[str] = field(default_factory=set)  # values the task (the user) gave
    authored: dict[str, str] = field(default_factory=dict)  # input value key -> the step that wrote it
    values_out: dict[str, list[Value]] = field(default_factory=dict)
    values_in: dict[str, list[Value]] = field(default_factory=dict)

    def first_claim(self, key: str) -> Claim | None:
        """The claim of the span that first stated this value in an output."""
        origin = self.origin.get(key)
        if origin is None:
            return None
        claims = self.claims.get(origin, ())
        found = next((claim for claim in claims if claim.value.key == key), None)
        if found is None and key.startswith("dm:"):
            # "9 Sep" was first stated as a full date ("2024-09-09"): that statement is its origin
            found = next((claim for claim in claims if day_month_key(claim.value.key) == key), None)
        return found

    def claim(self, span_id: str, key: str) -> Claim | None:
        return next((claim for claim in self.claims.get(span_id, ()) if claim.value.key == key), None)


def _decimals(raw: str) -> int:
    digits = raw.replace(",", "")
    head = digits.split(".")
    if len(head) < 2:
        return 0
    return len("".join(ch for ch in head[1] if ch.isdigit()))


def _matches(target: float, decimals: int, candidate: float, exact_only: bool) -> bool:
    """Equal, or equal after rounding to the target's decimals (or truncation to an integer).

    Rounding is accepted only for targets with decimals and results that carry more precision:
    an integer target must be hit exactly, or divisions of any two numbers would "derive" it.
    """
    if not math.isfinite(candidate):
        return False
    if abs(candidate - target) <= 1e-9 * max(1.0, abs(target)):
        return True
    if exact_only or candidate == int(candidate) or decimals == 0:
        return False  # an integer is derived exactly or not at all: divisions round to anything
    scale = 10.0 ** decimals
    return round(candidate * scale) / scale == target


def _significant(raw: str) -> int:
    return len("".join(ch for ch in raw if ch.isdigit()).lstrip("0"))


def _rounds_to(target: float, decimals: int, candidate: float) -> bool:
    """One value shown with fewer decimals: rounded, truncated or rounded up (544.5 -> 544 or 545).

    Unlike results of arithmetic, a single value is safe to round even to an integer: one number
    within a unit of another is rarely a coincidence, while the ratio of some two numbers is.
    """
    if not math.isfinite(candidate) or candidate == target:
        return candidate == target
    if _decimals(repr(candidate)) <= decimals:
        return False
    return abs(candidate - target) < 10.0 ** -decimals


def _pair_forms(a: float, b: float) -> Iterable[tuple[float, str, bool]]:
    """(result, how template, exact_only) of one operation over two operands.

    The template ({a}, {b}) is formatted only for the one form that matches: formatting every
    candidate was most of the derivation search's time on long traces.
    """
    yield a + b, "{a} + {b}", True
    yield a - b, "{a} - {b}", True
    yield a * b, "{a} x {b}", not (a != int(a) or b != int(b))
    if b:
        yield a / b, "{a} / {b}", False
    if 0 < b <= 100:
        yield a * b / 100, "{b}% of {a}", False
        yield a * (1 + b / 100), "{a} + {b}%", False
        yield a * (1 - b / 100), "{a} - {b}%", False
    if a and b:
        yield 100 * a / b, "{a} as a % of {b}", False
        yield 100 * (a - b) / b, "{a} vs {b} as a % change", False


def _exact_key(number: float) -> str:
    return f"{number:.9g}"


def _exact_pair(target: float, candidates: list[tuple[float, str, bool]]) -> Derivation | None:
    """One operation over two candidates that gives the target exactly, by lookup, not search.

    For each first operand, each form says which second operand it would need; a dictionary of
    the candidates answers whether it is there. Linear in the candidates where trying every pair
    was quadratic: on a 100k-span trace that was most of the analysis time.
    """
    index: dict[str, list[int]] = {}
    for position, (number, _, _) in enumerate(candidates):
        index.setdefault(_exact_key(number), []).append(position)
    for position, (a, source_a, _) in enumerate(candidates):
        if a in (0.0, 1.0):
            continue  # x 1, / 1, % of 1: an identity, or a rescaling that only looks like arithmetic
        needed = [(target - a, "{a} + {b}"), (a - target, "{a} - {b}")]
        if a:
            needed += [(target / a, "{a} x {b}"), (100 * target / a, "{b}% of {a}"), (100 * (target / a - 1), "{a} + {b}%"),
                       (100 * (1 - target / a), "{a} - {b}%")]
        if target:
            needed += [(a / target, "{a} / {b}"), (100 * a / target, "{a} as a % of {b}")]
        if target != -100:
            needed.append((100 * a / (target + 100), "{a} vs {b} as a % change"))
        for b_needed, how in needed:
            if not math.isfinite(b_needed) or ("%" in how and "as a %" not in how and not 0 < b_needed <= 100):
                continue
            for other in index.get(_exact_key(b_needed), ()):
                if other == position or candidates[other][0] in (0.0, 1.0):
                    continue
                b, source_b, _ = candidates[other]
                result = next((r for r, form, _ in _pair_forms(a, b) if form == how), math.nan)
                if _matches(target, 0, result, True):
                    return how.format(a=_fmt(a), b=_fmt(b)), (source_a, source_b), (a, b)
    return None


def _slack(target: float, decimals: int) -> float:
    """How far a result may lie from the target and still match it: a cheap test before ``_matches``."""
    return max(1e-9 * max(1.0, abs(target)), 10.0 ** -decimals)


def _conversion(target: float, decimals: int, number: float) -> str | None:
    """How ``number`` times or divided by one conversion factor gives the target, or None.

    The how string is formatted only for the factor that matches: every tool result of a long
    trace is tried against every factor, and formatting each was most of the search's time.
    """
    integral = number == int(number)
    slack = _slack(target, decimals)
    for factor in CONVERSIONS:
        product, quotient = number * factor, number / factor
        if abs(product - target) <= slack and _matches(target, decimals, product, integral and factor == int(factor)):
            return f"{_fmt(number)} x {_fmt(factor)}"
        if abs(quotient - target) <= slack and _matches(target, decimals, quotient, False):
            return f"{_fmt(number)} / {_fmt(factor)}"
    return None


def _fmt(number: float) -> str:
    return str(int(number)) if number == int(number) and abs(number) < 1e15 else f"{number:.6g}"


Derivation = tuple[str, tuple[str, ...], tuple[float, ...]]  # how, operand origins, operands


Operand = tuple[float, str, "str | None"]  # number, origin span, unit


def derive(value: Value, own: list[Operand], recent: list[Operand], rescales: bool = False) -> Derivation | None:
    """How ``value`` follows from available numbers (operand, source span), or None.

    Own operands (the step's inputs) are tried first and in three-operand forms; recent run
    values only in one-operation forms, which keeps the search small and false derivations rare.
    """
    target = value.number
    if target is None:
        return None
    decimals = _decimals(value.raw)
    # a conversion is a change of unit: 183,900 yen read as 1,839.00 is a misreading, not a
    # derivation, while 183908 cents as $1,839.08 is one; both units must be known and differ
    for number, source, unit in own + recent:
        if number == 0:
            continue
        # (a tool that rescales its argument, to_minor_units(15.66) -> 1566, converts by its job)
        converts = (value.unit is not None and unit is not None and unit != value.unit) or rescales
        if converts:
            found = _conversion(target, decimals, number)
            if found is not None:
                return found, (source,), (number,)
        if _rounds_to(target, decimals, number):
            return f"{_fmt(number)} rounded", (source,), (number,)
    # rounding only over the step's own inputs: across the whole run's recent values, some
    # ratio rounds to almost anything; there only exact results count
    # (and only when the inputs are few: a step reading a dump of numbers matches by chance)
    # (a target of four or more significant digits is rarely hit by chance, so it may round anyway)
    focused = len(own) <= TRIPLE_OPERANDS or _significant(value.raw) >= 4
    slack = _slack(target, decimals)
    own_pairs = {(number, source) for number, source, _ in own}
    candidates = [(number, source, focused) for number, source, _ in own]
    candidates += [(number, source, False) for number, source, _ in recent if (number, source) not in own_pairs]
    exact = _exact_pair(target, candidates)
    if exact is not None:
        return exact
    if focused and len(own) >= 2:
        # rounded results only over the step's own inputs (a percentage is stated whole, "a 26%
        # gain" for 26.3%, far more often than other results)
        whole_percent = value.unit == "%" and decimals == 0
        for (a, source_a, _), (b, source_b, _) in itertools.permutations(candidates[: len(own)], 2):
            for result, how, exact_only in _pair_forms(a, b):
                if not abs(result - target) <= slack:
                    continue  # (NaN fails too) the cheap test that rules out nearly every form
                if _matches(target, decimals, result, exact_only) or (whole_percent and "%" in how and abs(result - target) < 0.5):
                    return how.format(a=_fmt(a), b=_fmt(b)), (source_a, source_b), (a, b)
    small = [(number, source) for number, source, _ in own[:TRIPLE_OPERANDS]]
    for (a, sa), (b, sb), (c, sc_) in itertools.permutations(small, 3):
        for result, how, exact_only in (
            (a * b + c, "{a} x {b} + {c}", True),
            (a * b - c, "{a} x {b} - {c}", True),
            (a + b + c, "{a} + {b} + {c}", True),
            (a * b * c, "{a} x {b} x {c}", True),
            ((a + b) * c, "({a} + {b}) x {c}", True),
            (a * b / c if c else math.nan, "{a} x {b} / {c}", False),
        ):
            if abs(result - target) <= slack and _matches(target, decimals, result, exact_only and a == int(a) and b == int(b) and c == int(c)):
                return how.format(a=_fmt(a), b=_fmt(b), c=_fmt(c)), (sa, sb, sc_), (a, b, c)
    return None


MAX_RECORD_SOURCES = 64  # tool listings kept for totals over picked records, per trace
MIN_PICKED = 2  # a total over one record is that record's figure, found as given


def records_by_id(text: str) -> dict[str, dict[str, float]]:
    """A tool's JSON listing as {id: {numeric field: value}} (records with an "id"/"sku"-like string)."""
    if not text or text.lstrip()[:1] != "[" or len(text) > 200_000:
        return {}
    try:
        decoded = json.loads(text)
    except ValueError:
        return {}
    found: dict[str, dict[str, float]] = {}
    for record in decoded if isinstance(decoded, list) else ():
        if not isinstance(record, dict):
            continue
        ident = next((item for item in record.values() if isinstance(item, str) and _ID_LIKE.fullmatch(item)), None)
        fields = {key: float(item) for key, item in record.items() if isinstance(item, (int, float)) and not isinstance(item, bool)}
        if ident is not None and fields:
            found["i:" + ident.lower()] = fields
    return found


def picked_total(value: Value, beside: list[Value], sources: list[tuple[str, dict[str, dict[str, float]]]]) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
    """The value is the total of one field over the records a step named beside it ("5 items,
    USD 112.98" from the prices a catalogue listed for those 5 ids): computed, not invented."""
    target = value.number
    ids = {other.key for other in beside if other.kind == IDENTIFIER}
    if target is None or len(ids) < MIN_PICKED:
        return None
    decimals = _decimals(value.raw)
    for source, records in reversed(sources):
        chosen = [records[key] for key in ids if key in records]
        if len(chosen) < MIN_PICKED:
            continue
        for name in chosen[0]:
            if all(name in record for record in chosen):
                total = sum(record[name] for record in chosen)
                if _matches(target, decimals, total, False):
                    return (source,), f"the sum of {name} over the {len(chosen)} records named", ()
    return None


def _aggregate(value: Value, listings: dict[str, list[float]], grouped: dict[str, dict[str, tuple[str, tuple[str, ...]]]] | None = None) -> Derivation | None:
    """The value is the sum or mean of one earlier span's listing of numbers, or of one group of its rows."""
    target = value.number
    if target is None:
        return None
    decimals = _decimals(value.raw)
    for source, totals in (grouped or {}).items():
        found = totals.get(value.key) or totals.get(number_key(round(target, 6)))
        if found is None and decimals < 2:  # a group's total shown rounded
            found = next((item for key, item in totals.items() if _rounds_to(target, decimals, float(key[2:]))), None)
        if found is not None:
            how, members = found
            return how, (source,) * len(members), tuple(float(key[2:]) for key in members)
    for source, numbers in listings.items():
        if len(numbers) < 3:
            continue
        total = math.fsum(numbers)
        for result, how in ((total, "sum"), (total / len(numbers), "mean")):
            if _matches(target, decimals, result, how == "sum" and all(n == int(n) for n in numbers)):
                return f"the {how} of {len(numbers)} values in step output", (source,), ()
    return None


MAX_GROUP_ROWS = 500  # rows of a table whose per-group totals are computed


def group_totals(text: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Per-group sums and means of a table a step returned (rows of one JSON list of objects).

    "transport: 82.5" is the sum of the usd of the rows whose category is transport: a group-by,
    the commonest thing agents do with a table, and not a sum of a few arbitrary values (which
    among thousands of subsets would match anything). Keys are number keys; values say how, and
    the member values summed.
    """
    stripped = text.lstrip()
    if not stripped.startswith("[") or len(text) > 2_000_000:
        return {}
    try:
        rows = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    rows = [row for row in rows[:MAX_GROUP_ROWS] if isinstance(row, dict)] if isinstance(rows, list) else []
    if len(rows) < 3:
        return {}
    labels = {key for row in rows for key, item in row.items() if isinstance(item, str)}
    amounts = {key for row in rows for key, item in row.items() if isinstance(item, (int, float)) and not isinstance(item, bool)}
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for amount in sorted(amounts)[:12]:  # a column's total and mean over the whole table
        column = [float(row[amount]) for row in rows if isinstance(row.get(amount), (int, float)) and not isinstance(row.get(amount), bool)]
        if len(column) >= 2:
            summed = tuple(number_key(number) for number in column)
            found.setdefault(number_key(round(math.fsum(column), 6)), (f"the sum of {amount}", summed))
            found.setdefault(number_key(round(math.fsum(column) / len(column), 6)), (f"the mean of {amount}", summed))
    for label in sorted(labels)[:12]:
        groups: dict[str, list[tuple[str, float]]] = {}
        for row in rows:
            if isinstance(row.get(label), str):
                groups.setdefault(row[label], []).extend(
                    (amount, float(row[amount])) for amount in amounts if isinstance(row.get(amount), (int, float)) and not isinstance(row.get(amount), bool)
                )
        if not 1 < len(groups) < len(rows):
            continue  # one group is the whole table; one row per group is no grouping
        for group, cells in groups.items():
            for amount in amounts:
                numbers = [number for name, number in cells if name == amount]
                if len(numbers) >= 2:
                    total = math.fsum(numbers)
                    summed = tuple(number_key(number) for number in numbers)
                    found.setdefault(number_key(round(total, 6)), (f"the sum of {amount} where {label} is {group}", summed))
                    found.setdefault(number_key(round(total / len(numbers), 6)), (f"the mean of {amount} where {label} is {group}", summed))
    return found


def _moment(key: str) -> datetime | None:
    try:
        return datetime.fromisoformat(key[2:])
    except ValueError:
        return None


MAX_DATE_OPERANDS = 16  # recent dates a date may be offset from


def date_offset(value: Value, dates: list[tuple[str, str]], numbers: list[float]) -> Derivation | None:
    """A date or time that is a known one plus a known duration (the end of a 60-minute meeting,
    the due date 30 days after an invoice): computed, not invented. Durations are numbers already
    in the run, read as minutes, hours, days or weeks."""
    moment = _moment(value.key)
    if moment is None:
        return None
    durations = {number for number in numbers if 0 < number <= 100_000 and number == int(number)}
    for key, source in dates[-MAX_DATE_OPERANDS:]:
        other = _moment(key)
        if other is None or other == moment:
            continue
        minutes = abs((moment - other).total_seconds()) / 60
        for scale, unit in ((1, "minutes"), (60, "hours"), (1440, "days"), (10080, "weeks")):
            if minutes % scale == 0 and minutes / scale in durations:
                sign = "+" if moment > other else "-"
                return f"{key[2:]} {sign} {int(minutes / scale)} {unit}", (source,), ()
    return None


SUBSET_OPERANDS = 14  # recent values a sum of several may be drawn from (2^14 sums)
MAX_SUBSET_SEARCHES = 200  # per trace: each search is ~16k additions


def subset_sum(value: Value, recent: list[Operand]) -> Derivation | None:
    """The value is the sum of four or more recent values (a category total, an invoice sum).

    Only for values with decimals (cents): among thousands of subsets an integer target is hit
    by coincidence, a sum to the cent is not. Exact to the target's decimals.
    """
    decimals = _decimals(value.raw)
    if value.number is None or decimals == 0:
        return None
    scale = 10 ** decimals
    target = round(value.number * scale)
    pool = [(round(number * scale), source, number) for number, source, _ in recent[-SUBSET_OPERANDS:] if number > 0]
    sums: dict[int, tuple[int, ...]] = {0: ()}
    for index, (amount, _, _) in enumerate(pool):
        for total, members in list(sums.items()):
            grown = total + amount
            if grown not in sums:
                sums[grown] = members + (index,)
    members = sums.get(target)
    if not members or len(members) < 4:
        return None
    chosen = [pool[index] for index in members]
    how = " + ".join(_fmt(number) for _, _, number in chosen)
    return how, tuple(source for _, source, _ in chosen), tuple(number for _, _, number in chosen)


def _same_family(first: str, second: str) -> bool:
    return any(first in family and second in family for family in _UNIT_FAMILIES)


def unit_conflict(origin_unit: str | None, unit: str | None) -> bool:
    """The same number restated in another unit of the same kind, with no conversion done."""
    if not origin_unit or not unit or origin_unit == unit:
        return False
    if origin_unit in _CURRENCIES and unit in _CURRENCIES:
        return True
    return _same_family(origin_unit, unit)


def author_of_input(graph: AttributionGraph, span: Span) -> Span | None:
    """Who wrote a span's input: the model call before a tool in the same turn, else the turn itself."""
    parent = graph.parent(span)
    if span is graph.root or parent is None:
        return None
    if span.kind is SpanKind.TOOL:
        siblings = [s for s in graph.children(parent.span_id) if s.kind is SpanKind.LLM and s.end_ns <= span.start_ns]
        if siblings:
            return siblings[-1]
    return parent if parent is not graph.root else None


def _is_claim(value: Value) -> bool:
    return value.kind in CLAIM_KINDS


def build_provenance(graph: AttributionGraph) -> Provenance:
    """Classify every value of every span, replaying the trace as start/end events."""
    prov = Provenance()
    events: list[tuple[int, int, int]] = []
    for index, span in enumerate(graph.order):
        events.append((span.start_ns, 1, index))
        events.append((span.end_ns, 0, -index))
    events.sort()
    known: set[str] = set()
    recent: dict[str, Operand] = {}  # number key -> (number, origin span, unit), oldest first
    listings: dict[str, list[float]] = {}  # span -> the numbers of its output, for sums and means
    grouped: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}  # span -> per-group totals of its table
    budget = [MAX_DERIVATIONS]
    subset_budget = [MAX_SUBSET_SEARCHES]
    root = graph.root

    dates: dict[str, str] = {}  # date key -> origin span, oldest first
    record_sources: list[tuple[str, dict[str, dict[str, float]]]] = []  # tool span -> its records by id
    numbers_seen: dict[str, float] = {}  # every number key the run has held, for durations

    def register(value: Value, source: str) -> None:
        if value.key not in prov.origin:
            prov.origin[value.key] = source
            prov.origin_unit[value.key] = value.unit
        known.add(value.key)
        if value.kind == DATE:
            dates.pop(value.key, None)
            dates[value.key] = prov.origin[value.key]
            alias = day_month_key(value.key)  # "16 Sep" later is this date, said without its year
            if alias is not None and alias not in prov.origin:
                prov.origin[alias] = prov.origin[value.key]
                prov.origin_unit[alias] = None
                known.add(alias)
        elif value.number is not None and len(numbers_seen) < 10_000:
            numbers_seen[value.key] = value.number
        if value.number is not None and not is_year(value):
            recent.pop(value.key, None)
            recent[value.key] = (value.number, prov.origin[value.key], value.unit)
            if len(recent) > 4 * POOL_RECENT:
                for stale in list(recent)[: len(recent) - POOL_RECENT]:
                    del recent[stale]

    seen_texts: dict[str, list[Value]] = {}

    def extracted(text: str) -> list[Value]:
        """Values of a text, once per distinct text: an agent's output is often its model call's,
        a prompt often the previous result, and extraction is most of this pass's time."""
        found = seen_texts.get(text)
        if found is None:
            found = extract(text)
            if len(seen_texts) < 200_000:
                seen_texts[text] = found
        return found

    def own_numbers_of(span_id: str) -> list[Operand]:
        return [
            (value.number, prov.origin.get(value.key, span_id), value.unit)
            for value in prov.values_in.get(span_id, ())
            if value.number is not None and not is_year(value)
        ][:POOL_OWN]

    def received_numbers(span: Span) -> list[Operand]:
        """What a turn had besides its input: its calls' results and the outputs it declared as
        inputs. An agent that multiplies a tool's rate by an amount it was handed computes from them."""
        sources = [child.span_id for child in graph.children(span.span_id) if child.span_id in prov.values_out]
        sources += [producer for producer in graph.data_parents.get(span.span_id, {}) if producer in graph.by_id]
        found: list[Operand] = []
        for source in dict.fromkeys(sources):
            for value in prov.values_out.get(source, ()):
                if value.number is not None and not is_year(value):
                    found.append((value.number, prov.origin.get(value.key, source), value.unit))
        return found[:POOL_OWN]

    def offset_of(value: Value) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
        if value.kind != DATE:
            return None
        offset = date_offset(value, list(dates.items()), list(numbers_seen.values()))
        return None if offset is None else (offset[1], offset[0], ())

    def try_derive(value: Value, operands: list[Operand] | Callable[[], list[Operand]], tool: bool = False) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
        """(sources, how, operand keys) when the number follows from what was there.

        ``operands`` may be a function: a step's operands are gathered only when one of its
        values needs a derivation, which most spans of a long trace never do.
        """
        if not (_is_claim(value) and value.kind == NUMBER and not is_small_count(value) and not is_year(value) and budget[0] > 0):
            return None
        budget[0] -= 1
        own = operands() if callable(operands) else operands
        pool = list(recent.values())
        if tool:
            # a tool computes from its arguments; a match with other values of the run is chance
            derivation = derive(value, own, [], rescales=True)
            return None if derivation is None else (derivation[1], derivation[0], tuple(number_key(n) for n in derivation[2]))
        derivation = derive(value, own, pool[-POOL_RECENT:]) or _aggregate(value, listings, grouped)
        if derivation is None and subset_budget[0] > 0 and _decimals(value.raw):
            subset_budget[0] -= 1
            derivation = subset_sum(value, own + pool[-SUBSET_OPERANDS:])
        if derivation is None:
            return None
        how, sources, operands = derivation
        return sources, how, tuple(number_key(number) for number in operands)

    for _, is_start, signed in events:
        span = graph.order[signed if is_start else -signed]
        span_id = span.span_id
        if is_start:
            values = extracted(graph.inputs[span_id])
            prov.values_in[span_id] = values
            author = author_of_input(graph, span)
            for value in values:
                if value.key in known:
                    continue
                if span is root:
                    prov.task_keys.add(value.key)
                    register(value, span_id)
                else:
                    # a value first seen in an input was put there by whoever built the input
                    writer = author.span_id if author is not None else span_id
                    prov.authored[value.key] = writer
                    # a total the caller computed in code and put into a prompt or a tool's
                    # arguments is as derived as one it wrote in its answer
                    # (from what its author had: its own inputs and the rest of this input)
                    beside = [operand for operand in own_numbers_of(span_id) if number_key(operand[0]) != value.key]
                    had = own_numbers_of(writer) + received_numbers(author) if author is not None else []
                    derived = try_derive(value, (had + beside)[: 2 * POOL_OWN]) or offset_of(value)
                    status = (DERIVED, *derived) if derived is not None else (NOVEL,)
                    prov.claims.setdefault(writer, []).append(Claim(writer, value, *status))
                    register(value, writer)
            continue
        values = extracted(graph.outputs[span_id])
        prov.values_out[span_id] = values
        gathered: list[list[Operand]] = []

        def own_numbers(span: Span = span, span_id: str = span_id) -> list[Operand]:
            if not gathered:
                gathered.append(own_numbers_of(span_id) + received_numbers(span))
            return gathered[0]
        claims: list[Claim] = prov.claims.setdefault(span_id, [])
        seen_here: set[str] = set()
        # a tool called with a few numbers computes from them (a long dump of numbers does not)
        computes_here = span.kind is SpanKind.TOOL and 2 <= sum(
            1 for value in prov.values_in.get(span_id, ()) if value.number is not None and not is_year(value)
        ) <= TRIPLE_OPERANDS
        for value in values:
            if value.key in seen_here:
                continue
            seen_here.add(value.key)
            prov.holders.setdefault(value.key, []).append(span_id)
            if span is root:
                continue  # the run's answer on the root repeats what a step said
            if value.key in known and computes_here:
                # a calculator's 10.0 that its own arguments give (500 x 2.5 / 125) was computed
                # here, even when a 10.0 appeared somewhere earlier by chance (an argument equal
                # to the result is passed through, not computed)
                arguments = [operand for operand in own_numbers_of(span_id) if number_key(operand[0]) != value.key]
                derived = try_derive(value, arguments, tool=True)
                if derived is not None:
                    claims.append(Claim(span_id, value, DERIVED, *derived))
                    continue
            if value.key in known:
                origin = prov.origin[value.key]
                if value.kind == NUMBER and unit_conflict(prov.origin_unit.get(value.key), value.unit):
                    claims.append(Claim(span_id, value, UNIT_CHANGED, (origin,), f"{value.shown} was {prov.origin_unit[value.key]} at its source"))
                else:
                    claims.append(Claim(span_id, value, GIVEN, (origin,)))
                continue
            derived = try_derive(value, own_numbers, tool=span.kind is SpanKind.TOOL)
            if derived is None and span.kind is not SpanKind.TOOL:
                derived = offset_of(value)
            if derived is None and span.kind is not SpanKind.TOOL and value.kind == NUMBER and _decimals(value.raw):
                derived = picked_total(value, values, record_sources)
            if derived is not None:
                claims.append(Claim(span_id, value, DERIVED, *derived))
                register(value, span_id)
                continue
            claims.append(Claim(span_id, value, NOVEL if value.kind != DECISION else DECISION))
            register(value, span_id)
        if span.kind is SpanKind.TOOL and len(record_sources) < MAX_RECORD_SOURCES:
            records = records_by_id(graph.outputs[span_id])
            if records:
                record_sources.append((span_id, records))
        numbers_here = [value.number for value in values if value.number is not None and not is_year(value)]
        if len(numbers_here) >= 3:
            listings[span_id] = numbers_here[:200]
            if len(listings) > 16:
                del listings[next(iter(listings))]
            totals = group_totals(graph.outputs[span_id])
            if totals:
                grouped[span_id] = totals
                if len(grouped) > 16:
                    del grouped[next(iter(grouped))]
        if span is not root:  # the root's answer ends the run: nothing follows it to be given
            known.update(value.key for value in values if value.key in prov.origin)
    return prov
