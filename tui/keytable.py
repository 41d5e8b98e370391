"""Tables and option lists with the vi movement keys beside the arrows, on every list of the UI.

Textual's DataTable binds the arrows, page keys and ctrl+home/ctrl+end; with a row cursor its
home/end scroll sideways. Lists of hundreds of traces need j/k and g/G (first/last row) as the
waterfall has, so every list of the UI is one of these subclasses and the help screen reads its
keys from their bindings.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable, OptionList

LIST_BINDINGS = [
    Binding("k", "cursor_up", "Up", show=False, tooltip="Up (also ↑)"),
    Binding("j", "cursor_down", "Down", show=False, tooltip="Down (also ↓)"),
    Binding("home,g", "first", "First", show=False, tooltip="First row"),
    Binding("end,G", "last", "Last", show=False, tooltip="Last row"),
]


class KeyTable(DataTable):
    """A DataTable that also moves with j/k/g/G (and home/end go to the first/last row)."""

    BINDINGS = LIST_BINDINGS

    def action_first(self) -> None:
        self.action_scroll_top()

    def action_last(self) -> None:
        self.action_scroll_bottom()


class KeyOptionList(OptionList):
    """An OptionList that also moves with j/k/g/G."""

    BINDINGS = LIST_BINDINGS  # OptionList has first/last actions of its own
