"""The one configuration schema of tfsep: load, convert, validate, default.

A config is JSON.  It describes the audio front end (sample rate, STFT), the
stems, the model, training and separation settings.  Spleeter's config files
are accepted as input too and converted (``instrument_list`` -> ``stems``,
``model.type: unet.unet`` -> ``unet`` with sigmoid masks, ...).

Validation happens here, before anything heavy is imported: an unknown key
or a wrong type is a ``ConfigError`` naming the key and the file.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from .errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

# name -> (type(s), default).  A default of REQUIRED means the key must be given.
REQUIRED = object()
_NUMBER = (int, float)

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
    "separation_exponent": (_NUMBER, 2.0),
    "model": (dict, REQUIRED),
    "training": (dict, {}),
    "separation": (dict, {}),
}

MODEL_TYPES = {
    # Spleeter's 2D U-Net; one U-Net per stem (sigmoid) or a softmax over stems.
    "unet": {
        "head": (str, "sigmoid"),
        "unet_per_stem": ((bool, type(None)), None),
        "conv_n_filters": (list, [16, 32, 64, 128, 256, 512]),
        "kernel_size": (int, 5),
        "conv_activation": (str, "leaky_relu"),
        "deconv_activation": (str, "relu"),
        "normalization": (str, "batch"),
        "dropout": (_NUMBER, 0.5),
        "dropout_layers": (int, 3),
        "input_scale": (str, "linear"),
        "seed": (int, 50),
    },
}

ACTIVATIONS = ("leaky_relu", "relu", "elu")
NORMALIZATIONS = ("batch", "none")

TRAINING = {
    "batch_size": (int, 4),
    "learning_rate": (_NUMBER, 1e-4),
    "train_max_steps": (int, 200000),
    "random_seed": (int, 0),
    "loss": (str, "l1_masked_magnitude"),
    "stem_weights": ((dict, type(None)), None),
    "excerpt_seconds": (_NUMBER, 11.88),
    "checkpoint_every": (int, 1000),
    "validate_every": (int, 1000),
}

SEPARATION = {
    # Segment length in seconds; None = the model's T frames.
    "segment": ((int, float, type(None)), None),
    # Overlap between segments, as a fraction of the segment length.
    "overlap": (_NUMBER, 0.25),
    "batch_size": (int, 1),
}

# Spleeter keys that describe its own training infrastructure: accepted from
# Spleeter files and dropped, since tfsep's loop is configured differently.
_SPLEETER_IGNORED = {
    "train_csv",
    "validation_csv",
    "model_dir",
    "mix_name",
    "training_cache",
    "validation_cache",
    "throttle_secs",
    "save_summary_steps",
}
_SPLEETER_TRAINING = {
    "learning_rate": "learning_rate",
    "batch_size": "batch_size",
    "train_max_steps": "train_max_steps",
    "random_seed": "random_seed",
    "save_checkpoints_steps": "checkpoint_every",
}
_SPLEETER_ACTIVATIONS = {"relu": "relu", "elu": "elu", "leakyrelu": "leaky_relu"}


def _type_name(types) -> str:
    if not isinstance(types, tuple):
        types = (types,)
    names = ["null" if t is type(None) else t.__name__ for t in types]
    return " or ".join(names)


def _check_section(values: dict, schema: dict, prefix: str, source: str) -> dict:
    out = {}
    for key in values:
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(f"{source}: unknown key '{prefix}{key}' (known keys: {known})")
    for key, (types, default) in schema.items():
        if key in values:
            value = values[key]
            # bool is an int in Python; never accept it where a number is meant.
            bad_bool = isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,))
            if bad_bool or not isinstance(value, types):
                raise ConfigError(
                    f"{source}: key '{prefix}{key}' must be {_type_name(types)}, "
                    f"got {type(value).__name__} {value!r}"
                )
            out[key] = copy.deepcopy(value)
        elif default is REQUIRED:
            raise ConfigError(f"{source}: missing required key '{prefix}{key}'")
        else:
            out[key] = copy.deepcopy(default)
    return out


def _fail(source: str, key: str, message: str):
    raise ConfigError(f"{source}: key '{key}' {message}")


def from_spleeter(raw: dict, source: str = "<config>") -> dict:
    """Convert a Spleeter JSON config (``instrument_list``, ``model.type``) to tfsep's schema."""
    cfg: dict[str, Any] = {}
    training: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "instrument_list":
            cfg["stems"] = value
        elif key in _SPLEETER_IGNORED:
            continue
        elif key in _SPLEETER_TRAINING:
            training[_SPLEETER_TRAINING[key]] = value
        elif key == "model":
            if not isinstance(value, dict):
                _fail(source, "model", "must be an object")
            mtype = value.get("type", "unet.unet")
            params = dict(value.get("params", {}))
            if mtype not in ("unet.unet", "unet.softmax_unet"):
                _fail(source, "model.type", f"{mtype!r} is not supported (tfsep imports unet.unet and unet.softmax_unet)")
            out_params: dict[str, Any] = {
                "head": "sigmoid" if mtype == "unet.unet" else "softmax",
                "unet_per_stem": True,
            }
            for pkey, pval in params.items():
                if pkey == "conv_n_filters":
                    out_params["conv_n_filters"] = pval
                elif pkey in ("conv_activation", "deconv_activation"):
                    name = _SPLEETER_ACTIVATIONS.get(str(pval).lower())
                    if name is None:
                        _fail(source, f"model.params.{pkey}", f"has unknown activation {pval!r}")
                    out_params[pkey] = name
                else:
                    _fail(source, f"model.params.{pkey}", "is not a Spleeter U-Net parameter tfsep knows")
            cfg["model"] = {"type": "unet", "params": out_params}
        else:
            cfg[key] = value
    if training:
        cfg["training"] = training
    return cfg


