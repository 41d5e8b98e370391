"""The swimlane widget: draws a LaneLayout at the current width with themeable styles."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from rootspan.tui.lanes import LaneLayout, render_lanes

_PARTS = ("bar", "error", "repeat", "handoff", "label", "axis")


class Swimlanes(Widget):
    """One lane per agent with handoff arrows; height follows the number of agents."""

    COMPONENT_CLASSES = {f"swimlanes--{part}" for part in _PARTS}

    def __init__(self, layout: LaneLayout, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lane_layout = layout

    def render(self) -> Text:
        styles = {part: self.get_component_rich_style(f"swimlanes--{part}", partial=True) for part in _PARTS}
        return render_lanes(self.lane_layout, self.content_region.width or self.size.width, styles)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, 2 * len(self.lane_layout.agents)) if self.lane_layout.agents else 1
