#!/usr/bin/env bash
# 2stems-fast: one U-Net of Spleeter's width with a two-stem head, distilled from Deezer's 2stems
# on mixtures remixed from the real stems of ../shared/data (non-commercial: MUSDB18, MedleyDB).
# About 20 minutes on a 2-core AVX-512 CPU (3000 steps; the best validation, step 2000, is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
python recipes/make_2stems_fast_init.py runs/2stems-fast-init   # Deezer's vocal U-Net + its complement
tfsep train -c configs/2stems-fast/distill.json -o runs/2stems-fast
python recipes/ship_2stems_fast.py runs/2stems-fast              # float16 weights into the package
