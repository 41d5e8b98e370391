"""What the traces list shows of hundreds of traces: the sort orders and the filter, without Textual.

Kept apart from the screen so that sorting and matching are plain functions over TraceSummary,
tested directly and cheap to rerun on every keystroke of the filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from rootspan.tui.cells import verdict_line
from rootspan.tui.data import TraceSummary

FAILED_STATUSES = ("failure", "error")  # trace_status of exactly the traces Trace.failed calls failed
STATUS_ORDER = {"failure": 0, "error": 1, "success": 2, "ok": 3}


def _failed(summary: TraceSummary) -> bool:
    return summary.status in FAILED_STATUSES


def _start(summary: TraceSummary) -> tuple[int, str]:
    return (summary.start_ns, summary.trace_id)


# name -> (what the title says, sort key). Ties keep start order, so a sort is always the same.
SORTS = {
    "start": ("start time", _start),
    "duration": ("duration, longest first", lambda s: (-s.duration_ns, *_start(s))),
    "status": ("status", lambda s: (STATUS_ORDER.get(s.status, len(STATUS_ORDER)), s.status, *_start(s))),
    "failures": ("failures first, then slow, then errors", lambda s: (
        not _failed(s), s.slow is None, -s.errors, *_start(s))),
}
SORT_CYCLE = tuple(SORTS)


def next_sort(current: str) -> str:
    return SORT_CYCLE[(SORT_CYCLE.index(current) + 1) % len(SORT_CYCLE)]


@dataclass
class TraceFilter:
    """The traces list's filter: a text (over name, agents, verdict, status, trace id) and failed-only."""

    text: str = ""
    failed_only: bool = False

    @property
    def active(self) -> bool:
        return bool(self.text or self.failed_only)

    def describe(self) -> str:
        parts = [f"text~{self.text}"] if self.text else []
        if self.failed_only:
            parts.append("failed only")
        return ", ".join(parts)

    def matches(self, summary: TraceSummary) -> bool:
        if self.failed_only and not _failed(summary):
            return False
        if not self.text:
            return True
        needle = self.text.casefold()
        haystack = (summary.name, summary.status, verdict_line(summary.verdict, summary.slow), summary.trace_id,
                    summary.verdict.category if summary.verdict is not None else None, *summary.agents)
        return any(needle in value.casefold() for value in haystack if value)


def arrange(summaries: list[TraceSummary], sort: str, trace_filter: TraceFilter) -> list[TraceSummary]:
    """The summaries the list shows, in the order it shows them."""
    return sorted((summary for summary in summaries if trace_filter.matches(summary)), key=SORTS[sort][1])


def start_label(start_ns: int, span_days: bool) -> str:
    """Wall-clock start in UTC: 'HH:MM:SS', with the date when the run spans several days."""
    moment = datetime.fromtimestamp(start_ns / 1e9, tz=timezone.utc)
    return moment.strftime("%m-%d %H:%M" if span_days else "%H:%M:%S")


def full_start(start_ns: int) -> str:
    """'2023-11-14 22:13:20 UTC': the detail line's start, short enough to share a line at 80 columns."""
    return datetime.fromtimestamp(start_ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
