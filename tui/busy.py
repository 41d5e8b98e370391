"""A quiet progress line for background work: what is running and for how long.

Textual's animated LoadingIndicator redraws many times a second; while a worker thread parses
100k spans, each redraw competes with it for the interpreter lock and made loading twice as
slow. This line redraws twice a second.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from rootspan.text import printable


class Busy(Static):
    """'loading run … 3s', counting up until the widget is removed."""

    def __init__(self, what: str, *, id: str | None = None) -> None:
        super().__init__(Text(f"{printable(what)} …"), id=id, classes="busy")
        self.what = printable(what)
        self._started = time.monotonic()

    def on_mount(self) -> None:
        self._started = time.monotonic()
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        self.update(Text(f"{self.what} … {time.monotonic() - self._started:.0f}s"))
