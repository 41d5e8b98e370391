#!/usr/bin/env bash
# Create .venv with the right build of torch, then rootspan with its torch, serve and test extras.
# Safe to re-run.
#
# Which torch:
#   - ROOTSPAN_TORCH_INDEX=URL   that index (e.g. https://download.pytorch.org/whl/cu128 for a
#                                given CUDA version); ROOTSPAN_TORCH_INDEX=default: the configured
#                                pip index, whatever it serves.
#   - a machine with an NVIDIA GPU (nvidia-smi lists one): the configured pip index, whose Linux
#     torch wheels are CUDA builds (with their nvidia-* packages, several GB).
#   - otherwise: the CPU build from PyTorch's CPU index, never the multi-GB CUDA wheels; where
#     that index cannot be reached (offline mirrors, a local wheel house), the configured index.
# ROOTSPAN_SETUP_DRY_RUN=1 prints the choice and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
TORCH="torch==2.13.0"
CPU_INDEX="https://download.pytorch.org/whl/cpu"
DRY_RUN="${ROOTSPAN_SETUP_DRY_RUN:-}"

has_gpu() {
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q "^GPU "
}

reachable() {  # can pip's index URL $1 be reached (the torch project page answers)?
    "$1" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1].rstrip('/') + '/torch/', timeout=5)" "$2" 2>/dev/null
}

# -> "INDEX_URL|why" or "default|why"
choose_index() {
    local py="$1"
    if [ -n "${ROOTSPAN_TORCH_INDEX:-}" ]; then
        echo "${ROOTSPAN_TORCH_INDEX}|ROOTSPAN_TORCH_INDEX"
    elif has_gpu; then
        echo "default|NVIDIA GPU found (nvidia-smi): the CUDA build"
    elif reachable "$py" "$CPU_INDEX"; then
        echo "${CPU_INDEX}|no GPU: the CPU build"
    else
        echo "default|no GPU, and $CPU_INDEX cannot be reached"
    fi
}

if [ -n "$DRY_RUN" ]; then
    choice="$(choose_index "$PYTHON")"
    echo "torch: would install $TORCH from ${choice%%|*} (${choice#*|})"
    exit 0
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# Pinned first, so that the torch requirement of the extra is already satisfied by this build.
choice="$(choose_index .venv/bin/python)"
index="${choice%%|*}"
if [ "$index" = "default" ]; then
    .venv/bin/python -m pip install -q "$TORCH"
    echo "torch: $TORCH from the configured index (${choice#*|})"
elif .venv/bin/python -m pip install -q "$TORCH" --index-url "$index"; then
    echo "torch: $TORCH from $index (${choice#*|})"
elif [ -z "${ROOTSPAN_TORCH_INDEX:-}" ]; then
    # the CPU index answered but could not serve the wheel: the configured index
    .venv/bin/python -m pip install -q "$TORCH"
    echo "torch: $TORCH from the configured index ($index could not serve it)"
else
    echo "setup: could not install $TORCH from ROOTSPAN_TORCH_INDEX=$index" >&2
    exit 1
fi
.venv/bin/python -m pip install -q -e ".[torch,serve,test]"
echo "rootspan installed in .venv ($(.venv/bin/rootspan --version 2>/dev/null || echo ok))"
