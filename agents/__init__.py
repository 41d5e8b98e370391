"""rootspan's multi-agent runtime, LLM backends, the demo team and its fault catalogue.

Importing the package is cheap (the CLI imports it for every command); the runtime, the backends
and torch load on first use of a name below.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Agent": "rootspan.agents.runtime",
    "Team": "rootspan.agents.runtime",
    "Message": "rootspan.agents.runtime",
    "TeamResult": "rootspan.agents.runtime",
    "Tool": "rootspan.agents.tools",
    "ToolError": "rootspan.agents.tools",
    "tool": "rootspan.agents.tools",
    "Backend": "rootspan.agents.backends",
    "BackendError": "rootspan.agents.backends",
    "Completion": "rootspan.agents.backends",
    "ReplayBackend": "rootspan.agents.replay",
    "OpenAIBackend": "rootspan.agents.openai_backend",
    "MoEBackend": "rootspan.agents.moe_backend",
    "run_demo": "rootspan.agents.demo",
    "FAULTS": "rootspan.agents.faults",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rootspan.agents' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
