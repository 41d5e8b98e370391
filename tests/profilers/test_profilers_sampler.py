"""Device/host sampler: NVML paths through a fake pynvml raising the real NVMLError types."""

from __future__ import annotations

import sys
import time

import pynvml
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rootspan.metrics import load_metrics
from rootspan.profilers import config_for_mode, names as n, sampler as sampler_module, wrap_processor
from rootspan.profilers.config import ProfileConfig
from rootspan.profilers.nvml import CLOCK_EVENT_REASONS, decode_clock_event_reasons
from rootspan.profilers.sampler import Sampler
from rootspan.profilers.testing import FakeNvml

STEP = 100_000_000  # 100 ms in ns
T0 = 1_800_000_000_000_000_000


def drive(sampler: Sampler, count: int, first: int = 0) -> None:
    for k in range(first, first + count):
        sampler.sample_once(T0 + k * STEP)


def make(tmp_path, fake: FakeNvml, notes: list[str], device: str = "required") -> Sampler:
    return Sampler(tmp_path / "metrics.jsonl", {"service.name": "t"}, device=device, nvml=fake.module, note=notes.append)


def test_clock_event_table_matches_pynvml():
    expected = {
        "gpu_idle": pynvml.nvmlClocksEventReasonGpuIdle,
        "applications_clocks_setting": pynvml.nvmlClocksEventReasonApplicationsClocksSetting,
        "sw_power_cap": pynvml.nvmlClocksEventReasonSwPowerCap,
        "hw_slowdown": pynvml.nvmlClocksEventReasonHwSlowdown,
        "sync_boost": pynvml.nvmlClocksEventReasonSyncBoost,
        "sw_thermal": pynvml.nvmlClocksEventReasonSwThermalSlowdown,
        "hw_thermal": pynvml.nvmlClocksEventReasonHwThermalSlowdown,
        "hw_power_brake": pynvml.nvmlClocksEventReasonHwPowerBrakeSlowdown,
        "display_clock_setting": pynvml.nvmlClocksEventReasonDisplayClockSetting,
    }
    assert {name: bit for bit, name in CLOCK_EVENT_REASONS} == expected
    assert decode_clock_event_reasons(0x4 | 0x20) == ["sw_power_cap", "sw_thermal"]


def test_no_nvml_is_one_note_and_host_sampling_continues(tmp_path):
    notes: list[str] = []
    fake = FakeNvml(init_error=pynvml.NVMLError_LibraryNotFound)
    sampler = make(tmp_path, fake, notes)
    assert sampler.gpu is None
    assert len(notes) == 1 and "no GPU metrics" in notes[0] and "Library Not Found" in notes[0]
    drive(sampler, 3)
    attrs = sampler.span_attributes(T0, T0 + 2 * STEP)
    assert attrs[n.CPU_RSS_PEAK] > 0
    assert not any(key.startswith("rootspan.gpu.") for key in attrs)
    sampler.stop()
    names = {point.name for point in load_metrics(tmp_path / "metrics.jsonl")}
    # system CPU needs the kernel's tick counters to have moved between samples, so it may be absent
    assert {n.PROCESS_MEMORY_USAGE, n.PROCESS_CPU_UTILIZATION} <= names
    assert names <= {n.PROCESS_MEMORY_USAGE, n.PROCESS_CPU_UTILIZATION, n.SYSTEM_CPU_UTILIZATION}


