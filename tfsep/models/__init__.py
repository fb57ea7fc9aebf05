"""Model registry and tfsep model directories.

``build(config) -> keras.Model`` dispatches on ``config["model"]["type"]``.
A tfsep model directory holds ``config.json`` and ``model.weights.h5``; it is
what training writes, what the Spleeter importer writes, and what
``Separator`` and ``export`` read.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import load_config, validate
from ..errors import ModelError

_REGISTRY = {}

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"


def register(name):
    """Decorator: register ``fn(config) -> keras.Model`` under a model type name."""

    def wrap(fn):
        _REGISTRY[name] = fn
        return fn

    return wrap


def _load_builtin_families():
    from . import unet  # noqa: F401  (registers itself)
    from . import demucs, enhanced_unet, stacked, wave_unet  # noqa: F401  (model zoo)


def build(config: dict):
    """Build the (untrained) Keras model a validated config describes."""
    _load_builtin_families()
    mtype = config["model"]["type"]
    if mtype not in _REGISTRY:
        raise ModelError(f"model type {mtype!r} is not registered (known: {', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[mtype](config)


@dataclass
class TfsepModel:
    """A built Keras model with the config it was built from."""

    keras_model: object
    config: dict
    path: str | None = None

    @property
    def stems(self):
        return list(self.config["stems"])


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
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def _saved_weights_only(config: dict) -> dict:
    """``config`` with ``model.params.init_from`` cleared: a model directory's own weights replace
    whatever ``init_from`` loaded at build time, so reloading must not need (or re-read) that source."""
    if not config["model"].get("params", {}).get("init_from"):
        return config
    out = dict(config)
    out["model"] = dict(config["model"], params=dict(config["model"]["params"], init_from=None))
    return out


def load_model_dir(path) -> TfsepModel:
    """Load a tfsep model directory (config + weights)."""
    path = Path(path)
    if not is_model_dir(path):
        raise ModelError(f"{path}: not a tfsep model directory (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    config = load_config(path)
    model = build(_saved_weights_only(config))
    try:
        model.load_weights(str(path / WEIGHTS_FILE))
    except Exception as exc:  # h5py/keras raise many types; all mean the same to a user
        raise ModelError(f"{path / WEIGHTS_FILE}: cannot load weights into the model its config describes ({exc})") from None
    return TfsepModel(model, config, str(path))


def from_config(config: dict) -> TfsepModel:
    """An untrained model for a config dict (validated here)."""
    config = validate(config)
    return TfsepModel(build(config), config, None)
