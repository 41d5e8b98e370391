"""Why a stretch of the critical path took its time: one ``bound_by`` value from span kind and profile.

The rules read the ``rootspan.gpu.*`` / ``rootspan.cpu.*`` aggregates the profilers put on spans
(CONTRACTS.md, "Profile attributes") and fall back to the span's kind when a span has no profile.
They run in a fixed order, hardware pathologies first (memory pressure, throttling, expert
imbalance, contention, host syncs, launch overhead), then the roofline (compute vs bandwidth),
then what the span is (a remote LLM call, a local prefill or decode, a tool). Each rule says why
in an evidence sentence with the numbers it used. docs/slowdown.md lists the rules.

Profiles are inclusive: a parent's kernel time includes its children's. A parent's own stretches
of the critical path are classified from its *own* profile, the additive counters minus its
children's (``own_profile``), so an agent's bookkeeping between two LLM calls is not called
GPU-bound because the LLM calls were.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from rootspan import semconv as sc
from rootspan.model import Span, SpanKind
from rootspan.text import format_duration, printable, shorten

# --- thresholds (each with the reason for its value) -------------------------------------------

# Device busy fraction at or above which the device's own speed sets the time. Below
# GPU_BUSY_LOW the host is the limit: ANCHORS.md measured HF decode at 10% busy, launch-bound.
GPU_BUSY_HIGH = 0.5
GPU_BUSY_LOW = 0.3
# Achieved / peak at which a kernel mix counts as at the roofline. A dense bf16 matmul reached
# 765 TFLOP/s on the H100 (ANCHORS.md, ~77% of peak) and real models rarely pass 60%, so 40% of
# peak FLOPs is "compute-bound"; HBM copies reach 3.0 of ~3.35 TB/s, so 50% of peak bandwidth is
# "bandwidth-bound".
NEAR_PEAK_FLOPS = 0.4
NEAR_PEAK_BANDWIDTH = 0.5
# NVML/GPM utilisations (fractions) that stand in for the roofline when achieved figures are absent.
DRAM_BW_UTIL_HIGH = 0.6
TENSOR_UTIL_HIGH = 0.5
# A launch costs ~5-10 µs of host time; kernels shorter than 20 µs on average cannot hide it.
SHORT_KERNEL_NS = 20_000
# Share of the span's time spent launching kernels that makes launch overhead the cause.
LAUNCH_OVERHEAD_FRACTION = 0.3
# Too few kernels to say anything about launch behaviour.
MIN_KERNELS = 50
# Host time blocked in device syncs: a fifth of the span is a sync problem, not noise.
SYNC_WAIT_FRACTION = 0.2
# Without sync timing: more than one sync per 5 kernels drains the launch queue over and over
# (HF decode does ~130 per 2,251 kernels, ANCHORS.md, and is already called host-bound there).
SYNCS_PER_KERNEL = 0.2
MIN_SYNCS = 10
# Device utilisation (NVML, all processes) this high while our own busy fraction is below
# GPU_BUSY_LOW means another process holds the GPU.
GPU_CONTENTION_UTIL = 0.7
# Memory reserved at or above this fraction of the device leaves the allocator no room:
# allocation retries, cache flushes, then OOM.
MEMORY_PRESSURE_FRACTION = 0.95
# Peer rules need this many LLM calls in the trace: a median of one or two says nothing typical.
MIN_PEER_CALLS = 3
# A call with this many times the typical call's syncs per kernel drains the queue that much more
# often (the host-sync fault adds one sync per decoder layer).
HOST_SYNC_PEER_RATIO = 3.0
# Without a kernel profile (NVML only), a call whose device utilisation is this far above the
# typical call's shares the GPU with someone else...
GPU_CONTENTION_EXCESS = 0.3
# ...and one at half the typical utilisation or less while the host is busy is launch-bound.
LAUNCH_UTIL_PEER_RATIO = 0.5
# max/mean tokens per expert; uniform routing sits near 1-2 once a few hundred tokens are routed,
# and a skew onto a handful of experts reaches n_experts/top_k (~10 for 64 experts, top-6).
MOE_IMBALANCE_MAX = 3.0
# A small or specialised router can sit above that in every call; then only a call this many
# times above the trace's typical (median) imbalance is skewed.
MOE_IMBALANCE_PEER_RATIO = 1.5
# CPU is measured in cores used (process CPU time / wall time), not as the profilers'
# ``rootspan.cpu.utilization`` (divided by every core of the machine), so a single-threaded step
# reads the same on a 2-core laptop and a 64-core server. 0.6 of a core or more: computing.
CPU_BUSY_CORES = 0.6
# Under 0.2 of a core during a span's own time: the process was waiting, not computing.
CPU_IDLE_CORES = 0.2
# Whole-machine CPU this busy while our process holds at most CPU_CONTENTION_OWN of the machine
# (and is not idle): other processes take the cores (the cpu-contention fault).
CPU_CONTENTION_SYSTEM = 0.85
CPU_CONTENTION_OWN = 0.5
# On a machine that is always busy every call would read "contention"; an LLM call that got at
# most half the CPU of the trace's typical LLM call is the one contention actually slowed.
STARVED_RATIO = 0.5
# Without time-to-first-token: prefill processes prompt tokens in parallel, decode one at a time.
# A prompt token costs about 1/20 of an output token even on CPU (more like 1/1000 on a GPU,
# ANCHORS.md: 29.6k prefill vs 21 decode tok/s), so a call is prefill-bound only when its prompt
# is more than 20x its output.
PREFILL_TOKEN_COST = 1 / 20

# Clock-event reasons that are not a slowdown: idle clocks, application clock settings, and the
# software power cap, which NVML reports under any heavy load (ANCHORS.md: SwPowerCap at 425-635 W).
BENIGN_THROTTLE_REASONS = frozenset(
    {"gpu_idle", "idle", "none", "applications_clocks_setting", "sw_power_cap", "display_clock_setting", "sync_boost"}
)

# Providers whose model runs inside the traced process (the profilers see its kernels/ops).
# rootspan.serve.phase values (rootspan serve's spans) -> the bound_by they stand for.
SERVE_PHASES = {"queue": "queueing", "prefill": "llm_prefill", "decode": "llm_decode"}
LOCAL_PROVIDERS = frozenset({"rootspan-moe", "rootspan", "transformers", "huggingface", "hf", "llama_cpp", "local"})

# Time to first token, in seconds, under the names instrumentations use for it.
TTFT_ATTRIBUTES = (
    "gen_ai.response.time_to_first_token",
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.server.time_to_first_token",
)

BOUND_BY_VALUES = (
    "llm_remote_latency",
    "llm_prefill",
    "llm_decode",
    "gpu_compute",
    "gpu_memory_bandwidth",
    "gpu_launch_overhead",
    "host_sync",
    "gpu_throttled",
    "moe_imbalance",
    "gpu_memory_pressure",
    "tool_io",
    "queueing",
    "cpu",
)
# Causes that are pathologies rather than the work itself: worth fixing wherever they appear.
ANOMALIES = frozenset(
    {"gpu_launch_overhead", "host_sync", "gpu_throttled", "moe_imbalance", "gpu_memory_pressure", "queueing"}
)

_GPU = sc.ROOTSPAN_GPU_PREFIX
_CPU = sc.ROOTSPAN_CPU_PREFIX
# Counters that add up over time, so a parent's own share is its value minus its children's.
ADDITIVE = (
    _GPU + "kernel_time_ns",
    _GPU + "kernel_count",
    _GPU + "launch_overhead_ns",
    _GPU + "sync_count",
    _CPU + "time_ns",
    _CPU + "op_time_ns",
    _CPU + "op_count",
    _CPU + "sync_wait_ns",
)
# Aggregates that describe the whole span including its children; not meaningful for a parent's own time.
CHILD_DOMINATED = (
    _GPU + "busy_fraction",
    _GPU + "moe.imbalance_max",
    _GPU + "mem.peak_allocated_bytes",
    _GPU + "mem.peak_reserved_bytes",
    _GPU + "oom",
    _GPU + "achieved_flops",
    _GPU + "achieved_bytes_per_s",
    _GPU + "top_kernels",
    _CPU + "utilization",
)


@dataclass(frozen=True, slots=True)
class Norms:
    """What a typical LLM call of this trace looks like (medians), for rules that compare a call
    with its peers: they must not fire on every call alike, and they stand in for kernel data
    when only device sampling (NVML) ran."""

    moe_imbalance: float | None = None
    gpu_util: float | None = None
    syncs_per_kernel: float | None = None
    cpu_cores: float | None = None


def _median(values: list[float]) -> float | None:
    if len(values) < MIN_PEER_CALLS:
        return None
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def trace_norms(spans: Iterable[Span]) -> Norms:
    imbalance: list[float] = []
    util: list[float] = []
    syncs_per_kernel: list[float] = []
    cores: list[float] = []
    for span in spans:
        if span.kind != SpanKind.LLM:
            continue
        profile = Profile(span.attributes, span.duration_ns)  # read-only: no need to copy the profile keys out
        if (value := moe_imbalance(profile)) is not None:
            imbalance.append(value)
        if (value := profile.cores_used()) is not None:
            cores.append(value)
        if (value := profile.fraction(_GPU + "util.mean")) is not None:
            util.append(value)
        syncs, kernels = profile.number(_GPU + "sync_count"), profile.number(_GPU + "kernel_count")
        if syncs is not None and kernels:
            syncs_per_kernel.append(syncs / kernels)
    return Norms(_median(imbalance), _median(util), _median(syncs_per_kernel), _median(cores))


def moe_imbalance(profile: Profile) -> float | None:
    """Expert imbalance (max/mean tokens per expert) averaged over layers, else the worst layer.

    The mean over layers separates a routing skew from a small call's noise better than the
    worst layer: a skewed router overloads the same expert in every layer, while a call of a few
    dozen tokens overloads some expert in some layer by chance (measured on the demo model: 8.0
    mean for the skewed call, 3.0-4.6 for the others, whose worst layers reached 5.7).
    """
    mean = profile.number(_GPU + "moe.imbalance_mean")
    return mean if mean is not None else profile.number(_GPU + "moe.imbalance_max")


@dataclass(slots=True)
class Classification:
    bound_by: str
    evidence: list[str] = field(default_factory=list)


def as_number(value: Any) -> float | None:
    """An attribute value as a finite float; anything else (text, bools, NaN, infinities) is absent."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