def test_gpu_aggregates_over_a_span_window(tmp_path):
    notes: list[str] = []
    fake = FakeNvml()
    fake.clock_event_mask = 0x1 | 0x4  # idle + power cap
    sampler = make(tmp_path, fake, notes)
    drive(sampler, 10)
    # samples k = 2..6 lie in the window; utilisation call k (1-based) returns 10 * k percent
    attrs = sampler.span_attributes(T0 + 2 * STEP, T0 + 6 * STEP)
    assert attrs[n.GPU_UTIL_MEAN] == pytest.approx(0.5)
    assert attrs[n.GPU_UTIL_MAX] == pytest.approx(0.7)
    assert attrs[n.GPU_MEM_UTIL_MEAN] == pytest.approx(0.5)
    assert attrs[n.GPU_POWER_MEAN_W] == pytest.approx(400.0)
    # energy counter: +1000 mJ per call, one call per 100 ms -> 1 J per sample interval
    assert attrs[n.GPU_ENERGY_J] == pytest.approx(4.0)
    assert attrs[n.GPU_THROTTLE_REASONS] == ["sw_power_cap"]
    assert attrs[n.GPU_SM_CLOCK_MEAN_MHZ] == pytest.approx(1980)
    assert attrs[n.GPU_SM_OCCUPANCY_MEAN] == pytest.approx(0.4)
    assert attrs[n.GPU_TENSOR_UTIL_MEAN] == pytest.approx(0.25)
    assert attrs[n.GPU_DRAM_BW_UTIL_MEAN] == pytest.approx(0.7)
    assert attrs[n.GPU_DEVICE_NAME] == "NVIDIA H100 80GB HBM3"
    assert attrs[n.GPU_MEM_TOTAL] == 80 * 2**30
    assert attrs[n.GPU_PEAK_BANDWIDTH] == pytest.approx(5120 / 8 * 2619e6 * 2)
    assert attrs[n.GPU_PEAK_FLOPS] == pytest.approx(989.4e12)
    # a span shorter than the interval borrows the latest earlier sample; energy is interpolated
    short = sampler.span_attributes(T0 + 3 * STEP + 10_000_000, T0 + 3 * STEP + 60_000_000)
    assert short[n.GPU_UTIL_MEAN] == pytest.approx(0.4)
    assert short[n.GPU_ENERGY_J] == pytest.approx(0.5)
    assert notes == []


def test_not_supported_mid_run_drops_only_that_metric(tmp_path):
    notes: list[str] = []
    fake = FakeNvml()
    fake.fail("nvmlDeviceGetPowerUsage", pynvml.NVMLError_NotSupported, from_call=3)
    sampler = make(tmp_path, fake, notes)
    drive(sampler, 6)
    assert fake.calls["nvmlDeviceGetPowerUsage"] == 3  # never asked again once NotSupported
    assert fake.calls["nvmlDeviceGetUtilizationRates"] == 6
    assert len(notes) == 1 and "power" in notes[0] and "NotSupported" in notes[0]
    sampler.stop()
    points = load_metrics(tmp_path / "metrics.jsonl")
    assert sum(1 for p in points if p.name == n.HW_POWER) == 2
    assert sum(1 for p in points if p.name == n.HW_GPU_UTILIZATION) == 6


def test_lost_gpu_drops_the_device_and_host_sampling_goes_on(tmp_path):
    notes: list[str] = []
    fake = FakeNvml()
    fake.fail("nvmlDeviceGetMemoryInfo", pynvml.NVMLError_GpuIsLost, from_call=4)  # call 1 is at setup
    sampler = make(tmp_path, fake, notes)
    drive(sampler, 6)
    assert sampler.gpu is not None and sampler.gpu.devices == []
    assert fake.calls.get("nvmlGpmSampleFree") == 2  # the dropped device's GPM samples are released at once
    assert len(notes) == 1 and "gpu0 dropped" in notes[0]
    host = sampler.buffer.window((n.PROCESS_MEMORY_USAGE, ""), T0, T0 + 10 * STEP)
    assert len(host) == 6
    gpu = sampler.buffer.window((n.HW_GPU_UTILIZATION, "gpu0"), T0, T0 + 10 * STEP)
    assert len(gpu) == 3


