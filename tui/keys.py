"""The help screen's key list, read from the bindings of every screen and widget (one source)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.keys import format_key


def _sections() -> list[tuple[str, list[type]]]:
    from rootspan.tui.app import RootspanApp
    from rootspan.tui.screens_blame import BlameScreen
    from rootspan.tui.screens_detail import DetailScreen
    from rootspan.tui.keytable import KeyTable
    from rootspan.tui.screens_diff import DiffScreen, PairsScreen
    from rootspan.tui.screens_traces import TracesScreen
    from rootspan.tui.screens_waterfall import WaterfallScreen
    from rootspan.tui.waterfall import Waterfall

    return [
        ("Everywhere", [RootspanApp]),
        ("Traces list", [TracesScreen]),
        ("Waterfall", [Waterfall, WaterfallScreen]),
        ("Span detail", [DetailScreen]),
        ("Blame", [BlameScreen]),
        ("Diff (two runs)", [DiffScreen]),
        ("Pairs of traces (p in the diff)", [PairsScreen]),
        ("Every list (traces, diff, pairs, handoffs, lineage)", [KeyTable]),
    ]


def display_keys(binding: Binding) -> str:
    """'up,k' -> '↑ / k'."""
    return " / ".join(format_key(key.strip()) for key in binding.key.split(","))


def key_table() -> list[tuple[str, str, str]]:
    """(section, keys, what it does) for every binding, in screen order (tooltips say the most)."""
    rows: list[tuple[str, str, str]] = []
    for title, classes in _sections():
        for cls in classes:
            for item in cls.BINDINGS:
                binding = item if isinstance(item, Binding) else Binding(*item)
                rows.append((title, display_keys(binding), binding.tooltip or binding.description or binding.action))
    return rows


def help_text() -> Text:
    text = Text()
    text.append("rootspan view: keys\n", "bold")
    current = None
    for section, keys, description in key_table():
        if section != current:
            current = section
            text.append(f"\n{section}\n", "bold underline")
        text.append(f"  {keys:<22}", "bold")
        text.append(description)
        text.append("\n")
    text.append("\nMouse: click a row to move there, click it again to open it; the wheel scrolls.\n", "dim")
    return text
