"""scripts/setup.sh picks the torch build for the machine (its dry run prints the choice).

The GPU probe is ``nvidia-smi -L`` and the CPU index probe runs ``$PYTHON``: both are replaced by
small stand-ins on PATH, since this machine cannot be given or denied a GPU or a network.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "setup.sh"


def _stub(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _dry_run(tmp_path: Path, gpu: bool, cpu_index_up: bool, index: str | None = None) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "nvidia-smi", 'echo "GPU 0: NVIDIA H200 (UUID: GPU-0)"' if gpu else "exit 9")
    python = _stub(bin_dir, "fake-python", "exit 0" if cpu_index_up else "exit 1")
    env = {key: value for key, value in os.environ.items() if key != "ROOTSPAN_TORCH_INDEX"}
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", PYTHON=str(python), ROOTSPAN_SETUP_DRY_RUN="1")
    if index is not None:
        env["ROOTSPAN_TORCH_INDEX"] = index
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    "gpu, up, index, expected",
    [
        (False, True, None, "from https://download.pytorch.org/whl/cpu (no GPU: the CPU build)"),
        (False, False, None, "from default (no GPU, and https://download.pytorch.org/whl/cpu cannot be reached)"),
        (True, True, None, "from default (NVIDIA GPU found (nvidia-smi): the CUDA build)"),
        (True, True, "https://download.pytorch.org/whl/cu128", "from https://download.pytorch.org/whl/cu128 (ROOTSPAN_TORCH_INDEX)"),
        (False, True, "default", "from default (ROOTSPAN_TORCH_INDEX)"),
    ],
)
def test_setup_chooses_the_torch_index(tmp_path: Path, gpu: bool, up: bool, index: str | None, expected: str) -> None:
    out = _dry_run(tmp_path, gpu, up, index)
    assert out == f"torch: would install torch==2.13.0 {expected}"
    assert not (tmp_path / ".venv").exists()