def test_transient_errors_drop_a_metric_after_three_in_a_row(tmp_path):
    notes: list[str] = []
    fake = FakeNvml()
    fake.fail("nvmlDeviceGetTemperature", pynvml.NVMLError_Unknown, from_call=1)
    sampler = make(tmp_path, fake, notes)
    drive(sampler, 5)
    assert fake.calls["nvmlDeviceGetTemperature"] == 3
    assert len(notes) == 1 and "temperature" in notes[0]


def test_samples_are_written_in_batches_readable_by_load_metrics(tmp_path):
    sampler = make(tmp_path, FakeNvml(), [])
    drive(sampler, 5)
    sampler.flush()
    drive(sampler, 2, first=5)
    sampler.stop()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2
    points = load_metrics(tmp_path / "metrics.jsonl")
    util = [p for p in points if p.name == n.HW_GPU_UTILIZATION]
    assert len(util) == 7 and util[0].attributes == {"hw.id": "gpu0"} and util[0].unit == "1"
    energy = [p.value for p in points if p.name == n.HW_ENERGY]
    assert energy == sorted(energy) and energy[0] == pytest.approx(1001.0)
    assert '"sum"' in lines[0] and '"isMonotonic":true' in lines[0]  # the energy counter is a sum


def test_sampler_thread_runs_and_stops(tmp_path):
    sampler = Sampler(tmp_path / "metrics.jsonl", interval_s=0.005, device="off")
    sampler.start()
    deadline = time.monotonic() + 10
    while len(sampler.buffer.window((n.PROCESS_MEMORY_USAGE, ""), 0, 2**62)) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    sampler.stop()
    assert sampler._thread is None
    assert len(load_metrics(tmp_path)) >= 3


def test_spans_get_device_and_host_aggregates_through_the_processor(tmp_path, monkeypatch):
    fake = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake.module)
    exporter = InMemorySpanExporter()
    config = ProfileConfig(mode="device", device_sampling="required", interval_s=0.005, memory=False)
    processor = wrap_processor(SimpleSpanProcessor(exporter), tmp_path, "device", {"service.name": "t"}, config=config)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat m"):
        start = time.time_ns()
        deadline = time.monotonic() + 10
        # stay in the span until the sampler has taken two samples inside it
        while len(processor.sampler.buffer.window((n.HW_POWER, "gpu0"), start, 2**62)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.005)
    provider.shutdown()
    (span,) = exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs[n.GPU_POWER_MEAN_W] == pytest.approx(400.0)
    assert 0 < attrs[n.GPU_UTIL_MEAN] <= 1 and attrs[n.GPU_ENERGY_J] > 0
    assert attrs[n.CPU_TIME_NS] > 0 and attrs[n.CPU_RSS_PEAK] > 0
    assert list(attrs[n.GPU_THROTTLE_REASONS]) == ["sw_power_cap"]
    assert {p.name for p in load_metrics(tmp_path)} >= {n.HW_GPU_UTILIZATION, n.HW_ENERGY, n.PROCESS_MEMORY_USAGE}


def test_device_mode_without_gpu_prints_one_note_auto_stays_quiet(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sampler_module, "_noted", set())
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(init_error=pynvml.NVMLError_DriverNotLoaded).module)
    for _ in range(2):
        processor = wrap_processor(SimpleSpanProcessor(InMemorySpanExporter()), tmp_path, "device", {})
        processor.shutdown()
    err = capsys.readouterr().err
    assert err.count("rootspan: note: no GPU metrics") == 1 and "Driver Not Loaded" in err
    monkeypatch.setattr(sampler_module, "_noted", set())
    wrap_processor(SimpleSpanProcessor(InMemorySpanExporter()), tmp_path, "auto", {}).shutdown()
    assert capsys.readouterr().err == ""  # auto turns on what the machine has, quietly


