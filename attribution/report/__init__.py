"""CI regression reports: compare baseline and candidate runs and gate a build on real regressions.

``rootspan report`` (commands.py) loads both sets of runs, ``compare_runs`` tests every check
(stats.py) and renders Markdown, JUnit XML or JSON. Nothing here imports torch.
"""

from rootspan.attribution.report.compare import Check, Report, compare_runs
from rootspan.attribution.report.config import ReportConfig, load_config

__all__ = ["Check", "Report", "ReportConfig", "compare_runs", "load_config"]
