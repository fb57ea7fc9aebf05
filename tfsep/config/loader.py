"""The one configuration schema of tfsep: load, validate, default (top level and separation).

A config is JSON.  It describes the audio front end (sample rate, STFT), the
stems, the model, training and separation settings.  Spleeter's config files
are accepted as input too and converted (:mod:`tfsep.config.spleeter`).

Validation happens here, before anything heavy is imported: an unknown key
or a wrong type is a ``ConfigError`` naming the key and the file.  The
``model.params`` schema of each model family lives in
:mod:`tfsep.config.model_params`, the ``training`` section's in
:mod:`tfsep.config.training_section`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import ConfigError
from .model_params import validate_model
from .schema import NUMBER, REQUIRED, check_section, fail
from .spleeter import from_spleeter
from .training_section import validate_training

# The packaged configs (tfsep/configs, a link to the repository's configs/).
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

# What spectrogram models put in the bins above F: silence (Spleeter) or each frame's mean mask.
MASK_EXTENSIONS = ("zeros", "average")

TOP_LEVEL = {
    "name": (str, "unnamed"),
    "description": (str, ""),
    "sample_rate": (int, 44100),
    "n_channels": (int, 2),
    "stems": (list, REQUIRED),
    "frame_length": (int, 4096),
    "frame_step": (int, 1024),
    "T": (int, 512),
    "F": (int, 1024),
    "mask_extension": (str, "zeros"),
    "separation_exponent": (NUMBER, 2.0),
    "model": (dict, REQUIRED),
    "training": (dict, {}),
    "separation": (dict, {}),
}

# Upper bounds of the sizes (Spleeter: T 512, F 1024, frame_length 4096; Demucs: 44.1 kHz, 10 s excerpts).
LIMITS = {"sample_rate": 384000, "frame_length": 65536, "T": 16384, "F": 32769}

SEPARATION = {
    # Segment length in seconds; None = the model's T frames.
    "segment": ((int, float, type(None)), None),
    # Overlap between segments, as a fraction of the segment length.
    "overlap": (NUMBER, 0.125),
    "batch_size": (int, 1),
}
# The one overlap range (configs, Separator, --overlap).  Segments may share at most half their length:
# beyond, every sample is separated three times or more (0.99 would be a hundred), for crossfades longer
# than the part of a segment that is not faded.
MAX_OVERLAP = 0.5
# The one batch range: segments per model call.  A batch is read and held whole, with its spectrograms
# (about 70 MB a segment for Spleeter's models): beyond this, memory, not speed, is what grows.
MAX_BATCH_SIZE = 64


def validate(raw: dict, source: str = "<config>") -> dict:
    """Validate a config dict and fill in defaults; returns a new dict."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a config must be a JSON object, got {type(raw).__name__}")
    if "instrument_list" in raw:
        raw = from_spleeter(raw, source)
    cfg = check_section(raw, TOP_LEVEL, "", source)

    stems = cfg["stems"]
    if not stems or not all(isinstance(s, str) and s for s in stems):
        fail(source, "stems", "must be a non-empty list of stem names")
    if len(set(stems)) != len(stems):
        fail(source, "stems", f"has duplicate names: {stems}")
    for s in stems:
        if not s.replace("_", "").replace("-", "").isalnum():
            fail(source, "stems", f"name {s!r} may only hold letters, digits, '-' and '_'")
    for key in ("sample_rate", "n_channels", "frame_length", "frame_step", "T", "F"):
        if cfg[key] <= 0:
            fail(source, key, f"must be positive, got {cfg[key]}")
    # Sizes no model of the field uses, and that would exhaust any machine's memory.
    for key, most in LIMITS.items():
        if cfg[key] > most:
            fail(source, key, f"must be at most {most}, got {cfg[key]}")
    if cfg["n_channels"] not in (1, 2):
        fail(source, "n_channels", f"must be 1 or 2, got {cfg['n_channels']}")
    if cfg["frame_step"] > cfg["frame_length"]:
        fail(source, "frame_step", f"({cfg['frame_step']}) must not exceed frame_length ({cfg['frame_length']})")
    n_bins = cfg["frame_length"] // 2 + 1
    if cfg["F"] > n_bins:
        fail(source, "F", f"({cfg['F']}) must not exceed frame_length // 2 + 1 = {n_bins}")
    if cfg["mask_extension"] not in MASK_EXTENSIONS:
        fail(source, "mask_extension", f"must be one of {', '.join(MASK_EXTENSIONS)}, got {cfg['mask_extension']!r}")
    if cfg["separation_exponent"] <= 0:
        fail(source, "separation_exponent", "must be positive")

    cfg["model"] = validate_model(cfg["model"], cfg, source)

    cfg["training"] = validate_training(cfg["training"], cfg, source)
    cfg["separation"] = check_section(cfg["separation"], SEPARATION, "separation.", source)
    sep = cfg["separation"]
    if sep["segment"] is not None and sep["segment"] <= 0:
        fail(source, "separation.segment", "must be positive seconds or null")
    if not 0 <= sep["overlap"] <= MAX_OVERLAP:
        fail(source, "separation.overlap", f"must be a fraction in [0, {MAX_OVERLAP}], got {sep['overlap']}")
    if not 1 <= sep["batch_size"] <= MAX_BATCH_SIZE:
        fail(source, "separation.batch_size", f"must be between 1 and {MAX_BATCH_SIZE}, got {sep['batch_size']}")
    return cfg


def builtin_config_names() -> list[str]:
    """Names of the configs shipped with tfsep (``2stems``, ``4stems``, ...)."""
    if not CONFIG_DIR.is_dir():
        return []
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def load_config(source: str | os.PathLike | dict) -> dict:
    """Load and validate a config: a dict, a JSON path, a model directory or a built-in name."""
    if isinstance(source, dict):
        return validate(source, "<config>")
    path = Path(source)
    if path.is_dir():
        path = path / "config.json"
    elif not path.exists() and not str(source).endswith(".json") and os.sep not in str(source):
        builtin = CONFIG_DIR / f"{source}.json"
        if not builtin.exists():
            names = ", ".join(builtin_config_names())
            raise ConfigError(f"{source}: no such config file or built-in config (built-in: {names})")
        path = builtin
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return validate(raw, str(path))


def segment_samples(cfg: dict) -> int:
    """Samples per separation segment such that its STFT fills exactly ``T`` frames."""
    # pad_end framing yields ceil(n / frame_step) frames (see audio.spectral).
    return cfg["T"] * cfg["frame_step"]
