"""How a check's numbers read in every output format: one wording for Markdown, JUnit and SVG."""

from __future__ import annotations

from typing import Any

from rootspan.text import format_duration

from rootspan.attribution.report.compare import ADDED, IMPROVEMENT, INCONCLUSIVE, REGRESSION, REMOVED, Check, Report
from rootspan.attribution.report.config import ReportConfig


def quantity(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return format_duration(int(round(value * 1e6)))
    if unit == "tokens":
        return f"{value:,.0f}"
    if unit == "$":
        return f"${value:.4g}"
    if unit == "J":
        return f"{value:.3g} J"
    return f"{value:.3g}"


def side(check: Check, which: str) -> str:
    """One side's value: the median (or the rate with its counts)."""
    data: dict[str, Any] = check.baseline if which == "baseline" else check.candidate
    if check.test == "none":
        return f"in {data['n']}/{data['of']} traces"
    if check.unit == "rate":
        text = f"{data['rate'] * 100:.0f}% ({data['count']}/{data['n']})"
        if "per_trace" in data:
            text += f", {data['per_trace']:.2g}/trace"
        return text
    return quantity(data["median"], check.unit)


def change(check: Check) -> str:
    """The effect: points for rates; ratio and difference of medians otherwise."""
    if check.test == "none":
        return check.status
    if check.unit == "rate":
        return f"{check.effect['delta_points']:+.0f} pts"
    ratio = check.effect.get("ratio")
    delta = check.effect.get("delta", 0.0)
    sign = "+" if delta >= 0 else "-"
    details = ["×inf" if ratio is None else f"×{ratio:.2f}"]
    ci = check.effect.get("ratio_ci95")
    if ci:
        details.append(f"95% CI ×{ci[0]:.2f}-{ci[1]:.2f}")
    return f"{sign}{quantity(abs(delta), check.unit)} ({', '.join(details)})"


def bound_text(check: Check) -> str:
    """What the attribution engine says bounds a regressed step in the candidate traces."""
    if not check.bound_by:
        return ""
    parts = [f"{name} ({count} trace{'s' if count > 1 else ''})" for name, count in
             sorted(check.bound_by.items(), key=lambda item: -item[1])]
    return "bound by " + ", ".join(parts)


def p_text(check: Check) -> str:
    if check.p_adjusted is None:
        return "-"
    p = check.p_better_adjusted if check.status == IMPROVEMENT else check.p_adjusted
    return f"{p:.2g}" if p is not None else "-"


STATUS_ICON = {REGRESSION: "❌", INCONCLUSIVE: "⚠️", IMPROVEMENT: "✅", ADDED: "➕", REMOVED: "➖"}


def headline(report: Report) -> str:
    """The verdict in one line: what every format puts first."""
    tested = len(report.tested)
    regressions = report.regressions
    flag = " (1 run per side: indicative only)" if report.indicative else ""
    if regressions:
        names = ", ".join(check.title for check in regressions[:3])
        more = f" and {len(regressions) - 3} more" if len(regressions) > 3 else ""
        return f"Regression: {len(regressions)} of {tested} checks regressed ({names}{more}){flag}"
    inconclusive = sum(1 for check in report.checks if check.status == INCONCLUSIVE)
    extra = f"; {inconclusive} inconclusive, add repeats to decide" if inconclusive else ""
    return f"No regression: {tested} checks passed{extra}{flag}"


def thresholds(config: ReportConfig) -> str:
    if config.correction == "holm":
        correction = (
            f"adjusted p ≤ {config.alpha:g} (success rate at α/2, other checks Holm at α/2 over those that "
            "can reach it)"
        )
    else:
        correction = f"uncorrected p ≤ {config.alpha:g}"
    return (
        f"regression = {correction} and latency ≥ ×{config.latency_ratio:g} and "
        f"≥ +{config.latency_min_ms:g} ms, success rate ≥ -{config.success_drop_points:g} pts, "
        f"error/retry/loop rates ≥ +{config.rate_rise_points:g} pts, tokens/cost/GPU ≥ ×{config.resource_ratio:g}"
    )


def chart_checks(report: Report, limit: int = 8) -> list[Check]:
    """The latency rows worth drawing: end to end, what regressed, agents, the steps that moved most."""
    timed = [c for c in report.checks if c.group in ("latency", "agent", "step") and c.test != "none"]
    steps = sorted((c for c in timed if c.group == "step"), key=lambda c: -abs(c.effect.get("delta", 0.0)))
    ordered = (
        [c for c in timed if c.group == "latency"]
        + [c for c in timed if c.status == REGRESSION]
        + [c for c in timed if c.group == "agent"]
        + steps
    )
    chosen: dict[int, Check] = {}
    for check in ordered:
        chosen.setdefault(id(check), check)
    return list(chosen.values())[:limit]
