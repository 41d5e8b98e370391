"""JUnit XML: one testcase per check, a <failure> per regression, for CI test dashboards.

CI systems (GitHub test reporters, GitLab, Jenkins) already show JUnit results next to unit
tests, so a regression appears where developers look. Names and messages come from traces;
ElementTree escapes markup, and characters XML 1.0 forbids (ESC and other controls, lone
surrogates) are replaced first, since ElementTree would write them and break every parser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from rootspan.text import printable

from rootspan.attribution.report.compare import ADDED, INCONCLUSIVE, REGRESSION, REMOVED, SUCCESS_RATE, Report
from rootspan.attribution.report.fmt import bound_text, change, headline, p_text, side, thresholds

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """Text that is always valid inside an XML 1.0 document."""
    text = printable(value, keep_newlines=True)
    return _NOT_XML.sub(lambda m: "\\u%04x" % ord(m.group(0)), text)


def render_junit(report: Report) -> str:
    failures = len(report.regressions)
    skipped = sum(1 for check in report.checks if check.status in (ADDED, REMOVED))
    attrs = {"name": "rootspan report", "tests": str(len(report.checks)), "failures": str(failures), "errors": "0"}
    suites = ET.Element("testsuites", attrs)
    suite = ET.SubElement(suites, "testsuite", dict(attrs, skipped=str(skipped)))
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", report.verdict),
        ("thresholds", thresholds(report.config)),
        ("baseline", ", ".join(report.baseline_runs)),
        ("candidate", ", ".join(report.candidate_runs)),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": xml_text(value)})
    new_failures = [f for f in report.failures if f.side == "candidate" and f.new]
    for check in report.checks:
        case = ET.SubElement(
            suite, "testcase", {"classname": f"rootspan.report.{check.group}", "name": xml_text(check.title), "time": "0"}
        )
        summary = (
            f"{check.title}: {side(check, 'baseline')} -> {side(check, 'candidate')} "
            f"({change(check)}, adjusted p = {p_text(check)})"
        )
        if check.status == REGRESSION:
            detail = [summary, check.reason] + ([bound_text(check)] if check.bound_by else [])
            if check.id == SUCCESS_RATE:
                for failure in new_failures[:10]:
                    who = f"{failure.agent or '?'} step {failure.step} {failure.name}" if failure.span_id else "unknown"
                    detail.append(f"trace {failure.trace_id}: culprit {who}, category {failure.category} ({failure.source})")
                    detail += [f"  evidence: {item}" for item in failure.evidence[:3]]
            failure_el = ET.SubElement(case, "failure", {"message": xml_text(summary), "type": "regression"})
            failure_el.text = xml_text("\n".join(detail))
        elif check.status in (ADDED, REMOVED):
            ET.SubElement(case, "skipped", {"message": xml_text(f"{check.title}: {check.reason}")})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = xml_text(summary + (f"\n{check.reason}" if check.status == INCONCLUSIVE else ""))
    out = ET.SubElement(suite, "system-out")
    outliers = [
        f"outlier (not gated): {item['step']} took {item['candidate_ms']:.1f} ms in trace {item['trace_id']} "
        f"(slowest baseline {item['baseline_max_ms']:.1f} ms)"
        for item in report.outliers
    ]
    out.text = xml_text("\n".join([headline(report)] + outliers + report.notes))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
