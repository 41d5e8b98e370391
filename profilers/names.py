"""Metric and span-attribute names the profilers write, spelled once.

Metric names follow the OpenTelemetry hardware/process/system semantic conventions where a name
exists (``hw.gpu.utilization``, ``hw.power``, ``process.cpu.utilization``...); NVML figures that
OTel has no name for live under ``rootspan.gpu.*``. Span attributes are the CONTRACTS.md
"Profile attributes" list. Ratios are fractions in [0, 1] everywhere (OTel's unit "1").
"""

from rootspan import semconv as sc

# metrics.jsonl series (one per GPU, attribute hw.id = "gpu<index>")
HW_GPU_UTILIZATION = "hw.gpu.utilization"
GPU_MEMCTL_UTILIZATION = "rootspan.gpu.memory_controller.utilization"
HW_GPU_MEMORY_USAGE = "hw.gpu.memory.usage"
HW_GPU_MEMORY_LIMIT = "hw.gpu.memory.limit"
HW_POWER = "hw.power"
HW_ENERGY = "hw.energy"
HW_TEMPERATURE = "hw.temperature"
GPU_CLOCK_SM = "rootspan.gpu.clock.sm"
GPU_CLOCK_MEMORY = "rootspan.gpu.clock.memory"
GPU_CLOCK_EVENT_REASONS = "rootspan.gpu.clock_event_reasons"
GPU_SM_OCCUPANCY = "rootspan.gpu.sm_occupancy"
GPU_TENSOR_UTILIZATION = "rootspan.gpu.tensor.utilization"
GPU_DRAM_BW_UTILIZATION = "rootspan.gpu.dram_bandwidth.utilization"
# host series (no attributes: one process, one machine)
PROCESS_CPU_UTILIZATION = "process.cpu.utilization"
PROCESS_MEMORY_USAGE = "process.memory.usage"
SYSTEM_CPU_UTILIZATION = "system.cpu.utilization"

METRIC_UNITS = {
    HW_GPU_UTILIZATION: "1",
    GPU_MEMCTL_UTILIZATION: "1",
    HW_GPU_MEMORY_USAGE: "By",
    HW_GPU_MEMORY_LIMIT: "By",
    HW_POWER: "W",
    HW_ENERGY: "J",
    HW_TEMPERATURE: "Cel",
    GPU_CLOCK_SM: "MHz",
    GPU_CLOCK_MEMORY: "MHz",
    GPU_CLOCK_EVENT_REASONS: "1",
    GPU_SM_OCCUPANCY: "1",
    GPU_TENSOR_UTILIZATION: "1",
    GPU_DRAM_BW_UTILIZATION: "1",
    PROCESS_CPU_UTILIZATION: "1",
    PROCESS_MEMORY_USAGE: "By",
    SYSTEM_CPU_UTILIZATION: "1",
}

# span attributes (CONTRACTS.md "Profile attributes")
GPU_KERNEL_TIME_NS = "rootspan.gpu.kernel_time_ns"
GPU_KERNEL_COUNT = "rootspan.gpu.kernel_count"
GPU_BUSY_FRACTION = "rootspan.gpu.busy_fraction"
GPU_IDLE_GAP_NS = "rootspan.gpu.idle_gap_ns"
GPU_LAUNCH_OVERHEAD_NS = "rootspan.gpu.launch_overhead_ns"
GPU_SYNC_COUNT = "rootspan.gpu.sync_count"
GPU_TOP_KERNELS = "rootspan.gpu.top_kernels"
GPU_ACHIEVED_FLOPS = "rootspan.gpu.achieved_flops"
GPU_ACHIEVED_BYTES_PER_S = "rootspan.gpu.achieved_bytes_per_s"
GPU_MEM_PEAK_ALLOCATED = "rootspan.gpu.mem.peak_allocated_bytes"
GPU_MEM_PEAK_RESERVED = "rootspan.gpu.mem.peak_reserved_bytes"
GPU_MEM_DELTA = "rootspan.gpu.mem.delta_bytes"
GPU_MEM_TOTAL = "rootspan.gpu.mem.total_bytes"
GPU_MEM_ALLOCATED_AT_END = "rootspan.gpu.mem.allocated_bytes"
GPU_MEM_RESERVED_AT_END = "rootspan.gpu.mem.reserved_bytes"
GPU_MEM_SNAPSHOT = "rootspan.gpu.mem.snapshot_file"
GPU_MEM_REQUESTED = "rootspan.gpu.mem.requested_bytes"
GPU_UTIL_MEAN = "rootspan.gpu.util.mean"
GPU_UTIL_MAX = "rootspan.gpu.util.max"
GPU_MEM_UTIL_MEAN = "rootspan.gpu.mem_util.mean"
GPU_POWER_MEAN_W = "rootspan.gpu.power.mean_w"
GPU_POWER_MAX_W = "rootspan.gpu.power.max_w"
GPU_ENERGY_J = "rootspan.gpu.energy_j"
GPU_THROTTLE_REASONS = "rootspan.gpu.throttle_reasons"
GPU_SM_CLOCK_MEAN_MHZ = "rootspan.gpu.sm_clock.mean_mhz"
GPU_TEMPERATURE_MAX_C = "rootspan.gpu.temperature.max_c"
GPU_DRAM_BW_UTIL_MEAN = "rootspan.gpu.dram_bw_util.mean"
GPU_SM_OCCUPANCY_MEAN = "rootspan.gpu.sm_occupancy.mean"
GPU_TENSOR_UTIL_MEAN = "rootspan.gpu.tensor_util.mean"
GPU_MOE_IMBALANCE_MAX = "rootspan.gpu.moe.imbalance_max"
GPU_MOE_IMBALANCE_MEAN = "rootspan.gpu.moe.imbalance_mean"
GPU_MOE_TOKENS_PER_EXPERT = "rootspan.gpu.moe.tokens_per_expert"
GPU_KV_CACHE_BYTES = "rootspan.gpu.kv_cache_bytes"
GPU_MTP_ACCEPTANCE = "rootspan.gpu.mtp.acceptance"
GPU_OOM = "rootspan.gpu.oom"
GPU_DEVICE_NAME = "rootspan.gpu.device_name"
GPU_PEAK_BANDWIDTH = "rootspan.gpu.peak_bandwidth_bytes_per_s"
GPU_PEAK_FLOPS = "rootspan.gpu.peak_flops"

CPU_TIME_NS = "rootspan.cpu.time_ns"
CPU_UTILIZATION = "rootspan.cpu.utilization"
CPU_OP_TIME_NS = "rootspan.cpu.op_time_ns"
CPU_OP_COUNT = "rootspan.cpu.op_count"
CPU_TOP_OPS = "rootspan.cpu.top_ops"
CPU_ACHIEVED_FLOPS = "rootspan.cpu.achieved_flops"
CPU_RSS_PEAK = "rootspan.cpu.rss_peak_bytes"
CPU_SYSTEM_UTILIZATION = "rootspan.cpu.system_utilization"
CPU_SYNC_WAIT_NS = "rootspan.cpu.sync_wait_ns"
PROFILE_COVERAGE = sc.ROOTSPAN_PROFILE_COVERAGE

# kernel trace annotations: record_function names are "<prefix><16 hex span id> <span name>"
ANNOTATION_PREFIX = "rootspan:"
