"""Small performance helpers shared by the loader and the analyses."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects that form no cycles.

    Loading a run or building its graph allocates millions of dicts, lists and models; each
    generation-0 threshold crossing would rescan them all. Pausing halves the load time of a
    100k-span run and the analysis time likewise (docs/benchmarks.md).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
