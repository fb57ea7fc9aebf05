"""tfsep model directories: ``config.json`` + ``model.weights.h5``.

A model directory is what training writes, what the Spleeter importer
writes, and what ``Separator`` and ``export`` read.  Writing is atomic: a
crash leaves the old directory or the new one, never half of one.

A cascade whose first (vocal) network comes from ``init_from`` stores only
its splitter's weights: the vocal weights stay where ``init_from`` names
(for ``4stems-lite``, Deezer's 2stems), and loading it needs a ``build``
function that fetches them (:func:`tfsep.pretrained.load_model` passes one).
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


def write_model_files(folder, config: dict, model=None, weights_from=None) -> Path:
    """Make ``folder`` a model directory in place: its config, and weights from ``model`` or a weights file.

    ``folder`` may hold other files (a training run's checkpoints and logs);
    each of the two files is replaced atomically.  ``weights_from`` (a
    ``.weights.h5`` of the stored part, e.g. a run's best weights) wins over
    ``model``'s current weights.
    """
    folder = Path(folder)
    pid = os.getpid()
    tmp = folder / f".tmp-{pid}-{WEIGHTS_FILE}"  # keras wants the .weights.h5 suffix
    if weights_from is not None:
        shutil.copyfile(weights_from, tmp)
    else:
        stored_part(model, config).save_weights(str(tmp))
    os.replace(tmp, folder / WEIGHTS_FILE)
    tmp = folder / f".tmp-{pid}-{CONFIG_FILE}"
    tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / CONFIG_FILE)
    return folder


def save_model_dir(model, config: dict, path) -> Path:
    """Write ``config.json`` + weights atomically: a crash leaves no half model directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model directory is not a secret
    try:
        write_model_files(tmp, config, model)
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


def stores_splitter_only(config: dict) -> bool:
    """True for a cascade whose first network's weights live at its ``init_from``, not in the directory."""
    params = config["model"].get("params", {})
    return config["model"]["type"] == "cascade" and bool(params.get("init_from"))


def stored_part(model, config: dict):
    """What a model directory's weights file holds: the model, or a cascade's ``splitter``."""
    return model.get_layer("splitter") if stores_splitter_only(config) else model


def without_init_from(config: dict) -> dict:
    """``config`` with ``model.params.init_from`` (and a cascade's ``splitter_init_from``) cleared.

    A model directory's own weights replace whatever those loaded at build
    time, so reloading must not need (or re-read) those sources.
    """
    params = config["model"].get("params", {})
    keys = [k for k in ("init_from", "splitter_init_from") if params.get(k)]
    if not keys:
        return config
    out = dict(config)
    out["model"] = dict(config["model"], params=dict(params, **{k: None for k in keys}))
    return out


def load_model_dir(path, build=None) -> models.TfsepModel:
    """Load a tfsep model directory (config + weights).

    Args:
        path: the directory.
        build: ``fn(config) -> keras.Model`` that loads the weights a
            config's ``init_from`` names; needed only by a cascade that stores
            its splitter alone (see :func:`stores_splitter_only`).
    """
    path = Path(path)
    if not is_model_dir(path):
        raise ModelError(f"{path}: not a tfsep model directory (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    config = load_config(path)
    if stores_splitter_only(config):
        if build is None:
            raise ModelError(
                f"{path}: its first network's weights come from {config['model']['params']['init_from']}; "
                "load it with tfsep.pretrained.load_model"
            )
        params = config["model"]["params"]  # the directory's splitter replaces splitter_init_from's
        model = build({**config, "model": {**config["model"], "params": {**params, "splitter_init_from": None}}})
    else:
        model = models.build(without_init_from(config))
    try:
        stored_part(model, config).load_weights(str(path / WEIGHTS_FILE))
    except Exception as exc:  # h5py/keras raise many types; all mean the same to a user
        raise ModelError(
            f"{path / WEIGHTS_FILE}: cannot load weights into the model its config describes ({exc})"
        ) from None
    return models.TfsepModel(model, config, str(path))


def check_weights(path) -> None:
    """Read every array of a model directory's weights file, without TensorFlow: truncated or corrupt fails here.

    A catalogue checks its model so before any worker starts (a worker that
    cannot load it would fail every input); reading a 40 MB file takes
    milliseconds, building the model seconds.

    Raises:
        ModelError: the file is missing, truncated or not HDF5.
    """
    import h5py

    weights = Path(path) / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"{path}: not a tfsep model directory (no {WEIGHTS_FILE})")

    def read(name, item):
        if isinstance(item, h5py.Dataset):
            item[()]

    try:
        with h5py.File(weights, "r") as f:
            f.visititems(read)
    except Exception as exc:  # h5py raises OSError, KeyError, RuntimeError ... for a damaged file
        why = " ".join(str(exc).split())[:200]
        raise ModelError(f"{weights}: cannot read the weights (truncated or corrupt: {why})") from None
