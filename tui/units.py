"""Attribute values with their units: durations, bytes, fractions, rates, watts, as people read them.

The OTel and rootspan attribute names carry their unit in the name (``*_ns``, ``*_bytes``,
``*.utilization``, ``*_w``...; see profilers/names.py, where ratios are fractions in [0, 1]), so
the span detail formats by the name's suffix instead of showing ``1234567890`` or
``0.4321987``. A value that is not a finite number is shown as it came.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from rootspan.text import format_duration


def number(value: Any) -> float | None:
    """A finite number from an untrusted attribute value, or None (strings, lists, NaN, inf, bools)."""
    if isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def format_bytes(value: float) -> str:
    """3221225472 -> '3.0 GiB' (binary units, as memory is counted)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop always returns


def _si(value: float, unit: str) -> str:
    """1.23e12 FLOP/s -> '1.23 TFLOP/s'."""
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _duration(value: float) -> str:
    return ("-" if value < 0 else "") + format_duration(int(abs(value)))


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


# (name suffix, formatter), first match wins: the longer, more specific suffixes first.
_SUFFIXES: list[tuple[str, Callable[[float], str]]] = [
    ("_bytes_per_s", lambda v: format_bytes(v) + "/s"),
    ("_bytes", format_bytes),
    ("_ns", _duration),
    ("_flops", lambda v: _si(v, "FLOP/s")),
    ("_fraction", _percent),
    ("utilization", _percent),
    ("util.mean", _percent),
    ("util.max", _percent),
    ("occupancy.mean", _percent),
    ("coverage", _percent),
    ("acceptance", _percent),
    ("_w", lambda v: f"{v:.1f} W"),
    ("_j", lambda v: f"{v:.3g} J"),
    ("_mhz", lambda v: f"{v:.0f} MHz"),
    ("_c", lambda v: f"{v:.0f} °C"),
]


def with_unit(key: str, value: Any) -> str | None:
    """The value formatted for the unit its key names, or None when the key names none
    (or the value is not a number): the caller shows it as it came."""
    formatter = next((fmt for suffix, fmt in _SUFFIXES if key.endswith(suffix)), None)
    if formatter is None:
        return None
    figure = number(value)
    return formatter(figure) if figure is not None else None