@dataclass(slots=True)
class Profile:
    """The profile attributes that apply to a stretch of a span, and that stretch's wall time."""

    attributes: dict[str, Any]
    wall_ns: int

    def number(self, name: str) -> float | None:
        return as_number(self.attributes.get(name))

    def fraction(self, name: str) -> float | None:
        """A utilisation as a fraction; profilers that report percent (0-100) are scaled down."""
        value = self.number(name)
        if value is None:
            return None
        return value / 100 if value > 1.0 else value

    def busy_fraction(self) -> float | None:
        busy = self.fraction(_GPU + "busy_fraction")
        if busy is not None:
            return busy
        kernel_ns = self.number(_GPU + "kernel_time_ns")
        if kernel_ns is not None and self.wall_ns > 0:
            return min(1.0, kernel_ns / self.wall_ns)
        return None

    def cores_used(self) -> float | None:
        """Process CPU time over wall time: 1.0 = one core busy throughout."""
        cpu_ns = self.number(_CPU + "time_ns")
        if cpu_ns is None or self.wall_ns <= 0:
            return None
        return cpu_ns / self.wall_ns

    @property
    def has_gpu(self) -> bool:
        kernels = self.number(_GPU + "kernel_count")
        kernel_ns = self.number(_GPU + "kernel_time_ns")
        return bool(kernels) or bool(kernel_ns) or self.fraction(_GPU + "busy_fraction") is not None


