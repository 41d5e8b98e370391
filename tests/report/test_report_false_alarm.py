"""Over many seeds of noise-only differences the gate rarely cries wolf (under 5% of reports).

Latencies are seeded lognormal draws, so the figures are the same on every machine: the test
measures the statistics, never the speed of this box. docs/benchmarks.md has the full table.
"""

from __future__ import annotations

from rootspan.attribution.report.bench import SLOW_STEP_ID, gate_rate
from rootspan.attribution.report.config import ReportConfig
from rootspan.attribution.report.synthetic import Shape

CONFIG = ReportConfig(bootstrap=0)


def test_false_alarm_rate_under_5_percent_over_200_seeds() -> None:
    result = gate_rate(200, 10, Shape(), Shape(), CONFIG)
    assert result["rate"] < 0.05, result


def test_false_alarm_rate_with_heavy_noise_and_background_failures() -> None:
    noisy = Shape(sigma=0.5, fail_rate=0.1, error_rate=0.05)
    result = gate_rate(200, 10, noisy, noisy, CONFIG)
    assert result["rate"] < 0.05, result


def test_without_correction_and_minimum_effect_the_gate_would_cry_wolf() -> None:
    """The control: the same noise through a naive gate flags far more reports."""
    naive = ReportConfig(bootstrap=0, correction="none", latency_ratio=1.0, latency_min_ms=0.0, resource_ratio=1.0)
    assert gate_rate(100, 10, Shape(), Shape(), naive)["rate"] > 0.10


def test_a_doubled_tool_is_still_caught_on_its_step() -> None:
    result = gate_rate(50, 10, Shape(), Shape(slow={"execute_tool search": 2.0}), CONFIG, SLOW_STEP_ID)
    assert result["rate"] >= 0.95, result
