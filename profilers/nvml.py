"""NVML readings for the device sampler, surviving every way NVML can fail.

One ``NvmlSource`` per run reads each visible GPU once per tick: utilisation, memory, power, the
energy counter, clocks, temperature, clock-event (throttle) reasons and, where the device supports
GPM (Hopper and later), SM occupancy, tensor-core and DRAM-bandwidth utilisation. A reading that
fails with NotSupported/NoPermission is dropped for good; a lost GPU drops its device; anything
else is dropped after a few failures in a row. The sampler keeps going in every case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

from rootspan.profilers import names as n
from rootspan.profilers.samples import SeriesKey

# nvml.h nvmlClocksEventReason* bits (stable ABI values; checked against pynvml in the tests).
CLOCK_EVENT_REASONS = (
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal"),
    (0x40, "hw_thermal"),
    (0x80, "hw_power_brake"),
    (0x100, "display_clock_setting"),
)
# Dense bf16 tensor-core peak from the vendor datasheets, matched on the NVML device name.
PEAK_BF16_FLOPS = (
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989.4e12),
    ("H200", 989.4e12),
    ("GH200", 989.4e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
)
DROP_AFTER_FAILURES = 3
_PERMANENT_ERRORS = ("NVMLError_NotSupported", "NVMLError_FunctionNotFound", "NVMLError_NoPermission", "NVMLError_NotFound")
_DEVICE_ERRORS = ("NVMLError_GpuIsLost", "NVMLError_ResetRequired")


def decode_clock_event_reasons(mask: int) -> list[str]:
    """Bitmask -> reason names, in bit order."""
    return [name for bit, name in CLOCK_EVENT_REASONS if mask & bit]


class NvmlUnavailable(Exception):
    """NVML cannot be used at all on this machine (no library, no driver, no GPU)."""


@dataclass
class _Reader:
    name: str
    read: Callable[[], dict[str, float]]
    failures: int = 0


@dataclass
class GpuDevice:
    index: int
    device_id: str
    handle: Any
    name: str = ""
    memory_total: int | None = None
    peak_bandwidth: float | None = None
    peak_flops: float | None = None
    readers: list[_Reader] = field(default_factory=list)
    gpm_samples: list[Any] = field(default_factory=list)


def visible_indices(count: int, env: dict[str, str] | None = None) -> list[int]:
    """NVML indices of the GPUs this process may use (CUDA_VISIBLE_DEVICES when it lists indices)."""
    raw = (os.environ if env is None else env).get("CUDA_VISIBLE_DEVICES")
    if raw is None or raw.strip() == "":
        return list(range(count))
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if parts and all(part.isdigit() for part in parts):
        return [int(part) for part in parts if int(part) < count]
    return list(range(count))  # UUIDs or MIG names: sample every GPU rather than guess


class NvmlSource:
    """Reads every visible GPU; ``read()`` is called from the sampler thread only."""

    def __init__(self, note: Callable[[str], None], nvml: Any = None) -> None:
        self._note = note
        if nvml is None:
            try:
                import pynvml as nvml
            except ImportError as exc:
                raise NvmlUnavailable("nvidia-ml-py is not installed") from exc
        self.nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            raise NvmlUnavailable(f"NVML: {exc}") from exc
        except OSError as exc:  # a broken library install surfaces as a loader error
            raise NvmlUnavailable(f"NVML: {exc}") from exc
        self.devices: list[GpuDevice] = []
        try:
            count = nvml.nvmlDeviceGetCount()
            for index in visible_indices(count):
                self.devices.append(self._open(index))
        except nvml.NVMLError as exc:
            self.close()
            raise NvmlUnavailable(f"NVML: {exc}") from exc
        if not self.devices:
            self.close()
            raise NvmlUnavailable("NVML found no GPU")

    def _open(self, index: int) -> GpuDevice:
        nvml = self.nvml
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        device = GpuDevice(index=index, device_id=f"gpu{index}", handle=handle)
        name = self._static(lambda: nvml.nvmlDeviceGetName(handle))
        device.name = name.decode() if isinstance(name, bytes) else (name or "")
        memory = self._static(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        device.memory_total = int(memory.total) if memory is not None else None
        bus_bits = self._static(lambda: nvml.nvmlDeviceGetMemoryBusWidth(handle))
        mem_mhz = self._static(lambda: nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM))
        if bus_bits and mem_mhz:
            # double data rate: two transfers per memory clock
            device.peak_bandwidth = bus_bits / 8 * mem_mhz * 1e6 * 2
        for pattern, flops in PEAK_BF16_FLOPS:
            if pattern in device.name:
                device.peak_flops = flops
                break
        device.readers = self._readers(device)
        return device

    def _static(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except self.nvml.NVMLError:
            return None

    def _readers(self, device: GpuDevice) -> list[_Reader]:
        nvml, handle = self.nvml, device.handle

        def utilization() -> dict[str, float]:
            rates = nvml.nvmlDeviceGetUtilizationRates(handle)
            return {n.HW_GPU_UTILIZATION: rates.gpu / 100.0, n.GPU_MEMCTL_UTILIZATION: rates.memory / 100.0}

        def memory() -> dict[str, float]:
            info = nvml.nvmlDeviceGetMemoryInfo(handle)
            return {n.HW_GPU_MEMORY_USAGE: float(info.used), n.HW_GPU_MEMORY_LIMIT: float(info.total)}

        def clock_events() -> dict[str, float]:
            getter = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or nvml.nvmlDeviceGetCurrentClocksThrottleReasons
            return {n.GPU_CLOCK_EVENT_REASONS: float(getter(handle))}

        readers = [
            _Reader("utilization", utilization),
            _Reader("memory", memory),
            _Reader("power", lambda: {n.HW_POWER: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0}),
            # 2.4 ms per call on an H100 (ANCHORS.md): read here, in the sampler thread, never per span.
            _Reader("energy", lambda: {n.HW_ENERGY: nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0}),
            _Reader("sm_clock", lambda: {n.GPU_CLOCK_SM: float(nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM))}),
            _Reader("memory_clock", lambda: {n.GPU_CLOCK_MEMORY: float(nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_MEM))}),
            _Reader(
                "temperature",
                lambda: {n.HW_TEMPERATURE: float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))},
            ),
            _Reader("clock_events", clock_events),
        ]
        if self._gpm_supported(handle):
            device.gpm_samples = [nvml.nvmlGpmSampleAlloc(), nvml.nvmlGpmSampleAlloc()]
            readers.append(_Reader("gpm", self._gpm_reader(device)))
        return readers

    def _gpm_supported(self, handle: Any) -> bool:
        try:
            return bool(self.nvml.nvmlGpmQueryDeviceSupport(handle).isSupportedDevice)
        except (self.nvml.NVMLError, AttributeError):
            return False

    def _gpm_reader(self, device: GpuDevice) -> Callable[[], dict[str, float]]:
        nvml = self.nvml
        metric_ids = (
            (nvml.NVML_GPM_METRIC_SM_OCCUPANCY, n.GPU_SM_OCCUPANCY),
            (nvml.NVML_GPM_METRIC_ANY_TENSOR_UTIL, n.GPU_TENSOR_UTILIZATION),
            (nvml.NVML_GPM_METRIC_DRAM_BW_UTIL, n.GPU_DRAM_BW_UTILIZATION),
        )
        state = {"have_previous": False}

        def read() -> dict[str, float]:
            previous, current = device.gpm_samples
            nvml.nvmlGpmSampleGet(device.handle, current)
            device.gpm_samples.reverse()  # this sample is the next tick's "previous"
            if not state["have_previous"]:
                state["have_previous"] = True
                return {}
            request = nvml.c_nvmlGpmMetricsGet_t()
            request.version = nvml.NVML_GPM_METRICS_GET_VERSION
            request.numMetrics = len(metric_ids)
            request.sample1 = previous
            request.sample2 = current
            for slot, (metric_id, _) in enumerate(metric_ids):
                request.metrics[slot].metricId = metric_id
            nvml.nvmlGpmMetricsGet(request)
            values = {}
            for slot, (_, metric_name) in enumerate(metric_ids):
                if request.metrics[slot].nvmlReturn == nvml.NVML_SUCCESS:
                    values[metric_name] = request.metrics[slot].value / 100.0  # GPM reports percent
            return values

        return read

    def read(self) -> dict[SeriesKey, float]:
        """One reading of every live metric of every live device; failures drop metrics, never raise."""
        values: dict[SeriesKey, float] = {}
        for device in list(self.devices):
            for reader in list(device.readers):
                try:
                    reading = reader.read()
                except Exception as exc:  # noqa: BLE001 - the sampler must outlive any NVML failure
                    if self._failed(device, reader, exc):
                        break
                    continue
                reader.failures = 0
                for metric, value in reading.items():
                    values[(metric, device.device_id)] = value
        return values

    def _failed(self, device: GpuDevice, reader: _Reader, exc: Exception) -> bool:
        """Record a failed reading; True when the whole device was dropped."""
        kind = type(exc).__name__
        if kind in _DEVICE_ERRORS:
            self.devices.remove(device)
            self._free_gpm_samples(device)  # close() frees only the devices still listed
            self._note(f"{device.device_id} dropped from sampling ({exc}); other metrics continue")
            return True
        reader.failures += 1
        if kind in _PERMANENT_ERRORS or reader.failures >= DROP_AFTER_FAILURES:
            device.readers.remove(reader)
            self._note(f"{device.device_id} {reader.name} dropped from sampling ({kind}: {exc})")
        return False

    @property
    def primary(self) -> GpuDevice | None:
        """The GPU whose figures go on spans: the first visible one (the process's cuda:0)."""
        return self.devices[0] if self.devices else None

    def _free_gpm_samples(self, device: GpuDevice) -> None:
        for sample in device.gpm_samples:
            self._static(lambda: self.nvml.nvmlGpmSampleFree(sample))
        device.gpm_samples = []

    def close(self) -> None:
        for device in self.devices:
            self._free_gpm_samples(device)
        try:
            self.nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - shutting down a half-initialised NVML may fail; nothing to do
            pass
