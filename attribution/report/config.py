"""Report thresholds: defaults, the ``[tool.rootspan.report]`` table of pyproject.toml, and flags.

A team tunes how sensitive its gate is once, in the repository's pyproject.toml, and a single CI
job can still override a value with a flag (flags win). Every value is validated here so that a
typo in the table ends as a one-line error (exit 2) instead of a silently ignored setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from rootspan.errors import UserError

TABLE = "[tool.rootspan.report]"


@dataclass(frozen=True)
class Price:
    """Dollars per 1,000 tokens for one model."""

    input: float
    output: float


@dataclass(frozen=True)
class ReportConfig:
    """What counts as a regression. A check regresses only when it is both significant and large."""

    alpha: float = 0.05  # family-wise significance level
    correction: str = "holm"  # "holm" or "none": adjustment for the number of checks
    latency_ratio: float = 1.10  # candidate median / baseline median must reach this ...
    latency_min_ms: float = 50.0  # ... and the medians must differ by at least this many ms
    success_drop_points: float = 5.0  # success rate must fall by at least this many points
    rate_rise_points: float = 5.0  # error / retry / loop rates must rise by at least this many points
    resource_ratio: float = 1.10  # tokens, cost, GPU time and energy: median ratio to reach
    noise_prior_sd: float = 0.25  # prior run-to-run noise of durations, log-sd (0.25: about +-25%) ...
    noise_prior_df: float = 2.0  # ... worth this many degrees of freedom (weak: the data outweighs it)
    steps: bool = True  # also check every aligned LLM/tool step, not only agents and the whole run
    bootstrap: int = 1000  # resamples for the latency-ratio interval shown (0: none)
    seed: int = 0  # bootstrap seed, so a report is reproducible
    prices: Mapping[str, Price] = field(default_factory=dict)  # model -> $ per 1k tokens


_FLOATS = {
    "alpha", "latency_ratio", "latency_min_ms", "success_drop_points", "rate_rise_points", "resource_ratio",
    "noise_prior_sd", "noise_prior_df",
}
_INTS = {"bootstrap", "seed"}
_BOOLS = {"steps"}
_STRINGS = {"correction"}
KEYS = sorted(_FLOATS | _INTS | _BOOLS | _STRINGS | {"prices"})


def _number(key: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def validate(config: ReportConfig, where: str = "report settings") -> ReportConfig:
    """Reject values that would make the gate meaningless (alpha of 2, a ratio below 1, NaN...)."""
    for key in sorted(_FLOATS):
        value = getattr(config, key)
        if not math.isfinite(value):  # NaN passes every comparison below, and disables the check
            raise UserError(f"{where}: {key} must be a finite number, got {value}")
    if not 0.0 < config.alpha < 1.0:
        raise UserError(f"{where}: alpha must be between 0 and 1, got {config.alpha}")
    if config.correction not in ("holm", "none"):
        raise UserError(f"{where}: correction must be 'holm' or 'none', got {config.correction!r}")
    for key in ("latency_ratio", "resource_ratio"):
        if getattr(config, key) < 1.0:
            raise UserError(f"{where}: {key} must be at least 1.0 (a ratio of candidate to baseline), got {getattr(config, key)}")
    if config.latency_min_ms < 0:
        raise UserError(f"{where}: latency_min_ms must not be negative, got {config.latency_min_ms}")
    for key in ("success_drop_points", "rate_rise_points"):
        if not 0.0 <= getattr(config, key) <= 100.0:
            raise UserError(f"{where}: {key} must be between 0 and 100 points, got {getattr(config, key)}")
    if not 0.0 < config.noise_prior_sd <= 5.0:
        raise UserError(f"{where}: noise_prior_sd must be a log-sd above 0 and at most 5, got {config.noise_prior_sd}")
    if not 0.0 < config.noise_prior_df <= 1000.0:
        raise UserError(f"{where}: noise_prior_df must be above 0 and at most 1000, got {config.noise_prior_df}")
    if config.bootstrap < 0 or config.bootstrap > 100_000:
        raise UserError(f"{where}: bootstrap must be between 0 and 100000 resamples, got {config.bootstrap}")
    return config


def _prices(raw: Any, where: str) -> dict[str, Price]:
    if not isinstance(raw, dict):
        raise UserError(f"{where}: prices must be a table of model = {{ input = $/1k, output = $/1k }}")
    prices: dict[str, Price] = {}
    for model, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) - {"input", "output"} or not entry:
            raise UserError(f"{where}: prices.{model} must be {{ input = $/1k tokens, output = $/1k tokens }}")
        values = {key: _number(f"prices.{model}.{key}", entry.get(key, 0.0), where) for key in ("input", "output")}
        if min(values.values()) < 0:
            raise UserError(f"{where}: prices.{model} must not be negative")
        prices[str(model)] = Price(**values)
    return prices


def from_table(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Typed settings from a ``[tool.rootspan.report]`` table; unknown keys are errors."""
    settings: dict[str, Any] = {}
    for key, value in table.items():
        if key in _FLOATS:
            settings[key] = _number(key, value, where)
        elif key in _INTS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise UserError(f"{where}: {key} must be an integer, got {value!r}")
            settings[key] = value
        elif key in _BOOLS:
            if not isinstance(value, bool):
                raise UserError(f"{where}: {key} must be true or false, got {value!r}")
            settings[key] = value
        elif key in _STRINGS:
            if not isinstance(value, str):
                raise UserError(f"{where}: {key} must be a string, got {value!r}")
            settings[key] = value
        elif key == "prices":
            settings[key] = _prices(value, where)
        else:
            raise UserError(f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})")
    return settings


def read_pyproject_table(path: Path) -> dict[str, Any]:
    """The raw ``[tool.rootspan.report]`` table of a pyproject.toml; empty when absent."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError as exc:
            raise UserError(f"{path}: reading pyproject.toml on Python 3.10 needs the 'tomli' package") from exc
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from exc
    table: Any = data.get("tool", {})
    for key in ("rootspan", "report"):
        table = table.get(key, {}) if isinstance(table, dict) else None
    if not isinstance(table, dict):
        raise UserError(f"{path}: {TABLE} must be a table")
    return table


def load_config(pyproject: Path | None = None, overrides: Mapping[str, Any] | None = None) -> ReportConfig:
    """Defaults, then the pyproject table (if the file exists), then flag overrides (None = unset)."""
    config = ReportConfig()
    where = "report settings"
    if pyproject is not None and pyproject.is_file():
        where = f"{pyproject} {TABLE}"
        config = replace(config, **from_table(read_pyproject_table(pyproject), where))
        validate(config, where)
    flags = {key: value for key, value in (overrides or {}).items() if value is not None}
    unknown = set(flags) - {f.name for f in fields(ReportConfig)}
    if unknown:
        raise UserError(f"unknown report settings: {', '.join(sorted(unknown))}")
    if flags:
        config = replace(config, **flags)
        where = "report flags"
    return validate(config, where)
