"""rootspan's multi-agent runtime, LLM backends, the demo team and its fault catalogue.

Importing the package is cheap (the CLI imports it for every command); the runtime, the backends
and torch load on first use of a name below.
"""

from __future__ import annotations

from rootspan.lazy import lazy_exports

_EXPORTS = {
    "Agent": "runtime",
    "Team": "runtime",
    "Message": "runtime",
    "TeamResult": "runtime",
    "Tool": "tools",
    "ToolError": "tools",
    "tool": "tools",
    "Backend": "backends",
    "BackendError": "backends",
    "Completion": "backends",
    "ReplayBackend": "replay",
    "OpenAIBackend": "openai_backend",
    "MoEBackend": "moe_backend",
    "run_demo": "demo",
    "FAULTS": "faults",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