def test_modes_and_environment_knobs():
    assert config_for_mode("off").host_sampling is False
    auto = config_for_mode("auto", env={})
    assert (auto.host_sampling, auto.device_sampling, auto.kernels) == (True, "auto", False)
    kernels = config_for_mode("kernels", env={})
    assert (kernels.device_sampling, kernels.flops) == ("off", False)
    assert config_for_mode("full", env={}).flops is True
    assert config_for_mode("kernels", env={"ROOTSPAN_PROFILE_FLOPS": "1"}).flops is True
    assert config_for_mode("full", env={"ROOTSPAN_PROFILE_FLOPS": "0"}).flops is False
    full = config_for_mode("FULL", env={"ROOTSPAN_SAMPLE_INTERVAL_MS": "250", "ROOTSPAN_PROFILE_EVERY": "4",
                                        "ROOTSPAN_PROFILE_SPANS": "chat *, execute_tool search"})
    assert (full.kernels, full.device_sampling, full.interval_s, full.profile_every) == (True, "required", 0.25, 4)
    assert full.profile_spans == ("chat *", "execute_tool search")
    from rootspan.errors import UserError

    with pytest.raises(UserError):
        config_for_mode("turbo")
    with pytest.raises(UserError):
        config_for_mode("auto", env={"ROOTSPAN_SAMPLE_INTERVAL_MS": "fast"})


class _Flushing(SimpleSpanProcessor):
    """A destination that records its flushes and reports the given result."""

    def __init__(self, result: bool) -> None:
        super().__init__(InMemorySpanExporter())
        self.result = result
        self.flushed = 0

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.flushed += 1
        return self.result


def test_force_flush_reaches_every_destination_after_a_failed_one(tmp_path):
    failing, healthy = _Flushing(False), _Flushing(True)
    config = ProfileConfig(mode="device", host_sampling=False, device_sampling="off", memory=False)
    processor = wrap_processor([failing, healthy], tmp_path, "device", {}, config=config)
    assert processor.force_flush() is False
    assert (failing.flushed, healthy.flushed) == (1, 1)
    processor.shutdown()


class _FailingHost:
    """A host source whose reading fails, as psutil can on exotic systems."""

    closed = False

    def read(self, time_ns: int) -> dict:
        raise OSError("no /proc here")

    def close(self) -> None:
        self.closed = True


def test_a_failing_host_source_is_closed_when_sampling_stops(tmp_path):
    notes: list[str] = []
    sampler = Sampler(tmp_path / "metrics.jsonl", {}, device="off", note=notes.append)
    failing = _FailingHost()
    sampler.host = failing
    sampler.sample_once(T0)
    assert sampler.host is None and failing.closed
    assert notes == ["host sampling stopped (OSError: no /proc here)"]


class _KernelsWhoseAnnotationFails:
    """A kernel profiler that opens a window for every span, then fails to annotate it."""

    def __init__(self) -> None:
        self.open = 0
        self.window_open = False

    def selects(self, name: str, is_llm: bool) -> bool:
        return True

    def open_selected(self, start_ns: int) -> None:
        self.open += 1
        self.window_open = True

    def annotate(self, span_id: str, name: str) -> None:
        raise RuntimeError("record_function unavailable")

    def close_selected(self, end_ns: int) -> None:
        self.open -= 1
        self.window_open = self.open > 0

    def close(self, end_ns: int) -> None:
        return None


def test_a_window_opened_for_a_span_closes_with_it_even_when_its_start_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(sampler_module, "_noted", set())
    exporter = InMemorySpanExporter()
    config = ProfileConfig(mode="device", host_sampling=False, device_sampling="off", memory=False)
    processor = wrap_processor(SimpleSpanProcessor(exporter), tmp_path, "device", {}, config=config)
    kernels = processor.kernels = _KernelsWhoseAnnotationFails()
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with provider.get_tracer("test").start_as_current_span("chat m"):
        pass
    assert kernels.open == 0 and not kernels.window_open
    provider.shutdown()
    assert [span.name for span in exporter.get_finished_spans()] == ["chat m"]
