"""In-memory sample series and the per-span window aggregates computed from them.

The sampler thread appends; span ends read a time window. Kept separate from the thread and
from NVML so the arithmetic (means, energy from a counter, reasons seen) is tested on its own.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

SeriesKey = tuple[str, str]  # (metric name, device id; "" for host series)


@dataclass
class Series:
    times: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


class SampleBuffer:
    """Time-ordered samples per (metric, device), trimmed as spans that could need them end."""

    def __init__(self, stale_ns: int) -> None:
        # A span with no sample inside it borrows the latest earlier one, if it is this recent.
        self.stale_ns = stale_ns
        self._series: dict[SeriesKey, Series] = {}
        self._lock = threading.Lock()

    def add(self, time_ns: int, values: dict[SeriesKey, float]) -> None:
        with self._lock:
            for key, value in values.items():
                series = self._series.get(key)
                if series is None:
                    series = self._series[key] = Series()
                series.times.append(time_ns)
                series.values.append(value)

    def window(self, key: SeriesKey, start_ns: int, end_ns: int) -> list[float]:
        """Values sampled in [start, end]; else the latest one before end if not stale; else []."""
        with self._lock:
            series = self._series.get(key)
            if series is None or not series.times:
                return []
            lo = bisect.bisect_left(series.times, start_ns)
            hi = bisect.bisect_right(series.times, end_ns)
            if hi > lo:
                return series.values[lo:hi]
            if hi > 0 and series.times[hi - 1] >= start_ns - self.stale_ns:
                return [series.values[hi - 1]]
            return []

    def counter_at(self, key: SeriesKey, time_ns: int) -> float | None:
        """A monotonic counter's value at a time: interpolated, or extrapolated along the last slope."""
        with self._lock:
            series = self._series.get(key)
            if series is None or len(series.times) < 2:
                return None
            times, values = series.times, series.values
            index = bisect.bisect_left(times, time_ns)
            if index < len(times) and times[index] == time_ns:
                return values[index]
            if index == 0:
                lo, hi = 0, 1
            elif index >= len(times):
                lo, hi = len(times) - 2, len(times) - 1
            else:
                lo, hi = index - 1, index
            dt = times[hi] - times[lo]
            if dt <= 0:
                return values[hi]
            slope = (values[hi] - values[lo]) / dt
            return values[lo] + slope * (time_ns - times[lo])

    def trim(self, before_ns: int) -> None:
        """Forget samples older than before_ns, keeping one earlier sample per series for interpolation."""
        with self._lock:
            for series in self._series.values():
                cut = bisect.bisect_left(series.times, before_ns) - 1
                if cut > 0:
                    del series.times[:cut]
                    del series.values[:cut]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def energy_between(buffer: SampleBuffer, energy_key: SeriesKey, power_key: SeriesKey, start_ns: int, end_ns: int) -> float | None:
    """Joules used in [start, end]: the energy counter's difference, else power integrated over the samples."""
    begin = buffer.counter_at(energy_key, start_ns)
    finish = buffer.counter_at(energy_key, end_ns)
    if begin is not None and finish is not None:
        return max(0.0, finish - begin)
    powers = buffer.window(power_key, start_ns, end_ns)
    if not powers:
        return None
    return mean(powers) * (end_ns - start_ns) / 1e9
