#!/usr/bin/env bash
# 4stems-lite: Deezer's 2stems (frozen) for the vocals, plus a splitter of what it leaves
# (drums / bass / other) trained on synthetic songs, its last stage with real recorded guitars.
# Needs: apt-get install fluidsynth fluid-soundfont-gm musescore-general-soundfont timgm6mb-soundfont
#        avldrums.lv2-soundfont fretsonfire-songs-sectoid fretsonfire-songs-muldjord
# About 2 hours on a 2-core CPU (rendering 10-25 min, then 56 + 14 + 19 min of training).
set -euo pipefail
cd "$(dirname "$0")/.."
tfsep data synth -o data/studio/train --tracks 200 --seconds 12 --seed 1 --stems drums,bass,other --profile studio
tfsep data synth -o data/studio/valid --tracks 16 --seconds 12 --seed 2 --stems drums,bass,other --profile studio
tfsep data synth -o data/studio/train2 --tracks 120 --seconds 12 --seed 4 --stems drums,bass,other --profile studio
tfsep train -c configs/4stems-lite/splitter.json -o runs/4stems-lite-splitter              # 3000 steps
tfsep train -c configs/4stems-lite/splitter-finetune.json -o runs/4stems-lite-splitter-ft   # 600 steps
tfsep train -c configs/4stems-lite/splitter-real.json -o runs/4stems-lite-splitter-real     # 1500 steps
tfsep train -c configs/4stems-lite.json -o runs/4stems-lite     # assemble 2stems + splitter (0 steps)
python recipes/ship_4stems_lite.py runs/4stems-lite
