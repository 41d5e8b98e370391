"""rootspan.profilers: GPU kernels, memory and device metrics joined to the span that caused them.

The tracer calls ``wrap_processor`` from ``setup()``; everything heavy (torch, NVML) is imported
only when a mode needs it, so ``import rootspan.profilers`` is cheap and torch-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from rootspan.profilers.config import MODES, ProfileConfig, config_for_mode

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

__all__ = ["MODES", "ProfileConfig", "config_for_mode", "wrap_processor"]


def wrap_processor(
    downstream: "SpanProcessor | Sequence[SpanProcessor]",
    run_dir: str | Path | None,
    mode: str = "auto",
    resource: dict[str, Any] | None = None,
    config: ProfileConfig | None = None,
) -> "SpanProcessor":
    """The tracer's downstream processor(s) wrapped in one that adds profiles to each span.

    mode is auto|off|device|kernels|full|sample (see ``config_for_mode``); ``config`` overrides it and
    the environment knobs. With mode "off" the downstream comes back unchanged.
    """
    config = config or config_for_mode(mode)
    if config.mode == "off":
        if isinstance(downstream, (list, tuple)):
            from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor

            multi = SynchronousMultiSpanProcessor()
            for processor in downstream:
                multi.add_span_processor(processor)
            return multi
        return downstream
    from rootspan.profilers.processor import ProfilingProcessor

    return ProfilingProcessor(downstream, Path(run_dir) if run_dir is not None else None, config, resource)
