#!/usr/bin/env bash
# Create .venv with the CPU build of torch (never the multi-GB CUDA wheels on a CPU machine),
# then rootspan with its torch, serve and test extras. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# Pinned first, so that the torch requirement of the extra is already satisfied by the CPU build.
# Ask PyTorch's CPU index for it (a plain install pulls several GB of CUDA wheels); where that
# index cannot be reached (offline mirrors, a local wheel house), the configured index serves it.
CPU_INDEX="${ROOTSPAN_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
if .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=5)" "$CPU_INDEX" 2>/dev/null \
    && .venv/bin/python -m pip install -q "torch==2.13.0" --index-url "$CPU_INDEX"; then
    echo "torch: CPU build from $CPU_INDEX"
else
    .venv/bin/python -m pip install -q "torch==2.13.0"
fi
.venv/bin/python -m pip install -q -e ".[torch,serve,test]"
echo "rootspan installed in .venv ($(.venv/bin/rootspan --version 2>/dev/null || echo ok))"
