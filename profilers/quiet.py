"""Keep torch's profiler from printing into the user's terminal.

Kineto (torch.profiler's C++ core) writes a ``USDT:... profiler_start`` / ``profiler_stop`` line
to file descriptor 2 on every start and stop of a trace, from C++ (no Python logger, and torch
2.13 has no setting that turns it off: KINETO_LOG_LEVEL does not cover it). A run profiling a
hundred windows would print hundreds of them. Python-level redirection (sys.stderr) cannot catch
C++ writes, so this swaps the file descriptor itself around the profiler's start and stop calls.

Nothing else is lost: whatever other threads write to stderr meanwhile goes to a temporary file
and is written back to the real stderr afterwards, without the Kineto lines.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

NATIVE_PREFIXES = (b"USDT:",)  # lines Kineto prints on every profiler start/stop

_lock = threading.RLock()
_depth = 0


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # closed or replaced streams
            pass


def _keep(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(NATIVE_PREFIXES))


@contextmanager
def quiet_native_stderr(fd: int = 2) -> Iterator[None]:
    """Hide Kineto's lines written to ``fd`` inside the block; keep and re-emit everything else.

    Re-entrant (nested blocks share the outer redirection). When the descriptor cannot be
    duplicated (no stderr at all), the block runs unchanged.
    """
    global _depth
    with _lock:
        if _depth > 0:
            _depth += 1
            try:
                yield
            finally:
                _depth -= 1
            return
        _flush()
        try:
            saved = os.dup(fd)
        except OSError:
            yield
            return
        capture = tempfile.TemporaryFile()
        try:
            os.dup2(capture.fileno(), fd)
            _depth = 1
            try:
                yield
            finally:
                _depth = 0
                _flush()
                os.dup2(saved, fd)
            capture.seek(0)
            rest = _keep(capture.read())
            if rest:
                os.write(fd, rest)
        finally:
            os.close(saved)
            capture.close()
