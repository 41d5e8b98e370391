"""A tool result that stops short of the date range it was asked for: stale or truncated data.

Caches keyed without the end date, snapshots that are refreshed nightly, a page size that cuts a
series: the result is well formed, every record in it is right, and everything downstream is
computed faithfully from it; what is missing is the tail of the period the caller asked about
(the spike, the latest invoices). Nothing in the result says so, but its dates do: a call whose
arguments name a range and whose result is a series of dates within that range that ends days
before the range does, or a call that asks about one day and gets a dated snapshot (its as-of,
its rows) from days before. A range that runs into the future is cut at the day the call was
made, so data that cannot exist yet is not counted as missing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from collections import Counter
from typing import Iterable

from rootspan.attribution.content import json_object, quote
from rootspan.attribution.evidence import Evidence, Weights, is_tool
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.values import DATE, date_values
from rootspan.model import Span

MIN_SERIES = 3  # distinct dates in the result within the range: fewer are records, not a series
# a series is regular (daily, weekly, monthly: steps within 3 days of each other); bookings,
# purchases and releases fall on irregular days and their last one may well come early
REGULAR_WITHIN_DAYS = 3
SHORT_BY_DAYS = 2  # a series that ends a day early is a reporting lag, two or more is a gap
MIN_DATED_RECORDS = 3  # a snapshot's dates (its as-of, its rows); one or two dates are a record's own history
# a key part that makes a date a bound: due_before, end, to, until, max_date, lt, cutoff
_BOUND_KEY = re.compile(r"(?:^|[_\W])(?:before|until|till|upto|up|end|to|max|latest|lt|lte|cutoff|through)(?:[_\W]|$)", re.I)
SERIES_STEPS = 2  # ...and more than two of the series' own steps: sparse events (a card's purchases) have gaps


def _day(key: str) -> date | None:
    try:
        return date.fromisoformat(key[2:12])
    except ValueError:
        return None


def _days(text: str) -> list[date]:
    """Full dates of a text (only the date scan: every tool call of a long trace is read here)."""
    if not text:
        return []
    return [day for value in date_values(text) if value.kind == DATE and (day := _day(value.key)) is not None]


def _result_days(graph: AttributionGraph, span: Span, asked: list[date]) -> list[date]:
    """The dates of a call's result, less one echo of each date it was asked for
    ({"requested_day": "2024-06-10", "as_of": "2024-06-02", ...} holds the request, not data of it)."""
    got = Counter(_days(graph.outputs.get(span.span_id, "")))
    got.subtract(Counter(asked))
    return list((+got).elements())


def _called_on(span: Span) -> date | None:
    if span.start_ns <= 0:
        return None
    return datetime.fromtimestamp(span.start_ns / 1e9, tz=timezone.utc).date()


def _asked_day(arguments: str) -> date | None:
    """The one day a call asks about ({"day": "2024-06-10"}), when no key makes it a bound.

    "invoices due before 2024-06-10" rightly returns earlier dates only; a day that is not a
    bound (day, date, as_of, for) asks for that day's data.
    """
    parsed = json_object(arguments)
    if parsed is None:
        return None
    dated = [(str(key), day) for key, item in parsed.items() if isinstance(item, str) for day in _days(item)]
    if len(dated) != 1 or _BOUND_KEY.search(dated[0][0]):
        return None
    return dated[0][1]


def _stale_snapshot(graph: AttributionGraph, span: Span) -> tuple[date, date] | None:
    """(latest date of the result, day asked for) when a dated result is all from days before."""
    day = _asked_day(graph.inputs.get(span.span_id, ""))
    if day is None:
        return None
    got = _result_days(graph, span, [day])
    if len(got) < MIN_DATED_RECORDS or max(got) >= day:
        return None
    latest = max(got)
    return (latest, day) if (day - latest).days >= SHORT_BY_DAYS else None


def short_of_request(graph: AttributionGraph, span: Span) -> tuple[date, date] | None:
    """(last date the result holds, last date asked for) when the result ends early."""
    asked = _days(graph.inputs.get(span.span_id, ""))
    if len(asked) == 1:
        return _stale_snapshot(graph, span)
    if len(asked) < 2:
        return None
    start, end = min(asked), max(asked)
    called = _called_on(span)
    if called is not None and called < end:
        end = called  # what cannot exist yet is not missing
    within = [day for day in _result_days(graph, span, asked) if start <= day <= end]
    if len(set(within)) < MIN_SERIES:
        return None
    days = sorted(set(within))
    last = days[-1]
    steps = [(later - earlier).days for earlier, later in zip(days, days[1:])]
    if max(steps) - min(steps) > REGULAR_WITHIN_DAYS:
        return None
    spacing = max(steps)
    gap = (end - last).days
    return (last, end) if gap >= SHORT_BY_DAYS and gap > SERIES_STEPS * spacing else None


def rule_result_short_of_request(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """In a failed run, the first tool call whose dated result ends days before the range it was asked for."""
    if graph.trace.outcome != "failure":
        return
    for span in graph.order:
        if not is_tool(span) or span.is_error:
            continue
        short = short_of_request(graph, span)
        if short is None:
            continue
        last, end = short
        yield Evidence(
            span.span_id,
            "result_short_of_request",
            "tool_wrong_result",
            # direct, unlike an empty result: the arguments asked for the whole range, so the
            # caller did its part and the shortfall is this call's own
            weights.direct,
            f"step {span.step} tool {quote(span.name, 40)} was asked for data through {end.isoformat()} and the "
            f"dates of its result end on {last.isoformat()}: stale or cut short",
        )
        return
