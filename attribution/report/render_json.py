"""The machine-readable report: verdict, every check with its statistics, failures and notes.

Scripts and dashboards read this instead of scraping the Markdown; keys are stable and numbers
are plain JSON numbers (infinite ratios become null, as JSON has no infinity).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from rootspan.attribution.report.compare import Report
from rootspan.text import escape_json_invisible

SCHEMA_VERSION = 1


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def report_to_dict(report: Report) -> dict[str, Any]:
    config = asdict(report.config)
    config["prices"] = {model: asdict(price) for model, price in report.config.prices.items()}
    return _finite(
        {
            "schema_version": SCHEMA_VERSION,
            "verdict": report.verdict,
            "exit_code": report.exit_code,
            "regressions": [check.id for check in report.regressions],
            "baseline": {"runs": report.baseline_runs, "traces": report.baseline_traces},
            "candidate": {"runs": report.candidate_runs, "traces": report.candidate_traces},
            "config": config,
            "tests": len(report.tested),
            "checks": [check.to_dict() for check in report.checks],
            "failures": [failure.to_dict() for failure in report.failures],
            "categories": report.categories,
            "outliers": report.outliers,
            "notes": report.notes,
        }
    )


def render_json(report: Report) -> str:
    # non-ASCII names stay readable; the invisible and bidi ones among them become \\u escapes
    return escape_json_invisible(json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, allow_nan=False)) + "\n"
