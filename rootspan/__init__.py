"""rootspan: which agent broke a multi-agent LLM run, at which step, and why it was slow.

The core package holds what every part shares: the trace model, run-directory I/O and the CLI.
It imports neither torch nor the UI, so the analysis commands start fast on machines without them.
"""

__version__ = "0.1.0"
