"""A verdict's lineage as text: one hop per line, from the failing output back to where the value entered.

The engine's ``Verdict.lineage`` answers "where did the wrong value come from": the failing step,
the steps that carried the value on, and the step that introduced it (the culprit). The blame
view lists the hops in that order so the chain reads like
``1839.08 in tester step 9 ← coder step 3 ← planner step 1: 'the price is already in dollars'``.
Values and quotes are model output, so everything goes through ``printable`` into Text objects.
"""

from __future__ import annotations

from rich.text import Text

from rootspan.model import LineageLink
from rootspan.text import printable

INTRODUCED_MARK = "◆"  # the waterfall's culprit mark: the introducing step is the culprit
INTRODUCED_STYLE = "bold red"


def hop_where(link: LineageLink) -> str:
    """'coder step 3'; the span name (or id) stands in when the engine knows no agent or step."""
    parts = [link.agent] if link.agent else []
    if link.step is not None:
        parts.append(f"step {link.step}")
    if not parts:
        parts.append(link.name or link.span_id[:12])
    return printable(" ".join(parts))


def hop_text(link: LineageLink, previous: LineageLink | None) -> Text:
    """One hop: gutter mark, arrow, the value where it changed, where, and what that step said.

    The value is repeated only where it differs from the previous hop's, so a faithfully carried
    value is read once, at the failing output, and a transformation stands out.
    """
    introduced = link.role == "introduced"
    text = Text()
    text.append(f"{INTRODUCED_MARK} " if introduced else "  ", INTRODUCED_STYLE)
    text.append("  " if previous is None else "← ", "dim")
    if link.value is not None and (previous is None or link.value != previous.value):
        text.append(printable(link.value), "bold")
        text.append(" in ", "dim")
    text.append(hop_where(link), INTRODUCED_STYLE if introduced else "bold")
    if link.quote:
        text.append(": ", "dim")
        text.append("'" + printable(link.quote) + "'")
    if introduced:
        text.append("  introduced here", "red")
    return text


def lineage_texts(lineage: list[LineageLink]) -> list[Text]:
    """Every hop's line, in the engine's order (failing output first, the introducing step last)."""
    return [hop_text(link, lineage[index - 1] if index else None) for index, link in enumerate(lineage)]
