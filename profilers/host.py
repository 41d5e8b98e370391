"""Host readings for the sampler: this process's CPU share and RSS, and the whole machine's CPU use.

CPU shares come from differences of cumulative CPU times between ticks (so nothing else that
calls ``psutil.cpu_percent`` is disturbed); ratios are of the CPUs this process may run on.
"""

from __future__ import annotations

import os
import time

import psutil

from rootspan.profilers import names as n
from rootspan.profilers.samples import SeriesKey


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class HostSource:
    def __init__(self) -> None:
        self._process = psutil.Process()
        self._cpus = available_cpus()
        self._last_wall = 0.0
        self._last_process_cpu = 0.0
        self._last_busy = 0.0
        self._last_total = 0.0
        self.read(time.time_ns())  # prime the differences

    def _machine_times(self) -> tuple[float, float]:
        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        total = sum(times)
        return total - idle, total

    def read(self, time_ns: int) -> dict[SeriesKey, float]:
        wall = time_ns / 1e9
        cpu = self._process.cpu_times()
        process_cpu = cpu.user + cpu.system
        busy, total = self._machine_times()
        values: dict[SeriesKey, float] = {(n.PROCESS_MEMORY_USAGE, ""): float(self._process.memory_info().rss)}
        if self._last_wall and wall > self._last_wall:
            share = (process_cpu - self._last_process_cpu) / (wall - self._last_wall) / self._cpus
            values[(n.PROCESS_CPU_UTILIZATION, "")] = min(1.0, max(0.0, share))
        if total > self._last_total:
            values[(n.SYSTEM_CPU_UTILIZATION, "")] = min(1.0, max(0.0, (busy - self._last_busy) / (total - self._last_total)))
        self._last_wall, self._last_process_cpu = wall, process_cpu
        self._last_busy, self._last_total = busy, total
        return values
