"""The run directory: what it holds, the checks before a run may use it, and how its files are written.

A run directory holds::

    config.json, model.weights.h5   a tfsep model directory (best validation weights,
                                    or the last ones if never validated): `tfsep separate -m RUN_DIR`
    checkpoints/                    tf.train.CheckpointManager: model, optimizer, step,
                                    validation state (best SDR, early stopping, LR plateau)
    best.weights.h5                 weights at the best validation SDR so far
    logs/                           TensorBoard: losses, learning rate, validation SDR, audio
    history.json                    validation results per step

Files that a reader may see at any moment (config, history, best weights)
are written to a temp name and renamed into place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..config import load_config
from ..errors import TfsepError
from ..pretrained.modeldir import write_model_files

CHECKPOINT_DIR = "checkpoints"
BEST_WEIGHTS = "best.weights.h5"


class RunDirError(TfsepError):
    """The run directory cannot be used as asked (exists without --resume, holds another model)."""


def _model_section(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("stems", "sample_rate", "n_channels", "frame_length", "frame_step", "F", "model")}


def check_run_dir(run_dir: Path, config: dict, resume: bool) -> None:
    """Refuse a run directory that holds a run unless resuming, and a resume with another model/audio config."""
    ckpt = run_dir / CHECKPOINT_DIR
    has_ckpt = ckpt.is_dir() and any(ckpt.iterdir())
    if has_ckpt and not resume:
        raise RunDirError(
            f"{run_dir}: already holds a training run; pass --resume to continue it or choose another directory"
        )
    saved = run_dir / "config.json"
    if resume and saved.is_file():
        old = load_config(saved)
        if _model_section(old) != _model_section(config):
            raise RunDirError(f"{run_dir}: was trained with another model/audio config; resume with the same config")


def prepare_out_dir(run_dir: Path, config: dict, is_chief: bool, role: str) -> Path:
    """The chief writes into the run directory, other workers into their own ``.worker-<role>``."""
    out_dir = run_dir if is_chief else run_dir / f".worker-{role}"
    out_dir.mkdir(parents=True, exist_ok=True)
    if is_chief:
        write_atomic(run_dir / "config.json", json.dumps(config, indent=2) + "\n")
    return out_dir


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_weights_atomic(model, path: Path) -> None:
    """Save ``model``'s weights to ``path`` through a temp file renamed into place."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")  # keras wants the .weights.h5 suffix
    model.save_weights(str(tmp))
    os.replace(tmp, path)


def write_model_dir(out_dir: Path, config: dict, model) -> None:
    """The run directory becomes a tfsep model directory: best validation weights (else the last)."""
    best = out_dir / BEST_WEIGHTS
    write_model_files(out_dir, config, model, weights_from=best if best.is_file() else None)
