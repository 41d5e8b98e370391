"""Formatting shared by the tables: compact numbers, deltas and verdict one-liners, as Rich Text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from rootspan.model import Verdict
from rootspan.text import format_duration, printable, shorten

if TYPE_CHECKING:
    from rootspan.attribution.slow_traces import SlowTrace

STATUS_STYLES = {"failure": "bold red", "error": "bold red", "success": "green", "ok": "green"}


def cell(value: object, style: str = "", width: int | None = None) -> Text:
    """Untrusted value -> a Text cell (never markup), escaped and optionally shortened."""
    text = printable(value)
    return Text(shorten(text, width) if width else text, style=style)


def compact(number: float) -> str:
    """12345 -> 12.3k."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.3g}{suffix}"
    return f"{number:.0f}"


def signed_duration(delta_ns: int) -> str:
    if delta_ns == 0:
        return "0"
    sign = "+" if delta_ns > 0 else "-"
    return sign + format_duration(abs(delta_ns))


def signed_number(delta: float) -> str:
    if delta == 0:
        return "0"
    return ("+" if delta > 0 else "-") + compact(abs(delta))


def delta_style(delta: float) -> str:
    """Slower or bigger is red, faster or smaller green."""
    return "red" if delta > 0 else "green" if delta < 0 else "dim"


def names_culprit(verdict: Verdict | None) -> bool:
    """Whether the verdict names a culprit: an undetermined one never does, even if it carries one."""
    return verdict is not None and verdict.determined and verdict.culprit is not None


def verdict_style(verdict: Verdict | None, culprit_style: str = "red") -> str:
    """Red where a culprit is named, yellow where the engine could not name one, plain otherwise."""
    if names_culprit(verdict):
        return culprit_style
    return "yellow" if verdict is not None and not verdict.determined else ""


def undetermined_line(verdict: Verdict) -> str:
    """'undetermined' first, so it survives when a narrow column cuts the line."""
    return f"undetermined ({verdict.category})" if verdict.category else "undetermined"


def slow_line(slow: "SlowTrace") -> str:
    """'slow 4.2x peers: tool_io @ step 5 solver' (the bottleneck once a verdict names it)."""
    against = "baseline" if slow.against == "baseline" else "peers"
    text = f"slow {slow.ratio:.1f}x {against}"
    if slow.bound_by:
        where = f" @ step {slow.step}" if slow.step is not None else ""
        agent = f" {printable(slow.agent)}" if slow.agent else ""
        text += f": {printable(slow.bound_by)}{where}{agent}"
    return text


def verdict_line(verdict: Verdict | None, slow: "SlowTrace | None" = None) -> str:
    """The verdict in a few words: category and culprit for failures, the slowdown or the primary
    bottleneck (the verdict's first, as in ``rootspan attribute``) otherwise."""
    if slow is not None and not names_culprit(verdict) and (verdict is None or verdict.determined):
        return slow_line(slow)
    if verdict is None:
        return "-"
    if not verdict.determined:
        return undetermined_line(verdict)
    if verdict.culprit is not None:
        culprit = verdict.culprit
        where = f"step {culprit.step}" if culprit.step is not None else culprit.span_id[:8]
        agent = f" {printable(culprit.agent)}" if culprit.agent else ""
        return f"{verdict.category or 'failure'} @ {where}{agent}"
    if verdict.bottlenecks:
        top = verdict.bottlenecks[0]
        return f"{verdict.outcome}; bound by {top.bound_by} {top.share:.0%}"
    return verdict.outcome
