"""The MoE backend's statistics (expert load, KV-cache size, MTP acceptance) as span attributes.

The model only counts; the MoE backend (agents/moe_backend.py) calls
``record_moe_stats(call.span, model.moe_stats())`` after each call, so no tracing code lives
inside the model (CONTRACTS.md "MoE stats -> spans").
"""

from __future__ import annotations

import json
import math
from typing import Any

from rootspan.profilers import names as n


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def moe_attributes(stats: dict[str, Any]) -> dict[str, Any]:
    """moe_stats() dict -> rootspan.gpu.moe.* attributes; missing or empty fields are left out."""
    attrs: dict[str, Any] = {}
    imbalance = [value for value in (_finite(v) for v in stats.get("imbalance") or []) if value is not None]
    if imbalance:
        attrs[n.GPU_MOE_IMBALANCE_MAX] = max(imbalance)
        attrs[n.GPU_MOE_IMBALANCE_MEAN] = sum(imbalance) / len(imbalance)
    tokens = stats.get("tokens_per_expert")
    if tokens:
        attrs[n.GPU_MOE_TOKENS_PER_EXPERT] = json.dumps([[int(count) for count in layer] for layer in tokens])
    kv_bytes = stats.get("kv_cache_bytes")
    if kv_bytes is not None:
        attrs[n.GPU_KV_CACHE_BYTES] = int(kv_bytes)
    acceptance = _finite(stats.get("mtp_acceptance"))
    if acceptance is not None:
        attrs[n.GPU_MTP_ACCEPTANCE] = acceptance
    return attrs


def record_moe_stats(span: Any, stats: dict[str, Any] | None) -> dict[str, Any]:
    """Set the stats on a live OTel span (no-op on None or an ended span); returns what was set."""
    if not stats or span is None:
        return {}
    attrs = moe_attributes(stats)
    if attrs and getattr(span, "is_recording", lambda: True)():
        span.set_attributes(attrs)
    return attrs
