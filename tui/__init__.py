"""rootspan's terminal UI (``rootspan view RUN [RUN2]``): runs, waterfall, span detail, blame and diff.

The package root stays import-free so that registering the ``view`` command costs nothing; the
Textual application lives in ``rootspan.tui.app`` and is imported only when the command runs.
"""
