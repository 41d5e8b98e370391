"""Test doubles for exercising the profilers without a GPU.

``FakeNvml`` is a scriptable stand-in for the ``pynvml`` module that raises the real
``pynvml.NVMLError`` types: tests put ``FakeNvml().module`` in ``sys.modules['pynvml']`` (or pass
it to the sampler); values follow simple functions of the call count, and any function can be
told to fail from its k-th call on.
"""

from __future__ import annotations

import types
from typing import Any, Callable

import pynvml as real


_COPIED = [
    "NVMLError", "NVML_SUCCESS", "NVML_CLOCK_SM", "NVML_CLOCK_MEM", "NVML_TEMPERATURE_GPU",
    "NVML_GPM_METRIC_SM_OCCUPANCY", "NVML_GPM_METRIC_ANY_TENSOR_UTIL", "NVML_GPM_METRIC_DRAM_BW_UTIL",
    "NVML_GPM_METRICS_GET_VERSION", "c_nvmlGpmMetricsGet_t",
]


class FakeNvml:
    """State behind the fake module: per-function call counts and scheduled failures."""

    def __init__(self, gpu_count: int = 1, name: str = "NVIDIA H100 80GB HBM3", gpm: bool = True,
                 init_error: type[Exception] | None = None, watts: float = 400.0) -> None:
        self.gpu_count = gpu_count
        self.name = name
        self.gpm = gpm
        self.init_error = init_error
        self.watts = watts
        self.calls: dict[str, int] = {}
        self.failures: dict[str, tuple[int, type[Exception]]] = {}
        self.clock_event_mask = 0x4  # SwPowerCap: what an H100 under load reports
        self.module = self._build()

    def fail(self, function: str, error: type[Exception], from_call: int = 1) -> None:
        """Make ``function`` raise ``error`` from its ``from_call``-th call on."""
        self.failures[function] = (from_call, error)

    def _count(self, function: str) -> int:
        count = self.calls.get(function, 0) + 1
        self.calls[function] = count
        if function in self.failures:
            first, error = self.failures[function]
            if count >= first:
                raise error()
        return count

    def _build(self) -> types.ModuleType:
        module = types.ModuleType("pynvml")
        for attr in _COPIED:
            setattr(module, attr, getattr(real, attr))
        for attr in dir(real):
            if attr.startswith("NVMLError_"):
                setattr(module, attr, getattr(real, attr))

        def fn(name: str, body: Callable[..., Any]) -> None:
            def call(*args: Any) -> Any:
                count = self._count(name)
                return body(count, *args)

            setattr(module, name, call)

        fn("nvmlInit", lambda k: self._init())
        fn("nvmlShutdown", lambda k: None)
        fn("nvmlDeviceGetCount", lambda k: self.gpu_count)
        fn("nvmlDeviceGetHandleByIndex", lambda k, i: ("handle", i))
        fn("nvmlDeviceGetName", lambda k, h: self.name)
        fn("nvmlDeviceGetMemoryInfo", lambda k, h: types.SimpleNamespace(used=(1 + k % 4) * 2**30, total=80 * 2**30, free=0))
        fn("nvmlDeviceGetMemoryBusWidth", lambda k, h: 5120)
        fn("nvmlDeviceGetMaxClockInfo", lambda k, h, clock: 2619 if clock == real.NVML_CLOCK_MEM else 1980)
        # utilisation cycles 10..90 % so means and maxima are checkable
        fn("nvmlDeviceGetUtilizationRates", lambda k, h: types.SimpleNamespace(gpu=10 * (1 + (k - 1) % 9), memory=50))
        fn("nvmlDeviceGetPowerUsage", lambda k, h: int(self.watts * 1000))
        fn("nvmlDeviceGetTotalEnergyConsumption", lambda k, h: 1_000_000 + 1000 * k)  # mJ
        fn("nvmlDeviceGetClockInfo", lambda k, h, clock: 1980 if clock == real.NVML_CLOCK_SM else 2619)
        fn("nvmlDeviceGetTemperature", lambda k, h, sensor: 60 + k % 5)
        fn("nvmlDeviceGetCurrentClocksEventReasons", lambda k, h: self.clock_event_mask)
        fn("nvmlGpmQueryDeviceSupport", lambda k, h: types.SimpleNamespace(isSupportedDevice=int(self.gpm)))
        fn("nvmlGpmSampleAlloc", lambda k: real.c_nvmlGpmSample_t())
        fn("nvmlGpmSampleFree", lambda k, sample: None)
        fn("nvmlGpmSampleGet", lambda k, h, sample: sample)
        fn("nvmlGpmMetricsGet", lambda k, request: self._gpm_fill(request))
        return module

    def _init(self) -> None:
        if self.init_error is not None:
            raise self.init_error()

    @staticmethod
    def _gpm_fill(request: Any) -> Any:
        percent = {
            real.NVML_GPM_METRIC_SM_OCCUPANCY: 40.0,
            real.NVML_GPM_METRIC_ANY_TENSOR_UTIL: 25.0,
            real.NVML_GPM_METRIC_DRAM_BW_UTIL: 70.0,
        }
        for slot in range(request.numMetrics):
            metric = request.metrics[slot]
            metric.value = percent.get(metric.metricId, 0.0)
            metric.nvmlReturn = real.NVML_SUCCESS
        return request
