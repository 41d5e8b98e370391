"""Host readings for the sampler: this process's CPU share and RSS, and the whole machine's CPU use.

CPU shares come from differences of cumulative CPU times between ticks (so nothing else that
calls ``psutil.cpu_percent`` is disturbed); ratios are of the CPUs this process may run on.
On Linux the two /proc files are kept open and read with one ``pread`` each: every file open or
read lets go of the GIL, and on a busy machine each hand-back can stall the app's thread, so a
tick makes as few of them as it can. Elsewhere psutil does the reading.
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


class _ProcFiles:
    """/proc/self/statm and /proc/stat, open for the sampler's lifetime."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.statm = os.open("/proc/self/statm", os.O_RDONLY)
        try:
            self.stat = os.open("/proc/stat", os.O_RDONLY)
        except OSError:
            os.close(self.statm)
            raise

    def rss(self) -> int:
        return int(os.pread(self.statm, 128, 0).split()[1]) * self.page

    def machine_times(self) -> tuple[float, float]:
        fields = os.pread(self.stat, 256, 0).split(b"\n", 1)[0].split()[1:9]
        user, nice, system, idle, iowait, irq, softirq, steal = (int(value) for value in fields)
        total = user + nice + system + idle + iowait + irq + softirq + steal  # guest time is inside user
        return float(total - idle - iowait), float(total)

    def close(self) -> None:
        os.close(self.statm)
        os.close(self.stat)


class HostSource:
    def __init__(self) -> None:
        self._cpus = available_cpus()
        self._proc: _ProcFiles | None = None
        try:
            self._proc = _ProcFiles()
        except (OSError, ValueError, AttributeError):
            self._process = psutil.Process()
        self._last_wall = 0.0
        self._last_process_cpu = 0.0
        self._last_busy = 0.0
        self._last_total = 0.0
        try:
            self.read(time.time_ns())  # prime the differences
        except Exception:
            self.close()  # nobody else holds the /proc files yet
            raise

    def _machine_times(self) -> tuple[float, float]:
        if self._proc is not None:
            return self._proc.machine_times()
        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        total = sum(times)
        return total - idle, total

    def _process_cpu_and_rss(self) -> tuple[float, int]:
        if self._proc is not None:
            times = os.times()
            return times.user + times.system, self._proc.rss()
        cpu = self._process.cpu_times()
        return cpu.user + cpu.system, self._process.memory_info().rss

    def read(self, time_ns: int) -> dict[SeriesKey, float]:
        wall = time_ns / 1e9
        process_cpu, rss = self._process_cpu_and_rss()
        busy, total = self._machine_times()
        values: dict[SeriesKey, float] = {(n.PROCESS_MEMORY_USAGE, ""): float(rss)}
        if self._last_wall and wall > self._last_wall:
            share = (process_cpu - self._last_process_cpu) / (wall - self._last_wall) / self._cpus
            values[(n.PROCESS_CPU_UTILIZATION, "")] = min(1.0, max(0.0, share))
        if total > self._last_total:
            values[(n.SYSTEM_CPU_UTILIZATION, "")] = min(1.0, max(0.0, (busy - self._last_busy) / (total - self._last_total)))
        self._last_wall, self._last_process_cpu = wall, process_cpu
        self._last_busy, self._last_total = busy, total
        return values

    def close(self) -> None:
        if self._proc is not None:
            self._proc.close()
            self._proc = None
