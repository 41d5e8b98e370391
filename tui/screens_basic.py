"""Small screens: loading, fatal error, a scrollable text page, and the help screen."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from rootspan.text import printable
from rootspan.tui.busy import Busy


class LoadingScreen(Screen):
    """Shown while the worker parses the run; the UI thread stays free."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        # No footer here: this screen is covered as soon as the run is loaded.
        yield Busy(f"loading {self.what}", id="loading-text")


class ErrorScreen(Screen):
    """A run that turned out to be unreadable: one line saying why, and q to quit."""

    BINDINGS = [Binding("escape", "app.quit", "Quit", show=False)]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        text = Text("rootspan: error: ")
        text.append(printable(self.message))
        text.append("\n\npress q to quit", "dim")
        yield Static(text, id="error-text")
        yield Footer()


class TextScreen(ModalScreen[None]):
    """A scrollable page of text over the current screen (loader warnings and the like)."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="text-body"):
            yield Static(Text(self.title_text, "bold"), classes="section-title")
            yield Static(self.body, classes="section")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key of every screen, built from the bindings themselves so it cannot drift."""

    BINDINGS = [Binding("escape,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        from rootspan.tui.keys import help_text

        with VerticalScroll(id="help-body"):
            yield Static(help_text(), classes="section")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
