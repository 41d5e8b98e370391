"""A tool result that stops short of the date range it was asked for: stale or truncated data.

Caches keyed without the end date, snapshots that are refreshed nightly, a page size that cuts a
series: the result is well formed, every record in it is right, and everything downstream is
computed faithfully from it; what is missing is the tail of the period the caller asked about
(the spike, the latest invoices). Nothing in the result says so, but its dates do: a call whose
arguments name a range and whose result is a series of dates within that range that ends days
before the range does. A range that runs into the future is cut at the day the call was made,
so data that cannot exist yet is not counted as missing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from statistics import median
from typing import Iterable

from rootspan.attribution.content import quote
from rootspan.attribution.evidence import Evidence, Weights, is_tool
from rootspan.attribution.graph import AttributionGraph
from rootspan.attribution.values import DATE, extract
from rootspan.model import Span

MIN_SERIES = 2  # dates in the result within the range: one date is a record, not a series
SHORT_BY_DAYS = 2  # a series that ends a day early is a reporting lag, two or more is a gap
SERIES_STEPS = 2  # ...and more than two of the series' own steps: sparse events (a card's purchases) have gaps


def _day(key: str) -> date | None:
    try:
        return date.fromisoformat(key[2:12])
    except ValueError:
        return None


def _days(text: str) -> list[date]:
    return [day for value in extract(text) if value.kind == DATE and (day := _day(value.key)) is not None]


def _called_on(span: Span) -> date | None:
    if span.start_ns <= 0:
        return None
    return datetime.fromtimestamp(span.start_ns / 1e9, tz=timezone.utc).date()


def short_of_request(graph: AttributionGraph, span: Span) -> tuple[date, date] | None:
    """(last date the result holds, last date asked for) when the result ends early."""
    asked = _days(graph.inputs.get(span.span_id, ""))
    if len(asked) < 2:
        return None  # a range has two ends
    start, end = min(asked), max(asked)
    called = _called_on(span)
    if called is not None and called < end:
        end = called  # what cannot exist yet is not missing
    within = [day for day in _days(graph.outputs.get(span.span_id, "")) if start <= day <= end]
    if len(set(within)) < MIN_SERIES:
        return None
    days = sorted(set(within))
    last = days[-1]
    spacing = median((later - earlier).days for earlier, later in zip(days, days[1:]))
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
            f"step {span.step} tool {quote(span.name, 40)} was asked for data through {end.isoformat()} and returned "
            f"a series that ends on {last.isoformat()}: stale or cut short",
        )
        return
