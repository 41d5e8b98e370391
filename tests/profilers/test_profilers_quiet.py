"""Kineto's ``USDT: profiler_start/stop`` lines never reach the terminal; other stderr output does.

These run a real torch profiler in a child process and read its real file descriptors, since the
lines are written from C++ straight to fd 2 (pytest's capture would not see them the same way).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import os, sys
    import torch
    from rootspan.profilers.kernels import KernelProfiler

    profiler = KernelProfiler(profile_every=1, flops=False)
    for call in range(3):
        profiler.open_selected(0)
        torch.ones(64, 64) @ torch.ones(64, 64)
        window = profiler.close_selected(1)
        assert window is not None
    profiler.close(2)
    print("stdout still works")
    print("stderr still works", file=sys.stderr)
    """
)


def _child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)


def test_kernel_profiler_windows_print_no_usdt_lines() -> None:
    pytest.importorskip("torch")
    result = _child(CHILD)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "USDT" not in result.stderr and "USDT" not in result.stdout
    assert "stdout still works" in result.stdout and "stderr still works" in result.stderr


def test_bare_torch_profiler_does_print_them_the_control() -> None:
    """Without the guard the same torch prints them: the test above can fail."""
    pytest.importorskip("torch")
    result = _child("import torch\nfrom torch.profiler import profile\nwith profile():\n    torch.ones(3) + 1\n")
    assert result.returncode == 0 and "USDT" in result.stderr


def test_other_writes_to_fd2_inside_the_block_are_kept() -> None:
    code = textwrap.dedent(
        """
        import os, sys
        from rootspan.profilers.quiet import quiet_native_stderr
        sys.stderr.write("before\\n")
        with quiet_native_stderr():
            os.write(2, b"USDT:2026 SyncActivityProfilerHandler.cpp:52] profiler_start\\n")
            os.write(2, b"a real warning\\n")
            with quiet_native_stderr():  # nested
                sys.stderr.write("nested python write\\n")
        sys.stderr.write("after\\n")
        """
    )
    result = _child(code)
    assert result.returncode == 0
    assert result.stderr.splitlines() == ["before", "a real warning", "nested python write", "after"]
