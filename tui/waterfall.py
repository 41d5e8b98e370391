"""The waterfall widget: a virtualised span tree with time bars, drawn one visible line at a time.

A Line API ScrollView renders only the rows on screen from the model's row list, so a trace of
100k spans costs the same to draw as one of ten. Colours come from component classes in
``rootspan.tcss``; span names are cut to cell widths and never parsed as markup.
"""

from __future__ import annotations

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from rootspan.model import Span, SpanKind
from rootspan.text import format_duration, printable
from rootspan.tui.spantree import Row, WaterfallModel

GUTTER = 3
DURATION_WIDTH = 8
_KIND_CLASS = {
    SpanKind.AGENT: "waterfall--agent",
    SpanKind.LLM: "waterfall--llm",
    SpanKind.TOOL: "waterfall--tool",
    SpanKind.WORKFLOW: "waterfall--workflow",
    SpanKind.OTHER: "waterfall--other",
}


class Waterfall(ScrollView, can_focus=True):
    """Span rows: gutter marks, indented names, durations and bars on the trace's time axis."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("left,h", "collapse", "Collapse", show=False, tooltip="Collapse, or go to the parent"),
        Binding("right,l", "expand", "Expand", show=False, tooltip="Expand, or go to the first child"),
        Binding("space", "toggle", "Fold", show=False, tooltip="Collapse or expand the span under the cursor"),
        Binding("enter", "select", "Detail", tooltip="Span detail: attributes, messages, errors, GPU panel"),
    ]
    COMPONENT_CLASSES = {
        "waterfall--cursor",
        "waterfall--agent",
        "waterfall--llm",
        "waterfall--tool",
        "waterfall--workflow",
        "waterfall--other",
        "waterfall--error",
        "waterfall--error-below",
        "waterfall--path",
        "waterfall--culprit",
        "waterfall--critical",
        "waterfall--repeat",
        "waterfall--track",
        "waterfall--dim",
    }

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The cursor moved onto a span."""

        def __init__(self, span: Span) -> None:
            super().__init__()
            self.span = span

    class Selected(Message):
        """Enter on a span: open its detail."""

        def __init__(self, span: Span) -> None:
            super().__init__()
            self.span = span

    def __init__(self, model: WaterfallModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self._rows: list[Row] = model.rows()

    # -- data ----------------------------------------------------------------------------------

    @property
    def rows(self) -> list[Row]:
        return self._rows

    @property
    def current(self) -> Span | None:
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor].span
        return None

    def reload(self, keep: str | None = None) -> None:
        """Re-read the model's rows (after a fold, filter or highlight) keeping the cursor's span."""
        keep = keep or (self.current.span_id if self.current else None)
        self._rows = self.model.rows()
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))
        index = self._index_of(keep) if keep else None
        self.cursor = index if index is not None else min(self.cursor, max(0, len(self._rows) - 1))
        self.refresh()

    def _index_of(self, span_id: str) -> int | None:
        for index, row in enumerate(self._rows):
            if row.span.span_id == span_id:
                return index
        return None

    def go_to(self, span_id: str) -> bool:
        """Reveal and put the cursor on a span; False when the current filter hides it."""
        self.model.reveal(span_id)
        self._rows = self.model.rows()
        index = self._index_of(span_id)
        if index is None:
            return False
        self.reload(keep=span_id)
        self.scroll_to(y=max(0, index - self.scrollable_content_region.height // 2), animate=False)
        return True

    # -- cursor & scrolling --------------------------------------------------------------------

    def on_mount(self) -> None:
        self.reload()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._rows) - 1)) if self._rows else 0

    def watch_cursor(self, old: int, new: int) -> None:
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif height and new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.refresh()
        if self.current is not None:
            self.post_message(self.Highlighted(self.current))

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.scrollable_content_region.height - 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self._rows) - 1

    def action_toggle(self) -> None:
        row = self._row()
        if row is not None and row.has_children:
            self.model.toggle(row.span.span_id)
            self.reload(keep=row.span.span_id)

    def action_collapse(self) -> None:
        row = self._row()
        if row is None:
            return
        if row.has_children and row.expanded:
            self.action_toggle()
            return
        parent = self.model.index.parent.get(row.span.span_id)
        if parent is not None:
            index = self._index_of(parent.span_id)
            if index is not None:
                self.cursor = index

    def action_expand(self) -> None:
        row = self._row()
        if row is not None and row.has_children and not row.expanded:
            self.action_toggle()
        elif row is not None and row.expanded:
            self.cursor += 1

    def action_select(self) -> None:
        if self.current is not None:
            self.post_message(self.Selected(self.current))

    def on_click(self, event: events.Click) -> None:  # mouse is optional: a click moves the cursor there
        row = int(self.scroll_y) + event.y
        if 0 <= row < len(self._rows):
            if row == self.cursor:
                self.action_select()
            self.cursor = row

    def _row(self) -> Row | None:
        return self._rows[self.cursor] if 0 <= self.cursor < len(self._rows) else None

    # -- drawing -------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        base = self.rich_style
        if index >= len(self._rows) or width <= 0:
            return Strip.blank(width, base)
        segments = self._line(self._rows[index], width)
        if index == self.cursor:
            cursor = self._style("waterfall--cursor")
            segments = [Segment(text, (style or Style()) + cursor) for text, style, _ in segments]
        strip = Strip(segments).adjust_cell_length(width, base)
        return strip.apply_style(base)

    def _line(self, row: Row, width: int) -> list[Segment]:
        model = self.model
        span = row.span
        span_id = span.span_id
        bar_width = max(10, width // 3)
        name_width = max(8, width - GUTTER - DURATION_WIDTH - 1 - bar_width)
        kind_style = self._style(_KIND_CLASS.get(span.kind or SpanKind.OTHER, "waterfall--other"))
        error_style = self._style("waterfall--error")

        if span.is_error:
            mark = Segment("✗", error_style)
        elif span_id in model.error_below and not row.expanded:
            mark = Segment("!", self._style("waterfall--error-below"))
        else:
            mark = Segment(" ")
        if span_id == model.culprit:
            path = Segment("◆", self._style("waterfall--culprit"))
        elif span_id in model.failure_path:
            path = Segment("●", self._style("waterfall--path"))
        else:
            path = Segment(" ")
        critical = span_id in model.critical_path
        crit = Segment("»", self._style("waterfall--critical")) if critical else Segment(" ")

        indent = "  " * min(row.depth, name_width // 4)
        fold = ("▾ " if row.expanded else "▸ ") if row.has_children else "  "
        repeat = model.repeats.get(span_id)
        suffix = f" ↻{repeat}" if repeat else ""
        name = printable(span.name) or "(unnamed)"
        name_cells = max(1, name_width - len(indent) - len(fold) - len(suffix))
        name_style = error_style if span.is_error else kind_style
        if span_id == model.culprit:
            name_style = name_style + self._style("waterfall--culprit")
        segments = [
            mark,
            path,
            crit,
            Segment(indent + fold, self._style("waterfall--dim")),
            Segment(set_cell_size(name, name_cells), name_style),
        ]
        if suffix:
            segments.append(Segment(suffix, self._style("waterfall--repeat")))
        segments.append(Segment(format_duration(span.duration_ns).rjust(DURATION_WIDTH) + " "))
        segments.extend(self._bar(span, bar_width, error_style if span.is_error else kind_style, critical))
        return segments

    def _bar(self, span: Span, width: int, style: Style, critical: bool) -> list[Segment]:
        start, total = self.model.start_ns, self.model.duration_ns
        left = int((span.start_ns - start) / total * width)
        right = int((span.end_ns - start) / total * width)
        left = max(0, min(width - 1, left))
        right = max(left + 1, min(width, right))
        track = self._style("waterfall--track")
        if critical:
            style = style + self._style("waterfall--critical")
        return [
            Segment("·" * left, track),
            Segment("█" * (right - left), style),
            Segment("·" * (width - right), track),
        ]
