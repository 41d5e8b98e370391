"""Thresholds: defaults, the [tool.rootspan.report] table, flags that win, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rootspan.errors import UserError
from rootspan.attribution.report.config import Price, ReportConfig, load_config


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "app"\n\n' + body, encoding="utf-8")
    return path


def test_defaults_without_a_pyproject(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.toml")
    assert config == ReportConfig()
    assert (config.alpha, config.latency_ratio, config.latency_min_ms, config.success_drop_points) == (0.05, 1.10, 50.0, 5.0)


def test_project_default_table_is_valid() -> None:
    """The table shipped in rootspan's own pyproject.toml loads (documented defaults)."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    config = load_config(pyproject)
    assert config.alpha == ReportConfig().alpha


def test_table_values_then_flags_win(tmp_path: Path) -> None:
    path = _pyproject(
        tmp_path,
        "[tool.rootspan.report]\nalpha = 0.01\nlatency_min_ms = 100\nsteps = false\n"
        '[tool.rootspan.report.prices]\n"gpt-x" = { input = 0.5, output = 1.5 }\n',
    )
    config = load_config(path)
    assert (config.alpha, config.latency_min_ms, config.steps) == (0.01, 100.0, False)
    assert config.prices == {"gpt-x": Price(input=0.5, output=1.5)}
    config = load_config(path, {"alpha": 0.1, "latency_min_ms": None})
    assert (config.alpha, config.latency_min_ms) == (0.1, 100.0)


@pytest.mark.parametrize(
    "body, message",
    [
        ("[tool.rootspan.report]\nalpah = 0.1\n", "unknown key 'alpah'"),
        ("[tool.rootspan.report]\nalpha = 2\n", "alpha must be between 0 and 1"),
        ("[tool.rootspan.report]\nalpha = 'x'\n", "alpha must be a number"),
        ("[tool.rootspan.report]\nlatency_ratio = 0.5\n", "latency_ratio must be at least 1.0"),
        ("[tool.rootspan.report]\nsteps = 1\n", "steps must be true or false"),
        ("[tool.rootspan.report]\ncorrection = 'bonferroni'\n", "correction must be"),
        ("[tool.rootspan.report.prices]\nm = 3\n", "prices.m must be"),
        ("[tool.rootspan.report\nalpha = 0.1\n", "not valid TOML"),
        ("[tool.rootspan]\nreport = 3\n", "must be a table"),
        ("[tool.rootspan.report]\nnoise_prior_sd = 0\n", "noise_prior_sd must be a log-sd above 0"),
        ("[tool.rootspan.report]\nnoise_prior_df = -1\n", "noise_prior_df must be above 0"),
    ],
)
def test_bad_tables_are_one_line_user_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(UserError) as info:
        load_config(_pyproject(tmp_path, body))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_flag_values_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="success_drop_points"):
        load_config(None, {"success_drop_points": 120.0})
    with pytest.raises(UserError, match="bootstrap"):
        load_config(None, {"bootstrap": -1})
