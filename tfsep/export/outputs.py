"""Where an export goes, checked before any model loads: the path, what is there already, whether it can be written."""

from __future__ import annotations

import os
from pathlib import Path

from ..audio.write_errors import unwritable_reason
from ..errors import OutputError


def tflite_paths(out, name: str, graph: str = "core", quantize: str = "none") -> tuple[Path, Path]:
    """``(model file, metadata file)`` of a TFLite export to ``out``: a ``.tflite`` file or a directory."""
    out = Path(out)
    if out.suffix != ".tflite":
        out = out / f"{name}_{graph}_{quantize}.tflite" if out.is_dir() or not out.suffix else out
    return out, out.with_suffix(".json")


def _check_parents(path: Path) -> None:
    """The nearest existing folder above ``path`` is a directory that can be written."""
    parent = Path(os.path.abspath(path)).parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: {unwritable_reason(parent)} ({parent})")


def check_export_output(
    out, fmt: str, *, version: int = 1, overwrite: bool = False, name=None, graph="core", quantize="none"
) -> None:
    """Refuse an export that could not be written, or that would replace something without ``overwrite``.

    Args:
        fmt: ``savedmodel`` (``out/<version>/``) or ``tflite``.
        name: the model's config name (a TFLite file inside a directory is
            named after it); None when not known yet.
    """
    out = Path(out)
    if fmt == "savedmodel":
        if int(version) < 0:
            raise OutputError(f"version must be a non-negative integer, got {version}")
        if out.exists() and not out.is_dir():
            raise OutputError(f"{out} is a file: a SavedModel goes in a directory (TF Serving's model base path)")
        target = out / str(int(version))
        if target.exists() and not overwrite:
            raise OutputError(f"{target} exists: pass --overwrite to replace it or choose another --version")
        _check_parents(target)
        return
    if name is None and out.suffix != ".tflite":
        _check_parents(out / "model.tflite")
        return
    for path in tflite_paths(out, name or "", graph, quantize):
        if path.is_dir():
            raise OutputError(f"{path} is a directory, cannot write the TFLite export there")
        if path.exists() and not overwrite:
            raise OutputError(f"{path} exists: pass --overwrite to replace it")
        _check_parents(path)