def span_profile(span: Span) -> Profile:
    """A span's inclusive profile over its whole duration."""
    return Profile({k: v for k, v in span.attributes.items() if k.startswith(("rootspan.gpu.", "rootspan.cpu."))}, span.duration_ns)


def own_profile(span: Span, children: list[Span], own_wall_ns: int) -> Profile:
    """A parent's profile over its own time: additive counters minus its children's.

    If the children's counters add up to more than the parent's, the profiler recorded them
    exclusively already and the parent's values are kept as they are.
    """
    profile = span_profile(span)
    if not children:
        return profile
    attributes = {k: v for k, v in profile.attributes.items() if k not in CHILD_DOMINATED}
    for name in ADDITIVE:
        total = profile.number(name)
        if total is None:
            continue
        in_children = 0.0
        for child in children:
            in_children += as_number(child.attributes.get(name)) or 0.0
        if in_children <= total:
            attributes[name] = total - in_children
    # The process's share of the machine over the own time, from the machine's core count that
    # the inclusive figures imply (utilization = cpu time / wall / cores).
    cpu_ns, share = profile.number(_CPU + "time_ns"), profile.fraction(_CPU + "utilization")
    own_cpu_ns = as_number(attributes.get(_CPU + "time_ns"))
    if cpu_ns and share and span.duration_ns > 0 and own_wall_ns > 0 and own_cpu_ns is not None:
        machine_cores = cpu_ns / span.duration_ns / share
        attributes[_CPU + "utilization"] = own_cpu_ns / own_wall_ns / machine_cores
    return Profile(attributes, own_wall_ns)


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _label(span: Span) -> str:
    return printable(shorten(span.name or span.span_id, 60))


