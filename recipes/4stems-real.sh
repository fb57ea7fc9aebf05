#!/usr/bin/env bash
# 4stems-real: 4stems-lite's splitter trained further on the real stems of ../shared/data
# (93 musdb18-7 train excerpts + 10 MedleyDB songs; non-commercial, and so is the model).
# About 30 minutes on a 2-core CPU (1500 steps; the best validation, step 1000, is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
tfsep train -c configs/4stems-real/lite-finetune.json -o runs/lite-real
python recipes/ship_4stems_real.py runs/lite-real
python bench/musdb7_4stems.py --methods 4stems-real,4stems-lite,2stems,hpss-repet4,irm2   # scores it
