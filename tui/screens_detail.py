"""One span in full: header, errors with stacks, captured messages, GPU panel, attributes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from rootspan.model import Span, Trace
from rootspan.text import printable
from rootspan.tui import detail
from rootspan.tui.data import RunView
from rootspan.tui.messages import MetricsReady


class DetailScreen(Screen):
    """Sections appear only when the span has something for them; GPU series load in a worker."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("u", "parent", "Parent", tooltip="Show the parent span's detail"),
        Binding("w", "waterfall", "In waterfall", tooltip="Show this span in the waterfall"),
    ]

    def __init__(self, run_view: RunView, trace: Trace, span: Span) -> None:
        super().__init__()
        self.run_view = run_view
        self.trace = trace
        self.span = span

    def compose(self) -> ComposeResult:
        span = self.span
        with VerticalScroll(id="detail"):
            yield Static(detail.header(self.trace, span), classes="title", id="detail-header")
            errors = detail.errors_text(span)
            if errors is not None:
                yield Static(Text("Error"), classes="section-title")
                yield Static(errors, classes="section", id="detail-errors")
            messages = detail.messages_text(span)
            if messages is not None:
                yield Static(Text("Messages"), classes="section-title")
                yield Static(messages, classes="section", id="detail-messages")
            gpu = detail.gpu_text(span)
            if gpu is not None or self.run_view.run.metrics_path is not None:
                yield Static(Text("GPU / CPU profile"), classes="section-title")
                yield Vertical(id="gpu-series")
                if gpu is not None:
                    yield Static(gpu, classes="section", id="detail-gpu")
            yield Static(Text("Attributes"), classes="section-title")
            yield Static(detail.attributes_text(span), classes="section", id="detail-attributes")
            other_events = [event for event in span.events if event.name != "exception"]
            if other_events or span.links:
                yield Static(Text("Events and links"), classes="section-title")
                yield Static(self._events_text(), classes="section")
        yield Footer()

    def _events_text(self) -> Text:
        text = Text()
        for event in self.span.events:
            if event.name == "exception":
                continue
            offset = max(0, event.time_ns - self.span.start_ns) / 1e6
            text.append(f"+{offset:.3f}ms ", "dim")
            text.append(printable(event.name), "bold")
            if event.attributes:
                text.append(" " + printable(", ".join(f"{k}={v}" for k, v in event.attributes.items())))
            text.append("\n")
        for link in self.span.links:
            text.append("link → ", "dim")
            text.append(printable(f"{link.trace_id[:12]}/{link.span_id}"))
            target = self.trace.get(link.span_id)
            if target is not None:
                text.append(" " + printable(target.name))
            text.append("\n")
        return text

    def on_mount(self) -> None:
        if self.run_view.run.metrics_path is not None:
            self.app.request_metrics(self.run_view, self)
        self.query_one("#detail").focus()

    def on_metrics_ready(self, message: MetricsReady) -> None:
        box = self.query("#gpu-series")
        if not box:
            return
        series = detail.gpu_series(self.span, message.points)
        widgets = []
        for item in series:
            widgets.append(Static(Text(printable(item.summary())), classes="section"))
            if len(item.values) >= 2:
                widgets.append(Horizontal(Sparkline(item.values), classes="sparkline-row"))
        if not series:
            widgets.append(Static(Text("no device samples (metrics.jsonl) inside this span", "dim"), classes="section"))
        box.first().mount_all(widgets)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_parent(self) -> None:
        parent = self.trace.parent(self.span)
        if parent is None:
            self.notify("this span has no parent")
            return
        self.app.pop_screen()
        self.app.open_detail(self.run_view, self.trace, parent.span_id)

    def action_waterfall(self) -> None:
        self.app.open_waterfall(self.run_view, self.trace, focus=self.span.span_id)
