#!/usr/bin/env bash
# Create .venv with the CPU build of torch (never the multi-GB CUDA wheels on a CPU machine),
# then rootspan with its torch and test extras. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# Pinned first, so that the torch requirement of the extra is already satisfied by the CPU build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[torch,test]"
echo "rootspan installed in .venv ($(.venv/bin/rootspan --version 2>/dev/null || echo ok))"