def _throttle_reasons(profile: Profile) -> list[str]:
    value = profile.attributes.get(_GPU + "throttle_reasons")
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = [part.strip() for part in value.split(",")]
        value = parsed
    if not isinstance(value, (list, tuple)):
        return []
    return [str(reason).strip().lower() for reason in value if str(reason).strip()]


def _is_oom(span: Span, profile: Profile) -> bool:
    if profile.attributes.get(_GPU + "oom") is True:
        return True
    for event in span.exception_events:
        text = f"{event.attributes.get('exception.type', '')} {event.attributes.get('exception.message', '')}"
        if "OutOfMemory" in text or "out of memory" in text.lower():
            return True
    return False


def is_local_llm(span: Span) -> bool:
    """An LLM call whose model runs in the traced process (we have its profile or know the provider)."""
    provider = span.attributes.get(sc.GEN_AI_PROVIDER_NAME) or span.attributes.get(sc.GEN_AI_SYSTEM_DEPRECATED)
    if isinstance(provider, str) and provider.lower() in LOCAL_PROVIDERS:
        return True
    profile = span_profile(span)
    return profile.has_gpu or bool(profile.number(_CPU + "op_count"))


def _tokens(span: Span, name: str) -> int | None:
    value = as_number(span.attributes.get(name))
    return int(value) if value is not None and value >= 0 else None


def time_to_first_token_ns(span: Span) -> int | None:
    for name in TTFT_ATTRIBUTES:
        value = as_number(span.attributes.get(name))
        if value is not None and value >= 0:
            return int(value * 1e9)
    return None


def _llm_phase(span: Span) -> Classification:
    """llm_prefill or llm_decode for a local LLM call, from TTFT or else from token counts."""
    label = _label(span)
    duration = span.duration_ns
    input_tokens = _tokens(span, sc.GEN_AI_USAGE_INPUT_TOKENS)
    output_tokens = _tokens(span, sc.GEN_AI_USAGE_OUTPUT_TOKENS)
    ttft = time_to_first_token_ns(span)
    if ttft is not None and duration > 0:
        ttft = min(ttft, duration)
        decode = duration - ttft
        phase = "llm_prefill" if ttft > decode else "llm_decode"
        sentence = f"{label}: prefill (time to first token) {format_duration(ttft)}, decode {format_duration(decode)}"
        if output_tokens and decode > 0 and output_tokens > 1:
            sentence += f" ({(output_tokens - 1) / (decode / 1e9):.1f} tok/s)"
        return Classification(phase, [sentence])
    if input_tokens is not None and output_tokens is not None:
        prefill_weight = input_tokens * PREFILL_TOKEN_COST
        phase = "llm_prefill" if output_tokens <= 1 or prefill_weight > output_tokens else "llm_decode"
        sentence = f"{label}: {input_tokens} prompt tokens, {output_tokens} output tokens in {format_duration(duration)}"
        if phase == "llm_decode" and duration > 0:
            sentence += f" ({output_tokens / (duration / 1e9):.1f} tok/s)"
        return Classification(phase, [sentence + f"; {'prefill' if phase == 'llm_prefill' else 'decode'} dominates"])
    return Classification("llm_decode", [f"{label}: local model call of {format_duration(duration)}, token counts unknown (decode assumed)"])


