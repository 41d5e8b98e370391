"""Agent swimlanes: one lane per agent over the trace's time, and the handoffs between them.

A handoff is control passing to another agent: either a turn nested inside a different agent's
turn (delegation) or a turn that starts after another agent's turn (sequential handoff). Layout
is computed once per trace; drawing is a cheap function of the terminal width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.cells import set_cell_size
from rich.style import Style
from rich.text import Text

from rootspan.model import Span, SpanKind, Trace
from rootspan.text import printable


@dataclass(frozen=True)
class Handoff:
    """Control passing from one agent to another when ``span`` (the receiving turn) starts."""

    time_ns: int
    source: str
    target: str
    span: Span
    how: str  # "delegate" (nested turn) or "handoff" (next turn)


@dataclass
class LaneLayout:
    agents: list[str]
    turns: dict[str, list[Span]]
    handoffs: list[Handoff]
    start_ns: int
    end_ns: int
    repeated: set[str] = field(default_factory=set)

    @property
    def duration_ns(self) -> int:
        return max(1, self.end_ns - self.start_ns)


def _parent_agent(trace: Trace, span: Span) -> str | None:
    for ancestor in trace.ancestors(span):
        if ancestor.kind == SpanKind.AGENT and ancestor.agent_name:
            return ancestor.agent_name
    return None


def build_lanes(trace: Trace, repeated: set[str] | None = None) -> LaneLayout:
    """Agent turns grouped per agent (first appearance order) and the handoffs between them."""
    turns: dict[str, list[Span]] = {}
    handoffs: list[Handoff] = []
    previous: str | None = None
    for span in trace.spans:  # already in start order
        agent = span.agent_name
        if span.kind != SpanKind.AGENT or not agent:
            continue
        turns.setdefault(agent, []).append(span)
        parent = _parent_agent(trace, span)
        if parent is not None and parent != agent:
            handoffs.append(Handoff(span.start_ns, parent, agent, span, "delegate"))
        elif parent is None and previous is not None and previous != agent:
            handoffs.append(Handoff(span.start_ns, previous, agent, span, "handoff"))
        previous = agent
    return LaneLayout(
        agents=list(turns),
        turns=turns,
        handoffs=handoffs,
        start_ns=trace.start_ns,
        end_ns=trace.end_ns,
        repeated=set(repeated or ()),
    )


def render_lanes(layout: LaneLayout, width: int, styles: dict[str, Style]) -> Text:
    """Draw the lanes as text; ``styles`` maps bar/error/repeat/handoff/label/axis to Rich styles.

    Lanes sit on even grid rows with a connector row between each pair; a handoff is a vertical
    line at its start time from the source lane to the target lane, ending in an arrow.
    """
    if not layout.agents:
        return Text("no agent spans in this trace (no gen_ai.agent.name / invoke_agent spans)")
    label_width = min(18, max(len(printable(agent)) for agent in layout.agents)) + 1
    timeline = max(10, width - label_width - 1)
    rows = 2 * len(layout.agents) - 1
    grid: list[list[tuple[str, str]]] = [[(" ", "") for _ in range(timeline)] for _ in range(rows)]
    lane_of = {agent: index for index, agent in enumerate(layout.agents)}

    def column(time_ns: int) -> int:
        offset = (time_ns - layout.start_ns) / layout.duration_ns
        return min(timeline - 1, max(0, int(offset * timeline)))

    for agent, spans in layout.turns.items():
        row = 2 * lane_of[agent]
        for span in spans:
            style = "error" if span.is_error else ("repeat" if span.span_id in layout.repeated else "bar")
            for x in range(column(span.start_ns), column(span.end_ns) + 1):
                # An error anywhere in a cell wins over a healthy turn sharing it.
                if grid[row][x][1] != "error":
                    grid[row][x] = ("█", style)
    for handoff in layout.handoffs:
        source, target = 2 * lane_of[handoff.source], 2 * lane_of[handoff.target]
        if source == target:
            continue
        x = column(handoff.time_ns)
        step = 1 if target > source else -1
        for row in range(source + step, target, step):
            if grid[row][x][0] == " ":
                grid[row][x] = ("│", "handoff")
        grid[target - step][x] = ("▼" if step > 0 else "▲", "handoff")

    text = Text(no_wrap=True, overflow="crop")
    for row in range(rows):
        if row % 2 == 0:
            label = printable(layout.agents[row // 2])
            text.append(set_cell_size(label, label_width - 1) + " ", styles.get("label"))
        else:
            text.append(" " * label_width)
        for char, style in grid[row]:
            text.append(char, styles.get(style) if style else None)
        text.append("\n")
    text.append(" " * label_width)
    text.append(_axis(layout.duration_ns, timeline), styles.get("axis"))
    return text


def _axis(duration_ns: int, width: int) -> str:
    from rootspan.text import format_duration

    end = format_duration(duration_ns)
    return ("0" + end.rjust(width - 1))[:width]
