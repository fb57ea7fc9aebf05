"""Copy a training run into the package as a shipped model (``tfsep/pretrained/shipped/<name>/``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ship_run(run_dir, name: str, source: str, copy_weights=None, overrides: dict | None = None, drop: tuple = ()):
    """Copy a training run into ``tfsep/pretrained/shipped/<name>/`` as the shipped model ``name``.

    Writes ``config.json`` (the run's config under ``name``, with the
    description of ``configs/<name>.json``, which states its training data),
    ``model.weights.h5`` (``copy_weights(src, dst)``; default a plain copy)
    and ``source.json``. ``overrides`` sets dotted keys of the config (to None:
    a local run folder that means nothing once shipped, say); ``drop`` removes
    dotted keys.
    """
    dest = ROOT / "tfsep" / "pretrained" / "shipped" / name
    run = Path(run_dir)
    config = json.loads((run / "config.json").read_text())
    config["name"] = name
    config["description"] = json.loads((ROOT / "configs" / f"{name}.json").read_text())["description"]
    for dotted, value in (overrides or {}).items():
        *parents, key = dotted.split(".")
        _section(config, parents)[key] = value
    for dotted in drop:
        *parents, key = dotted.split(".")
        _section(config, parents).pop(key, None)
    dest.mkdir(parents=True, exist_ok=True)
    (copy_weights or shutil.copyfile)(run / "model.weights.h5", dest / "model.weights.h5")
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (dest / "source.json").write_text(json.dumps({"source": source}))
    print(f"{run} -> {dest} ({(dest / 'model.weights.h5').stat().st_size / 2**20:.1f} MB)")
    return dest


def _section(config: dict, path: list) -> dict:
    for key in path:
        config = config[key]
    return config
