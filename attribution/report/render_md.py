"""The Markdown report for $GITHUB_STEP_SUMMARY and PR comments: verdict first, details after.

Reviewers read the first line and stop, so the verdict and what regressed come first; then the
table of checks, the culprits of new failures with their evidence, and a latency chart. GitHub
strips ``data:`` image URIs and cannot reach files on the runner, so the chart is drawn with
Unicode blocks (renders everywhere) and the SVG file written next to the report is linked for
viewers that have it (the uploaded artefact, a Pages site). Span names, agent names and evidence
come from the traced app, so they are escaped before they reach Markdown/HTML.
"""

from __future__ import annotations

import re

from rootspan.text import printable, shorten

from rootspan.attribution.report.compare import OK, REGRESSION, Check, Report
from rootspan.attribution.report.failures import Failure
from rootspan.attribution.report.fmt import STATUS_ICON, bound_text, change, chart_checks, headline, p_text, quantity, side, thresholds

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~])")
MAX_FAILURE_GROUPS = 5
MAX_EVIDENCE = 3
MAX_OUTLIERS = 5
MAX_CHARS = 60_000  # GitHub rejects PR comments over 65,536 characters
MAX_TABLE_ROWS = 200
BAR_WIDTH = 28


def md(text: object, width: int = 200) -> str:
    """Untrusted text as inert Markdown: one line, no HTML, no markup, no control characters."""
    value = shorten(printable(text), width)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MARKDOWN_SPECIAL.sub(r"\\\1", value)
    # A zero-width space after @ keeps a span named "@org/team" from pinging people in a PR comment;
    # written as an entity, so the Markdown file itself holds no invisible character.
    return value.replace("@", "@&#8203;")


def code(text: object, width: int = 80) -> str:
    """Untrusted text as an inline code span, which GitHub shows literally (no markup, no mentions)."""
    return "`" + shorten(printable(text), width).replace("`", "'") + "`"


def _row(check: Check) -> str:
    icon = STATUS_ICON.get(check.status, "")
    return f"| {icon} | {md(check.title)} | {side(check, 'baseline')} | {side(check, 'candidate')} | {change(check)} | {p_text(check)} |"


def _table(checks: list[Check]) -> list[str]:
    lines = ["|  | check | baseline | candidate | change | p (adj.) |", "|:-:|---|--:|--:|---|--:|"]
    return lines + [_row(check) for check in checks]


def _group_failures(failures: list[Failure]) -> list[tuple[Failure, int]]:
    groups: dict[tuple[str | None, str | None, str], list[Failure]] = {}
    for failure in failures:
        groups.setdefault(failure.signature(), []).append(failure)
    ordered = sorted(groups.values(), key=len, reverse=True)
    return [(members[0], len(members)) for members in ordered]


def _failure_lines(report: Report) -> list[str]:
    candidate = [f for f in report.failures if f.side == "candidate"]
    new = [f for f in candidate if f.new]
    if not new:
        return []
    lines = [f"### New failures ({len(candidate)} of {report.candidate_traces} candidate traces failed)", ""]
    groups = _group_failures(new)
    for failure, count in groups[:MAX_FAILURE_GROUPS]:
        if failure.span_id is None:
            who = "culprit unknown (no verdict and no failing span)"
        else:
            step = f"step {failure.step} " if failure.step is not None else ""
            who = f"**{md(failure.agent or 'no agent')}**, {step}{code(failure.name)}"
        category = f" · category {code(failure.category, 60)}" if failure.category else ""
        confidence = f" · confidence {failure.confidence:.2f}" if failure.confidence else ""
        lines.append(
            f"- {who}{category}{confidence} · {count} trace{'s' if count > 1 else ''}, "
            f"e.g. {code(failure.trace_id, 40)} · source: {failure.source}"
        )
        for item in failure.evidence[:MAX_EVIDENCE]:
            lines.append(f"  - {md(item, 300)}")
    if len(groups) > MAX_FAILURE_GROUPS:
        lines.append(f"- ... and {len(groups) - MAX_FAILURE_GROUPS} more kinds of failure (see the JSON report)")
    lines.append("")
    return lines


def _categories(report: Report) -> list[str]:
    base, cand = report.categories["baseline"], report.categories["candidate"]
    names = sorted(set(base) | set(cand), key=lambda name: (-(cand.get(name, 0) - base.get(name, 0)), name))
    if not names:
        return []
    lines = ["### Failure categories", "", "| category | baseline | candidate |", "|---|--:|--:|"]
    lines += [f"| {md(name, 60)} | {base.get(name, 0)} | {cand.get(name, 0)} |" for name in names]
    return lines + [""]


