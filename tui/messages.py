"""Messages the app sends to its screens when background work finishes."""

from __future__ import annotations

from textual.message import Message

from rootspan.model import MetricPoint
from rootspan.tui.analysis import TraceAnalysis


class AnalysisReady(Message):
    """The verdict and critical path of a trace are known (or known to be unavailable)."""

    def __init__(self, trace_id: str, analysis: TraceAnalysis) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.analysis = analysis


class MetricsReady(Message):
    """metrics.jsonl of a run has been read (an empty list when the run has none)."""

    def __init__(self, points: list[MetricPoint], warnings: list[str]) -> None:
        super().__init__()
        self.points = points
        self.warnings = warnings


class AlignmentReady(Message):
    """Two traces' steps have been aligned for the diff view."""

    def __init__(self, pair_index: int, rows: list, note: str) -> None:
        super().__init__()
        self.pair_index = pair_index
        self.rows = rows
        self.note = note
