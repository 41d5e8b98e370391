"""How often the report gate cries wolf on noise, and how often it catches a real regression.

Each scenario compares many seeded pairs of synthetic run sets (synthetic.py) through the full
comparison (alignment, per-trace measures, every check, Holm, minimum effects) and counts the
reports whose verdict is "regression". Noise-only scenarios give the false-alarm rate, fault
scenarios the detection rate. Run: ``rootspan bench report --json`` (figures in
docs/benchmarks.md).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from rootspan.attribution.report.compare import REGRESSION, compare_runs
from rootspan.attribution.report.config import ReportConfig
from rootspan.attribution.report.synthetic import Shape, synthetic_run

SLOW_TOOL = "execute_tool search"
SLOW_STEP_ID = "step:researcher/execute_tool search/1"


def gate_rate(
    seeds: int, runs: int, base: Shape, cand: Shape, config: ReportConfig, check_id: str | None = None
) -> dict[str, Any]:
    """Share of seeds whose report regresses (on ``check_id`` when given, on anything otherwise)."""
    flagged = 0
    flagged_checks: dict[str, int] = {}
    for seed in range(seeds):
        baseline = synthetic_run(2 * seed, runs, base, name="baseline")
        candidate = synthetic_run(2 * seed + 1, runs, cand, name="candidate")
        report = compare_runs([baseline], [candidate], config, attribute=None, align=None)
        ids = [check.id for check in report.checks if check.status == REGRESSION]
        for check in ids:
            flagged_checks[check] = flagged_checks.get(check, 0) + 1
        if (check_id in ids) if check_id is not None else bool(ids):
            flagged += 1
    return {"seeds": seeds, "runs_per_side": runs, "flagged": flagged, "rate": flagged / seeds, "flagged_checks": flagged_checks}


SMALL_N = (1, 2, 3, 5, 10)


def power_by_repeats(seeds: int = 200, ns: tuple[int, ...] = SMALL_N) -> dict[str, Any]:
    """False alarms and power of the gate at CI sample sizes (runs per side = traces per side).

    Power: a 2x slower search step in every candidate repeat, flagged on that step, at +-25%
    (sigma 0.25) and +-10% (sigma 0.1) run-to-run noise. False alarms: any regression at all on
    noise alone, at both noise levels.
    """
    config = ReportConfig(bootstrap=0)
    rows: list[dict[str, Any]] = []
    for n in ns:
        row: dict[str, Any] = {"runs_per_side": n}
        for sigma in (0.25, 0.1):
            base = Shape(sigma=sigma)
            slow = Shape(sigma=sigma, slow={SLOW_TOOL: 2.0})
            row[f"false_alarm_sigma{sigma:g}"] = gate_rate(seeds, n, base, base, config)["rate"]
            row[f"power_x2_sigma{sigma:g}"] = gate_rate(seeds, n, base, slow, config, SLOW_STEP_ID)["rate"]
        rows.append(row)
    return {"seeds": seeds, "slowdown": 2.0, "step": SLOW_STEP_ID, "rows": rows}


def run_benchmark(seeds: int = 200, runs: int = 10) -> dict[str, Any]:
    """Every scenario; bootstrap intervals are off because they never change a verdict."""
    config = ReportConfig(bootstrap=0)
    naive = replace(config, correction="none", latency_ratio=1.0, latency_min_ms=0.0, success_drop_points=0.0,
                    rate_rise_points=0.0, resource_ratio=1.0)
    noisy = Shape(sigma=0.5, fail_rate=0.1, error_rate=0.05)
    scenarios: dict[str, tuple[Shape, Shape, ReportConfig, str | None]] = {
        "noise_sigma0.25": (Shape(), Shape(), config, None),
        "noise_sigma0.5_failures10pct_errors5pct": (noisy, noisy, config, None),
        "noise_sigma0.25_no_holm_no_min_effect": (Shape(), Shape(), naive, None),
        "tool_slow_x2_detected_on_its_step": (Shape(), Shape(slow={SLOW_TOOL: 2.0}), config, SLOW_STEP_ID),
        "tool_slow_x1.5_detected_on_its_step": (Shape(), Shape(slow={SLOW_TOOL: 1.5}), config, SLOW_STEP_ID),
        "agent_fault_detected_as_success_drop": (Shape(), Shape(fail_agent="researcher"), config, "success_rate"),
        "agent_fault_in_40pct_of_traces_detected": (Shape(), Shape(fail_rate=0.4), config, "success_rate"),
    }
    results: dict[str, Any] = {}
    started = time.perf_counter()
    for name, (base, cand, scenario_config, check_id) in scenarios.items():
        results[name] = gate_rate(seeds, runs, base, cand, scenario_config, check_id)
    return {
        "seeds": seeds,
        "runs_per_side": runs,
        "config": {"alpha": config.alpha, "correction": config.correction, "latency_ratio": config.latency_ratio,
                   "latency_min_ms": config.latency_min_ms, "success_drop_points": config.success_drop_points},
        "scenarios": results,
        "seconds": round(time.perf_counter() - started, 2),
    }