def _roofline(profile: Profile, label: str, busy: float) -> Classification | None:
    """gpu_compute / gpu_memory_bandwidth when the device is busy and near one of its limits."""
    flops = profile.number(_GPU + "achieved_flops")
    peak_flops = profile.number(_GPU + "peak_flops")
    bandwidth = profile.number(_GPU + "achieved_bytes_per_s")
    peak_bandwidth = profile.number(_GPU + "peak_bandwidth_bytes_per_s")
    flops_ratio = flops / peak_flops if flops is not None and peak_flops else None
    bw_ratio = bandwidth / peak_bandwidth if bandwidth is not None and peak_bandwidth else None
    head = f"{label}: GPU busy {_pct(busy)}"
    if flops_ratio is not None and flops_ratio >= NEAR_PEAK_FLOPS and (bw_ratio is None or flops_ratio / NEAR_PEAK_FLOPS >= bw_ratio / NEAR_PEAK_BANDWIDTH):
        return Classification("gpu_compute", [f"{head}, {flops / 1e12:.1f} TFLOP/s = {_pct(flops_ratio)} of peak (>= {_pct(NEAR_PEAK_FLOPS)})"])
    if bw_ratio is not None and bw_ratio >= NEAR_PEAK_BANDWIDTH:
        return Classification("gpu_memory_bandwidth", [f"{head}, {bandwidth / 1e9:.0f} GB/s = {_pct(bw_ratio)} of peak bandwidth (>= {_pct(NEAR_PEAK_BANDWIDTH)})"])
    dram = profile.fraction(_GPU + "dram_bw_util.mean")
    tensor = profile.fraction(_GPU + "tensor_util.mean")
    if dram is not None and dram >= DRAM_BW_UTIL_HIGH and (tensor is None or dram >= tensor):
        return Classification("gpu_memory_bandwidth", [f"{head}, DRAM bandwidth utilisation {_pct(dram)} (>= {_pct(DRAM_BW_UTIL_HIGH)})"])
    if tensor is not None and tensor >= TENSOR_UTIL_HIGH:
        return Classification("gpu_compute", [f"{head}, tensor-core utilisation {_pct(tensor)} (>= {_pct(TENSOR_UTIL_HIGH)})"])
    return None


