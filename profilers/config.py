"""Profiling switches: what each `profile=` mode turns on, and the knobs read from the environment.

The tracer resolves ``setup(profile=...)`` against ``ROOTSPAN_PROFILE`` and passes the mode here;
everything else (sampling interval, which spans get a kernel profile, allocator snapshots) is a
field of ``ProfileConfig`` with an environment override, so ``rootspan record`` can set it
without code changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from rootspan.errors import UserError

MODES = ("auto", "off", "device", "kernels", "full", "sample")
SAMPLE_LLM_CALLS = 1  # "sample" mode: kernel profiles of the first this many LLM calls of each agent

ENV_INTERVAL_MS = "ROOTSPAN_SAMPLE_INTERVAL_MS"
ENV_PROFILE_EVERY = "ROOTSPAN_PROFILE_EVERY"
ENV_PROFILE_SPANS = "ROOTSPAN_PROFILE_SPANS"
ENV_OOM_SNAPSHOT = "ROOTSPAN_OOM_SNAPSHOT"
ENV_PROFILE_FLOPS = "ROOTSPAN_PROFILE_FLOPS"
ENV_PROFILE_FIRST = "ROOTSPAN_PROFILE_FIRST"


@dataclass(frozen=True)
class ProfileConfig:
    """What the profilers do for one run.

    host_sampling: psutil process/system CPU and RSS samples (every mode but off).
    device_sampling: NVML samples; "required" means a missing GPU is worth a note, "auto" probes quietly.
    kernels: torch.profiler windows around selected spans.
    memory: torch.cuda memory stats per span (only ever when torch is imported and CUDA initialised).
    """

    mode: str = "auto"
    host_sampling: bool = True
    device_sampling: str = "auto"  # "off" | "auto" | "required"
    kernels: bool = False
    memory: bool = True
    interval_s: float = 0.1
    flush_interval_s: float = 5.0
    profile_every: int = 1  # every Nth LLM call opens a kernel window; 0 = none
    profile_spans: tuple[str, ...] = field(default_factory=tuple)  # fnmatch patterns on span names
    profile_first: int = 0  # only the first N LLM calls of each agent may open a window; 0 = all
    oom_snapshot: bool = False
    flops: bool = False  # torch.profiler with_flops (records input shapes: bigger, slower windows)


def _env_int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise UserError(f"{name}={raw!r}: expected an integer") from exc
    if value < minimum:
        raise UserError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def config_for_mode(mode: str, env: Mapping[str, str] | None = None) -> ProfileConfig:
    """Mode name (+ environment knobs) -> ProfileConfig; an unknown mode is a UserError.

    auto:    host sampling; NVML sampling if NVML and a GPU answer (silently skipped otherwise);
             per-span CUDA memory if the app initialised CUDA; no kernel profile.
    off:     nothing.
    device:  auto, but a missing NVML/GPU is reported (once, on stderr).
    kernels: host sampling + kernel/op profile without FLOPs (+ CUDA memory); no NVML sampler,
             so its cost can be measured on its own.
    full:    everything: device + kernels with FLOPs.
    sample:  auto, plus kernel/op profiles (no FLOPs) of only the first LLM call of each agent
             (ROOTSPAN_PROFILE_FIRST=N: the first N of each): profiles next to spans at a small
             cost, the demo's default.

    ROOTSPAN_PROFILE_FIRST=N limits the kernels and full modes the same way (0: no limit).
    """
    env = os.environ if env is None else env
    mode = (mode or "auto").strip().lower()
    if mode not in MODES:
        raise UserError(f"profile mode {mode!r}: expected one of {', '.join(MODES)}")
    interval_ms = _env_int(env, ENV_INTERVAL_MS, 100, 1)
    every = _env_int(env, ENV_PROFILE_EVERY, 1, 0)
    patterns = tuple(p.strip() for p in env.get(ENV_PROFILE_SPANS, "").split(",") if p.strip())
    first = _env_int(env, ENV_PROFILE_FIRST, SAMPLE_LLM_CALLS if mode == "sample" else 0, 0)
    snapshot = env.get(ENV_OOM_SNAPSHOT, "").strip().lower() in ("1", "true", "yes", "on")
    # FLOPs make torch record every op's input shapes: windows get several times more expensive,
    # so "kernels" leaves them out and "full" (everything) keeps them; the variable overrides both.
    raw_flops = env.get(ENV_PROFILE_FLOPS, "").strip().lower()
    flops = (mode == "full") if raw_flops == "" else raw_flops not in ("0", "false", "no", "off")
    common = dict(mode=mode, interval_s=interval_ms / 1000.0, profile_every=every, profile_spans=patterns,
                  oom_snapshot=snapshot, flops=flops, profile_first=first)
    if mode == "off":
        return ProfileConfig(host_sampling=False, device_sampling="off", kernels=False, memory=False, **common)
    if mode == "auto":
        return ProfileConfig(device_sampling="auto", kernels=False, **common)
    if mode == "device":
        return ProfileConfig(device_sampling="required", kernels=False, **common)
    if mode == "kernels":
        return ProfileConfig(device_sampling="off", kernels=True, **common)
    if mode == "sample":
        return ProfileConfig(device_sampling="auto", kernels=True, **common)
    return ProfileConfig(device_sampling="required", kernels=True, **common)
