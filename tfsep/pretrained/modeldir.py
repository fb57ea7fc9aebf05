"""tfsep model directories: ``config.json`` + ``model.weights.h5``.

A model directory is what training writes, what the Spleeter importer
writes, and what ``Separator`` and ``export`` read.  Writing is atomic: a
crash leaves the old directory or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .. import models
from ..config import load_config
from ..errors import ModelError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"


def save_model_dir(model, config: dict, path) -> Path:
    """Write ``config.json`` + weights atomically: a crash leaves no half model directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model directory is not a secret
    try:
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        model.save_weights(str(tmp / WEIGHTS_FILE))
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def is_model_dir(path) -> bool:
    """True when ``path`` holds both files of a tfsep model directory."""
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def without_init_from(config: dict) -> dict:
    """``config`` with ``model.params.init_from`` cleared.

    A model directory's own weights replace whatever ``init_from`` loaded at
    build time, so reloading must not need (or re-read) that source.
    """
    if not config["model"].get("params", {}).get("init_from"):
        return config
    out = dict(config)
    out["model"] = dict(config["model"], params=dict(config["model"]["params"], init_from=None))
    return out


def load_model_dir(path) -> models.TfsepModel:
    """Load a tfsep model directory (config + weights)."""
    path = Path(path)
    if not is_model_dir(path):
        raise ModelError(f"{path}: not a tfsep model directory (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    config = load_config(path)
    model = models.build(without_init_from(config))
    try:
        model.load_weights(str(path / WEIGHTS_FILE))
    except Exception as exc:  # h5py/keras raise many types; all mean the same to a user
        raise ModelError(
            f"{path / WEIGHTS_FILE}: cannot load weights into the model its config describes ({exc})"
        ) from None
    return models.TfsepModel(model, config, str(path))