def _gpu_pathology(span: Span, profile: Profile, label: str, own: bool, norms: Norms) -> Classification | None:
    """The hardware rules, in order; None when the GPU profile shows nothing wrong."""
    if not own:
        if _is_oom(span, profile):
            return Classification("gpu_memory_pressure", [f"{label}: ran out of GPU memory (OOM recorded on the span)"])
        total = profile.number(_GPU + "mem.total_bytes")
        peak = profile.number(_GPU + "mem.peak_reserved_bytes") or profile.number(_GPU + "mem.peak_allocated_bytes")
        if total and peak is not None and peak / total >= MEMORY_PRESSURE_FRACTION:
            return Classification(
                "gpu_memory_pressure",
                [f"{label}: peak GPU memory {peak / 2**30:.1f} GiB of {total / 2**30:.1f} GiB ({_pct(peak / total)}, >= {_pct(MEMORY_PRESSURE_FRACTION)})"],
            )
    busy = profile.busy_fraction()
    active = profile.has_gpu or (profile.fraction(_GPU + "util.mean") or 0) > 0
    throttles = [r for r in _throttle_reasons(profile) if r not in BENIGN_THROTTLE_REASONS]
    if throttles and active:
        clock = profile.number(_GPU + "sm_clock.mean_mhz")
        clock_text = f", SM clock {clock:.0f} MHz" if clock else ""
        return Classification("gpu_throttled", [f"{label}: GPU clocks held down by {', '.join(throttles)}{clock_text}"])
    imbalance = moe_imbalance(profile)
    typical = norms.moe_imbalance
    limit = max(MOE_IMBALANCE_MAX, MOE_IMBALANCE_PEER_RATIO * typical) if typical is not None else MOE_IMBALANCE_MAX
    if not own and imbalance is not None and imbalance >= limit:
        worst = profile.number(_GPU + "moe.imbalance_max")
        worst_text = f" (worst layer {worst:.1f}x)" if worst is not None and worst > imbalance else ""
        typical_text = f", typical call in this trace {typical:.1f}x" if typical is not None else ""
        return Classification(
            "moe_imbalance",
            [f"{label}: busiest expert got {imbalance:.1f}x the mean expert load{worst_text}{typical_text}: routing skew serialises tokens on a few experts"],
        )
    util = profile.fraction(_GPU + "util.mean")
    typical_util = norms.gpu_util
    if util is not None and util >= GPU_CONTENTION_UTIL:
        if busy is not None and busy <= GPU_BUSY_LOW:
            return Classification(
                "queueing",
                [f"{label}: GPU {_pct(util)} utilised while this span kept it busy only {_pct(busy)}: contention, another process holds the GPU"],
            )
        if busy is None and not own and typical_util is not None and util - typical_util >= GPU_CONTENTION_EXCESS:
            return Classification(
                "queueing",
                [f"{label}: GPU {_pct(util)} utilised against {_pct(typical_util)} in this trace's typical LLM call: contention, someone else is using the GPU (no kernel profile to confirm)"],
            )
    wall = profile.wall_ns
    sync_wait = profile.number(_CPU + "sync_wait_ns")
    syncs = profile.number(_GPU + "sync_count")
    kernels = profile.number(_GPU + "kernel_count")
    if sync_wait is not None and wall > 0 and sync_wait / wall >= SYNC_WAIT_FRACTION:
        count_text = f" in {syncs:.0f} syncs" if syncs else ""
        return Classification(
            "host_sync",
            [f"{label}: host blocked {format_duration(int(sync_wait))}{count_text} waiting on the device ({_pct(sync_wait / wall)} of {format_duration(wall)})"],
        )
    if syncs is not None and kernels and syncs >= MIN_SYNCS:
        rate = syncs / kernels
        typical_rate = norms.syncs_per_kernel
        # Peers first when there are any: CUDA-graph replays hide kernels from the count, so
        # every call of a graph-captured model can read "many syncs per kernel" alike.
        if typical_rate and not own:
            heavy = rate >= HOST_SYNC_PEER_RATIO * typical_rate
        else:
            heavy = rate >= SYNCS_PER_KERNEL
        if heavy:
            typical_text = f", {HOST_SYNC_PEER_RATIO:.0f}x+ the typical call's one per {1 / typical_rate:.0f}" if typical_rate else ""
            return Classification(
                "host_sync",
                [f"{label}: {syncs:.0f} host-device syncs for {kernels:.0f} kernels (one per {kernels / syncs:.1f} kernels{typical_text})"],
            )
    if busy is not None and busy <= GPU_BUSY_LOW and kernels and kernels >= MIN_KERNELS:
        kernel_ns = profile.number(_GPU + "kernel_time_ns")
        launch_ns = profile.number(_GPU + "launch_overhead_ns")
        mean_kernel = kernel_ns / kernels if kernel_ns is not None else None
        short = mean_kernel is not None and mean_kernel <= SHORT_KERNEL_NS
        launch_heavy = launch_ns is not None and wall > 0 and launch_ns / wall >= LAUNCH_OVERHEAD_FRACTION
        if short or launch_heavy:
            detail = f"{kernels:.0f} kernels averaging {format_duration(int(mean_kernel))}" if mean_kernel is not None else f"{kernels:.0f} kernels"
            if launch_heavy:
                detail += f", {format_duration(int(launch_ns))} launching ({_pct(launch_ns / wall)})"
            return Classification(
                "gpu_launch_overhead",
                [f"{label}: GPU busy only {_pct(busy)} of {format_duration(wall)} over {detail}: launch-bound"],
            )
    cores = profile.cores_used()
    if (
        busy is None and not own and span.kind == SpanKind.LLM and util is not None and typical_util
        and util <= GPU_BUSY_LOW and util <= LAUNCH_UTIL_PEER_RATIO * typical_util
        and cores is not None and cores >= CPU_BUSY_CORES
    ):
        return Classification(
            "gpu_launch_overhead",
            [f"{label}: GPU {_pct(util)} utilised against {_pct(typical_util)} in this trace's typical LLM call while the host kept {cores:.2f} cores busy: launch-bound (no kernel profile to confirm)"],
        )
    if busy is not None and busy >= GPU_BUSY_HIGH and not own:
        return _roofline(profile, label, busy)
    return None


