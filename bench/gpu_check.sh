#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU, set up a CUDA TensorFlow venv, train the
# Spleeter-size 2stems U-Net 200 steps under mixed precision (and, for the ratio, float16
# and float32) and print steps/s, then separate 10 minutes of audio and print x real time.
#
#   bash bench/gpu_check.sh                       # from anywhere; venv .venv-gpu in the repository
#   VENV=/path/to/venv bash bench/gpu_check.sh    # use (or create) another venv
#   bash bench/gpu_check.sh --steps 500 --precisions bfloat16,float16   # options of bench/gpu_check.py
#   GPU_CHECK_DRY_RUN=1 VENV=.venv bash bench/gpu_check.sh   # no GPU, no install: tiny sizes on the CPU
#
# Exits non-zero, saying why, when there is no NVIDIA GPU, TensorFlow cannot see it, or the
# loss is not finite.  Needs python3 (3.10+) with venv, and access to PyPI for the install.
set -euo pipefail

die() {
    echo "gpu_check: error: $*" >&2
    exit 1
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VENV:-.venv-gpu}"
TF_PACKAGE="${TF_PACKAGE:-tensorflow[and-cuda]==2.21.0}"
PY="$VENV/bin/python"

if [ "${GPU_CHECK_DRY_RUN:-0}" = 1 ]; then
    # Checks this script and bench/gpu_check.py end to end where there is no GPU.
    [ -x "$PY" ] || die "dry run: $PY not found; point VENV at a venv with tfsep installed (e.g. VENV=.venv)"
    echo "gpu_check: DRY RUN: no GPU check, no install; 3 steps of 64 frames, 6 s of audio, on the CPU" >&2
    exec "$PY" bench/gpu_check.py --allow-cpu --steps 3 --frames 64 --batch 1 --minutes 0.1 \
        --precisions float16,off "$@"
fi

command -v nvidia-smi >/dev/null 2>&1 || die "nvidia-smi not found: this check needs an NVIDIA GPU and its driver"
nvidia-smi -L >/dev/null 2>&1 || die "nvidia-smi finds no usable NVIDIA GPU: $(nvidia-smi -L 2>&1 | head -n 1)"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader 2>/dev/null ||
    nvidia-smi -L

if [ ! -x "$PY" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 not found"
    python3 -m venv "$VENV" || die "cannot create the venv $VENV (install python3-venv)"
fi
# Installed once per venv; remove $VENV/.tfsep-gpu-installed to reinstall.
if [ ! -f "$VENV/.tfsep-gpu-installed" ]; then
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q "$TF_PACKAGE" -e .
    touch "$VENV/.tfsep-gpu-installed"
fi

"$PY" - <<'EOF' || die "TensorFlow in $VENV sees no GPU (CUDA libraries of tensorflow[and-cuda], driver version?)"
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
gpus = tf.config.list_physical_devices("GPU")
print(f"TensorFlow {tf.__version__} (CUDA build: {tf.test.is_built_with_cuda()}), GPUs: {len(gpus)}")
sys.exit(0 if gpus else 1)
EOF

exec "$PY" bench/gpu_check.py "$@"