def validate(raw: dict, source: str = "<config>") -> dict:
    """Validate a config dict and fill in defaults; returns a new dict."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a config must be a JSON object, got {type(raw).__name__}")
    if "instrument_list" in raw:
        raw = from_spleeter(raw, source)
    cfg = _check_section(raw, TOP_LEVEL, "", source)

    stems = cfg["stems"]
    if not stems or not all(isinstance(s, str) and s for s in stems):
        _fail(source, "stems", "must be a non-empty list of stem names")
    if len(set(stems)) != len(stems):
        _fail(source, "stems", f"has duplicate names: {stems}")
    for s in stems:
        if not s.replace("_", "").replace("-", "").isalnum():
            _fail(source, "stems", f"name {s!r} may only hold letters, digits, '-' and '_'")
    for key in ("sample_rate", "n_channels", "frame_length", "frame_step", "T", "F"):
        if cfg[key] <= 0:
            _fail(source, key, f"must be positive, got {cfg[key]}")
    if cfg["n_channels"] not in (1, 2):
        _fail(source, "n_channels", f"must be 1 or 2, got {cfg['n_channels']}")
    if cfg["frame_step"] > cfg["frame_length"]:
        _fail(source, "frame_step", f"({cfg['frame_step']}) must not exceed frame_length ({cfg['frame_length']})")
    n_bins = cfg["frame_length"] // 2 + 1
    if cfg["F"] > n_bins:
        _fail(source, "F", f"({cfg['F']}) must not exceed frame_length // 2 + 1 = {n_bins}")
    if cfg["mask_extension"] not in ("zeros", "average"):
        _fail(source, "mask_extension", f"must be 'zeros' or 'average', got {cfg['mask_extension']!r}")
    if cfg["separation_exponent"] <= 0:
        _fail(source, "separation_exponent", "must be positive")

    model = cfg["model"]
    if "type" not in model:
        _fail(source, "model.type", "is missing")
    mtype = model["type"]
    if mtype not in MODEL_TYPES:
        _fail(source, "model.type", f"{mtype!r} is unknown (known: {', '.join(sorted(MODEL_TYPES))})")
    for key in model:
        if key not in ("type", "params"):
            _fail(source, f"model.{key}", "is not a known key (known: type, params)")
    params = model.get("params", {})
    if not isinstance(params, dict):
        _fail(source, "model.params", "must be an object")
    params = _check_section(params, MODEL_TYPES[mtype], "model.params.", source)
    if mtype == "unet":
        _validate_unet(params, cfg, source)
    cfg["model"] = {"type": mtype, "params": params}

    cfg["training"] = _check_section(cfg["training"], TRAINING, "training.", source)
    cfg["separation"] = _check_section(cfg["separation"], SEPARATION, "separation.", source)
    sep = cfg["separation"]
    if sep["segment"] is not None and sep["segment"] <= 0:
        _fail(source, "separation.segment", "must be positive seconds or null")
    if not 0 <= sep["overlap"] < 1:
        _fail(source, "separation.overlap", f"must be a fraction in [0, 1), got {sep['overlap']}")
    if sep["batch_size"] < 1:
        _fail(source, "separation.batch_size", "must be >= 1")
    return cfg


def _validate_unet(params: dict, cfg: dict, source: str) -> None:
    p = "model.params."
    if params["head"] not in ("sigmoid", "softmax"):
        _fail(source, p + "head", f"must be 'sigmoid' or 'softmax', got {params['head']!r}")
    if params["unet_per_stem"] is None:
        # Spleeter's sigmoid model runs one U-Net per stem; a softmax head
        # shares one U-Net that predicts every mask.
        params["unet_per_stem"] = params["head"] == "sigmoid"
    filters = params["conv_n_filters"]
    if not 2 <= len(filters) <= 10 or not all(isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in filters):
        _fail(source, p + "conv_n_filters", "must list 2 to 10 positive integers (one per encoder layer)")
    if not 1 <= params["kernel_size"] <= 15:
        _fail(source, p + "kernel_size", f"must be between 1 and 15, got {params['kernel_size']}")
    for key in ("conv_activation", "deconv_activation"):
        if params[key] not in ACTIVATIONS:
            _fail(source, p + key, f"must be one of {', '.join(ACTIVATIONS)}, got {params[key]!r}")
    if params["normalization"] not in NORMALIZATIONS:
        _fail(source, p + "normalization", f"must be one of {', '.join(NORMALIZATIONS)}")
    if not 0 <= params["dropout"] < 1:
        _fail(source, p + "dropout", "must be in [0, 1)")
    if params["input_scale"] not in ("linear", "log"):
        _fail(source, p + "input_scale", "must be 'linear' or 'log'")
    factor = 2 ** len(filters)
    for key in ("T", "F"):
        if cfg[key] % factor:
            _fail(source, key, f"({cfg[key]}) must be a multiple of 2**depth = {factor} for a {len(filters)}-layer U-Net")


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