def cpu_contention(span: Span, profile: Profile, label: str, norms: Norms = Norms(), own: bool = False) -> Classification | None:
    """``cpu`` with contention evidence when other processes took the cores this span wanted.

    A starved process looks idle (it gets little CPU time), so a local LLM call, which always
    wants CPU, counts however few cores it got; other spans must have been computing at all. On
    a machine that is always busy every call would read "contention"; when the trace has peer LLM
    calls, only a call that got at most STARVED_RATIO of the typical call's CPU was slowed by it.
    """
    system = profile.fraction(_CPU + "system_utilization")
    share = profile.fraction(_CPU + "utilization")
    cores = profile.cores_used()
    llm_call = span.kind == SpanKind.LLM and not own and is_local_llm(span)
    typical = norms.cpu_cores if llm_call else None
    if llm_call and typical and cores is not None and cores <= STARVED_RATIO * typical and (
        system is None or system < CPU_CONTENTION_SYSTEM
    ):
        # A local model call always wants the CPU, and process CPU time counts all our threads:
        # getting half of what its peers got means other processes had the cores, even when the
        # machine-wide samples (every 100 ms) are too coarse to have caught a call this short.
        return Classification("cpu", [
            f"{label}: got {cores:.2f} CPU cores against {typical:.2f} in this trace's typical LLM call "
            "(starved: contention from other processes)"
        ])
    if system is None or system < CPU_CONTENTION_SYSTEM or (share is not None and share > CPU_CONTENTION_OWN):
        return None  # the machine had room, or we are the load
    if not llm_call and (cores is None or cores < CPU_IDLE_CORES):
        return None  # not asking for CPU: waiting on something else
    if typical and cores is not None and cores > STARVED_RATIO * typical:
        return None  # as much CPU as the other calls got: contention is the machine's weather, not this call's cause
    got = f" while this process got {_pct(share)} of it" if share is not None else ""
    if typical and cores is not None:
        got += f" ({cores:.2f} cores against {typical:.2f} in this trace's typical LLM call)"
    return Classification("cpu", [f"{label}: machine CPU {_pct(system)} busy{got}: contention from other processes"])


def classify(span: Span, profile: Profile, own: bool = False, norms: Norms = Norms()) -> Classification:
    """The bound_by of a stretch of ``span``'s time, with evidence.

    ``profile`` covers the stretch (``span_profile`` for a leaf, ``own_profile`` for a parent's
    own time); ``own`` says the stretch is a parent's time outside its children; ``norms`` says
    what is typical in the span's trace (``trace_norms``).
    """
    label = _label(span)
    device = _gpu_pathology(span, profile, label, own, norms)
    if device is not None and device.bound_by in ANOMALIES:
        return device
    contention = cpu_contention(span, profile, label, norms, own)
    if contention is not None:
        return contention
    serve_phase = None if own else SERVE_PHASES.get(str(span.attributes.get(sc.ROOTSPAN_SERVE_PHASE)))
    if serve_phase is not None:
        # A model server's queue wait, prefill or decode of one request (rootspan serve), joined to
        # the client's trace: the phase is the cause unless the device shows something worse.
        if device is not None:
            return device
        what = {"queueing": "waiting for a batch slot", "llm_prefill": "prefill", "llm_decode": "decode"}[serve_phase]
        return Classification(serve_phase, [f"{label}: model server {what}, {format_duration(span.duration_ns)}"])
    if span.kind == SpanKind.LLM and not own:
        if not is_local_llm(span):
            provider = span.attributes.get(sc.GEN_AI_PROVIDER_NAME) or span.attributes.get(sc.GEN_AI_SYSTEM_DEPRECATED)
            where = f" at {printable(provider)}" if isinstance(provider, str) and provider else ""
            return Classification("llm_remote_latency", [f"{label}: {format_duration(span.duration_ns)} waiting on a remote model{where}"])
        # a local call at the roofline is bound by the device; otherwise by its phase
        return device if device is not None else _llm_phase(span)
    if device is not None:
        return device
    cores = profile.cores_used()
    cores_text = f", {cores:.2f} CPU cores busy" if cores is not None else ""
    if span.kind == SpanKind.TOOL and not own:
        if cores is not None and cores >= CPU_BUSY_CORES:
            return Classification("cpu", [f"{label}: tool computing on the host{cores_text}"])
        return Classification("tool_io", [f"{label}: tool call of {format_duration(span.duration_ns)}{cores_text}: waiting on I/O or an external service"])
    where = "own time outside its child spans" if own else "time"
    if cores is not None and cores >= CPU_BUSY_CORES:
        return Classification("cpu", [f"{label}: {where} {format_duration(profile.wall_ns)}{cores_text}"])
    if cores is not None and cores <= CPU_IDLE_CORES and profile.wall_ns > 0:
        return Classification(
            "queueing",
            [f"{label}: {where} {format_duration(profile.wall_ns)} with only {cores:.2f} CPU cores busy: waiting on something untraced"],
        )
    return Classification("cpu", [f"{label}: {where} {format_duration(profile.wall_ns)} in host code{cores_text or ' (no profile to say more)'}"])