def _outliers(report: Report) -> list[str]:
    if not report.outliers:
        return []
    lines = ["### Outliers (not gated)", "", "Single candidate steps at least twice as slow as every baseline repeat:", ""]
    for item in report.outliers[:MAX_OUTLIERS]:
        lines.append(
            f"- {md(item['step'])}: {quantity(item['candidate_ms'], 'ms')} in trace {code(item['trace_id'], 40)} "
            f"(slowest baseline {quantity(item['baseline_max_ms'], 'ms')})"
        )
    if len(report.outliers) > MAX_OUTLIERS:
        lines.append(f"- ... and {len(report.outliers) - MAX_OUTLIERS} more (see the JSON report)")
    return lines + [""]


def _bar(value: float, largest: float, char: str) -> str:
    return char * max(1, round(BAR_WIDTH * value / largest)) if value > 0 else ""


def _chart(report: Report, svg_link: str | None) -> list[str]:
    rows = chart_checks(report)
    if not rows:
        return []
    largest = max(max(c.baseline["median"], c.candidate["median"]) for c in rows) or 1.0
    width = min(44, max(len(printable(c.title)) for c in rows))
    lines = ["### Median latency", "", "```text", f"{'':{width}}  ░ baseline  █ candidate"]
    for check in rows:
        # Inside a code block nothing renders as Markdown; only the fence itself must not appear.
        label = shorten(printable(check.title), width).replace("`", "'")
        mark = "  << regression" if check.status == REGRESSION else ""
        lines.append(f"{label:<{width}}  {_bar(check.baseline['median'], largest, '░')} {quantity(check.baseline['median'], 'ms')}")
        lines.append(f"{'':<{width}}  {_bar(check.candidate['median'], largest, '█')} {quantity(check.candidate['median'], 'ms')}{mark}")
    lines.append("```")
    if svg_link:
        lines.append(f"[Latency chart (SVG)]({svg_link})")
    return lines + [""]


def render_markdown(report: Report, svg_link: str | None = None, max_chars: int = MAX_CHARS) -> str:
    """The report; tables of unchanged steps, then of other rows, shrink to stay under max_chars."""
    text = ""
    for row_limit in (None, MAX_TABLE_ROWS, 20):
        for show_hidden in (True, False):
            text = _render(report, svg_link, show_hidden, row_limit)
            if len(text) <= max_chars:
                return text
    return text


def _render(report: Report, svg_link: str | None, show_hidden: bool, row_limit: int | None) -> str:
    icon = "❌" if report.verdict == REGRESSION else "✅"
    lines = [f"## {icon} rootspan: {md(headline(report), 400)}", ""]
    for check in report.regressions[:row_limit]:
        bound = bound_text(check)
        lines.append(
            f"- **{md(check.title)}**: {side(check, 'baseline')} → {side(check, 'candidate')}, "
            f"{change(check)}, adjusted p = {p_text(check)}" + (f"; {md(bound)}" if bound else "")
        )
    if report.regressions:
        lines.append("")
    lines.append(
        f"Baseline: {report.baseline_traces} traces from {len(report.baseline_runs)} run(s) · "
        f"Candidate: {report.candidate_traces} traces from {len(report.candidate_runs)} run(s) · "
        f"{len(report.tested)} tests · {md(thresholds(report.config), 400)}"
    )
    lines.append("")
    shown = [c for c in report.checks if c.group != "step" or c.status != OK]
    hidden = [c for c in report.checks if c.group == "step" and c.status == OK]
    lines += _table(shown[:row_limit])
    if row_limit is not None and len(shown) > row_limit:
        lines.append(f"| | ... {len(shown) - row_limit} more rows in the JSON report | | | | |")
    if hidden and show_hidden:
        lines += ["", f"<details><summary>{len(hidden)} unchanged steps</summary>", ""]
        lines += _table(hidden[:row_limit])
        lines += ["", "</details>"]
    elif hidden:
        lines += ["", f"{len(hidden)} unchanged steps left out to fit a PR comment (see the JSON report)."]
    lines.append("")
    lines += _failure_lines(report)
    lines += _categories(report)
    lines += _outliers(report)
    lines += _chart(report, svg_link)
    if report.notes:
        lines += ["<details><summary>Notes</summary>", ""]
        lines += [f"- {md(note, 400)}" for note in report.notes[:20]]
        lines += ["", "</details>", ""]
    runs = ", ".join(md(path, 120) for path in report.baseline_runs[:4]) + (" ..." if len(report.baseline_runs) > 4 else "")
    cand_runs = ", ".join(md(path, 120) for path in report.candidate_runs[:4]) + (" ..." if len(report.candidate_runs) > 4 else "")
    lines.append(f"<sub>rootspan report · baseline: {runs} · candidate: {cand_runs}</sub>")
    return "\n".join(lines) + "\n"
