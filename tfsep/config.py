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
        # 2: Conv2D over (frames, bins); 1: Conv1D over frames, bins x channels as features.
        "conv_dim": (int, 2),
    },
    # InstanceNorm encoder, per-row BiLSTM bottleneck, attention-gated skips, softmax over stems.
    "enhanced_unet": {
        "conv_n_filters": (list, [16, 32, 64, 128, 256, 512]),
        "kernel_size": (int, 5),
        "normalization": (str, "instance"),
        "lstm_units": (int, 256),  # per direction; 0 = no BiLSTM bottleneck
        "lstm_layers": (int, 1),
        "attention": (bool, True),
        "dropout": (_NUMBER, 0.5),
        "dropout_layers": (int, 3),
        "input_scale": (str, "linear"),
        "seed": (int, 50),
    },
    # Wave-U-Net: waveform in, waveform stems out.
    "wave_unet": {
        "num_layers": (int, 12),
        "num_initial_filters": (int, 24),
        "filter_size": (int, 15),
        "merge_filter_size": (int, 5),
        "output_type": (str, "direct"),  # direct | difference (last stem = mixture - others)
        "output_activation": (str, "tanh"),
        "seed": (int, 50),
    },
    # Demucs-style conv/GLU encoder, BiLSTM bottleneck, transposed-conv decoder.
    "demucs": {
        "conv_dim": (int, 1),  # 1: Conv1D over time; 2: Conv2D over (time, audio channel)
        "channels": (int, 64),
        "growth": (_NUMBER, 2.0),
        "depth": (int, 6),
        "kernel_size": (int, 8),
        "stride": (int, 4),
        "lstm_layers": (int, 2),
        "normalize": (bool, True),
        "seed": (int, 50),
    },
    # A second U-Net refines the masks of a first spectrogram model.
    "stacked_unet": {
        "first": (dict, REQUIRED),  # {"type": "unet" | "enhanced_unet", "params": {...}}
        "refine": (dict, {}),  # REFINE_UNET params
        "use_mixture": (bool, True),
        "init_from": ((str, type(None)), None),  # model dir, pretrained name or .weights.h5 for the first net
        "freeze": (bool, False),
    },
}

# The refinement U-Net of stacked_unet: unet_branch params.
REFINE_UNET = {k: v for k, v in MODEL_TYPES["unet"].items() if k not in ("head", "unet_per_stem")}
REFINE_UNET["input_scale"] = (str, "log")
REFINE_UNET["seed"] = (int, 51)
STACKABLE_TYPES = ("unet", "enhanced_unet")

ACTIVATIONS = ("leaky_relu", "relu", "elu")
NORMALIZATIONS = ("batch", "none")

TRAINING = {
    "batch_size": (int, 4),
    "learning_rate": (_NUMBER, 1e-4),
    "train_max_steps": (int, 200000),
    "random_seed": (int, 0),
    # l1_masked_magnitude | l1_mask | mse_mask | l1_mrstft | neg_sdr (tfsep.training.losses)
    "loss": (str, "l1_masked_magnitude"),
    "loss_params": (dict, {}),
    "stem_weights": ((dict, type(None)), None),
    # Excerpt length; null = the model's input length (T frames for spectrogram models).
    "excerpt_seconds": ((int, float, type(None)), None),
    "checkpoint_every": (int, 1000),
    "validate_every": (int, 1000),
    "log_every": (int, 50),
    "keep_checkpoints": (int, 3),
    # Data: "folders" (stem folders, e.g. tfsep data synth output), "musdb" (.stem.mp4), "musdbhq" (WAV).
    "dataset": (str, "folders"),
    "train_path": ((str, type(None)), None),
    # folders: a second folder tree; null = the last validation_tracks tracks of train_path.
    # musdb/musdbhq: null = musdb's validation split of the train subset.
    "validation_path": ((str, type(None)), None),
    "validation_tracks": (int, 1),
    "validation_seconds": ((int, float, type(None)), 30.0),
    "audio_summaries": (int, 2),
    # Decoded audio cache: null = in memory; a directory = .npy files memory-mapped from disk.
    "data_cache": ((str, type(None)), None),
    "augment_gain": ((list, type(None)), [0.25, 1.25]),
    "augment_channel_swap": (bool, True),
    "augment_remix": (_NUMBER, 0.5),
    "augment_pitch_shift": (_NUMBER, 0),
    "augment_time_stretch": (_NUMBER, 0),
    "num_parallel_calls": ((int, type(None)), None),
    "optimizer": (str, "adam"),
    "weight_decay": (_NUMBER, 0.0),
    "clipnorm": ((int, float, type(None)), None),
    "lr_schedule": (str, "constant"),
    "warmup_steps": (int, 0),
    "lr_min": (_NUMBER, 0.0),
    "lr_plateau_patience": (int, 5),
    "lr_plateau_factor": (_NUMBER, 0.5),
    "early_stopping_patience": ((int, type(None)), None),
    "mixed_precision": (str, "auto"),
    "strategy": (str, "auto"),
    "init_from": ((str, type(None)), None),
}

LOSSES = {
    "l1_masked_magnitude": {},
    "l1_mask": {},
    "mse_mask": {},
    "l1_mrstft": {"time_weight": (_NUMBER, 0.85), "stft_weight": (_NUMBER, 0.15), "resolutions": (list, [512, 1024, 2048])},
    "neg_sdr": {},
}
OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "plateau", "cosine")
DATASETS = ("folders", "musdb", "musdbhq")
MIXED_PRECISION = ("auto", "on", "off")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")

SEPARATION = {
    # Segment length in seconds; None = the model's T frames.
    "segment": ((int, float, type(None)), None),
    # Overlap between segments, as a fraction of the segment length.
    "overlap": (_NUMBER, 0.125),
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
    _MODEL_VALIDATORS[mtype](params, cfg, source)
    cfg["model"] = {"type": mtype, "params": params}

    cfg["training"] = _check_section(cfg["training"], TRAINING, "training.", source)
    cfg["training"] = _validate_training(cfg["training"], cfg, source)
    cfg["separation"] = _check_section(cfg["separation"], SEPARATION, "separation.", source)
    sep = cfg["separation"]
    if sep["segment"] is not None and sep["segment"] <= 0:
        _fail(source, "separation.segment", "must be positive seconds or null")
    if not 0 <= sep["overlap"] < 1:
        _fail(source, "separation.overlap", f"must be a fraction in [0, 1), got {sep['overlap']}")
    if sep["batch_size"] < 1:
        _fail(source, "separation.batch_size", "must be >= 1")
    return cfg


def _validate_training(tr: dict, cfg: dict, source: str) -> dict:
    p = "training."

    def choice(key, options):
        if tr[key] not in options:
            _fail(source, p + key, f"must be one of {', '.join(options)}, got {tr[key]!r}")

    for key in ("batch_size", "train_max_steps", "checkpoint_every", "validate_every", "log_every", "keep_checkpoints", "validation_tracks"):
        if tr[key] < 1:
            _fail(source, p + key, f"must be >= 1, got {tr[key]}")
    for key in ("audio_summaries", "warmup_steps", "lr_plateau_patience"):
        if tr[key] < 0:
            _fail(source, p + key, f"must be >= 0, got {tr[key]}")
    if tr["learning_rate"] <= 0:
        _fail(source, p + "learning_rate", "must be positive")
    for key in ("excerpt_seconds", "validation_seconds", "clipnorm"):
        if tr[key] is not None and tr[key] <= 0:
            _fail(source, p + key, "must be positive or null")
    if tr["early_stopping_patience"] is not None and tr["early_stopping_patience"] < 1:
        _fail(source, p + "early_stopping_patience", "must be >= 1 or null")
    if tr["num_parallel_calls"] is not None and tr["num_parallel_calls"] < 1:
        _fail(source, p + "num_parallel_calls", "must be >= 1 or null (automatic)")
    choice("loss", tuple(LOSSES))
    tr["loss_params"] = _check_section(tr["loss_params"], LOSSES[tr["loss"]], p + "loss_params.", source)
    if tr["loss"] == "l1_mrstft":
        res = tr["loss_params"]["resolutions"]
        if not res or not all(isinstance(r, int) and not isinstance(r, bool) and r >= 16 for r in res):
            _fail(source, p + "loss_params.resolutions", "must list FFT sizes (integers >= 16)")
    choice("optimizer", OPTIMIZERS)
    choice("lr_schedule", LR_SCHEDULES)
    choice("dataset", DATASETS)
    choice("mixed_precision", MIXED_PRECISION)
    choice("strategy", STRATEGIES)
    if tr["weight_decay"] < 0:
        _fail(source, p + "weight_decay", "must be >= 0")
    if not 0 <= tr["lr_min"] <= tr["learning_rate"]:
        _fail(source, p + "lr_min", f"must be between 0 and learning_rate ({tr['learning_rate']})")
    if not 0 < tr["lr_plateau_factor"] < 1:
        _fail(source, p + "lr_plateau_factor", "must be in (0, 1)")
    if tr["stem_weights"] is not None:
        for stem, w in tr["stem_weights"].items():
            if stem not in cfg["stems"]:
                _fail(source, p + "stem_weights", f"names {stem!r}, which is not in stems ({', '.join(cfg['stems'])})")
            if isinstance(w, bool) or not isinstance(w, _NUMBER) or w < 0:
                _fail(source, p + f"stem_weights.{stem}", f"must be a number >= 0, got {w!r}")
    gain = tr["augment_gain"]
    if gain is not None and (len(gain) != 2 or not all(isinstance(g, _NUMBER) and not isinstance(g, bool) for g in gain) or not 0 <= gain[0] <= gain[1]):
        _fail(source, p + "augment_gain", f"must be [low, high] with 0 <= low <= high, or null; got {gain!r}")
    if not 0 <= tr["augment_remix"] <= 1:
        _fail(source, p + "augment_remix", "is a probability: must be in [0, 1]")
    if not 0 <= tr["augment_pitch_shift"] <= 12:
        _fail(source, p + "augment_pitch_shift", "must be 0 (off) to 12 semitones")
    if not 0 <= tr["augment_time_stretch"] < 0.5:
        _fail(source, p + "augment_time_stretch", "must be 0 (off) or a fraction below 0.5")
    return tr


def _validate_unet(params: dict, cfg: dict, source: str, p: str = "model.params.") -> None:
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
    if params["conv_dim"] not in (1, 2):
        _fail(source, p + "conv_dim", f"must be 1 or 2, got {params['conv_dim']}")
    factor = 2 ** len(filters)
    # A 1D U-Net strides over frames only: the bins are its features.
    for key in ("T", "F") if params["conv_dim"] == 2 else ("T",):
        if cfg[key] % factor:
            _fail(source, key, f"({cfg[key]}) must be a multiple of 2**depth = {factor} for a {len(filters)}-layer U-Net")


def _positive_ints(values) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)


def _validate_enhanced_unet(params: dict, cfg: dict, source: str, p: str = "model.params.") -> None:
    if len(cfg["stems"]) < 2:
        _fail(source, "stems", "must name at least 2 stems for a softmax over stems (enhanced_unet)")
    filters = params["conv_n_filters"]
    if not 2 <= len(filters) <= 10 or not _positive_ints(filters):
        _fail(source, p + "conv_n_filters", "must list 2 to 10 positive integers (one per encoder layer)")
    if not 1 <= params["kernel_size"] <= 15:
        _fail(source, p + "kernel_size", f"must be between 1 and 15, got {params['kernel_size']}")
    if params["normalization"] not in ("instance", "batch", "none"):
        _fail(source, p + "normalization", "must be one of instance, batch, none")
    if params["lstm_units"] < 0:
        _fail(source, p + "lstm_units", "must be >= 0 (0: no BiLSTM bottleneck)")
    if params["lstm_layers"] < 1:
        _fail(source, p + "lstm_layers", "must be >= 1")
    if not 0 <= params["dropout"] < 1:
        _fail(source, p + "dropout", "must be in [0, 1)")
    if params["dropout_layers"] < 0:
        _fail(source, p + "dropout_layers", "must be >= 0")
    if params["input_scale"] not in ("linear", "log"):
        _fail(source, p + "input_scale", "must be 'linear' or 'log'")


def _validate_wave_unet(params: dict, cfg: dict, source: str) -> None:
    p = "model.params."
    if not 1 <= params["num_layers"] <= 16:
        _fail(source, p + "num_layers", f"must be between 1 and 16, got {params['num_layers']}")
    for key in ("num_initial_filters", "filter_size", "merge_filter_size"):
        if params[key] < 1:
            _fail(source, p + key, f"must be >= 1, got {params[key]}")
    if params["output_type"] not in ("direct", "difference"):
        _fail(source, p + "output_type", f"must be 'direct' or 'difference', got {params['output_type']!r}")
    if params["output_type"] == "difference" and len(cfg["stems"]) < 2:
        _fail(source, p + "output_type", "'difference' needs at least 2 stems")
    if params["output_activation"] not in ("tanh", "linear"):
        _fail(source, p + "output_activation", "must be 'tanh' or 'linear'")


def _validate_demucs(params: dict, cfg: dict, source: str) -> None:
    p = "model.params."
    if params["conv_dim"] not in (1, 2):
        _fail(source, p + "conv_dim", f"must be 1 or 2, got {params['conv_dim']}")
    if not 1 <= params["depth"] <= 10:
        _fail(source, p + "depth", f"must be between 1 and 10, got {params['depth']}")
    for key in ("channels", "stride"):
        if params[key] < 1:
            _fail(source, p + key, f"must be >= 1, got {params[key]}")
    if params["kernel_size"] < params["stride"]:
        _fail(source, p + "kernel_size", f"({params['kernel_size']}) must be >= stride ({params['stride']}) or samples are skipped")
    if params["growth"] < 1:
        _fail(source, p + "growth", "must be >= 1")
    if params["lstm_layers"] < 0:
        _fail(source, p + "lstm_layers", "must be >= 0")


def _validate_stacked_unet(params: dict, cfg: dict, source: str) -> None:
    p = "model.params."
    first = params["first"]
    ftype = first.get("type")
    if ftype not in STACKABLE_TYPES:
        _fail(source, p + "first.type", f"must be one of {', '.join(STACKABLE_TYPES)} (a spectrogram mask model), got {ftype!r}")
    for key in first:
        if key not in ("type", "params"):
            _fail(source, f"{p}first.{key}", "is not a known key (known: type, params)")
    fparams = first.get("params", {})
    if not isinstance(fparams, dict):
        _fail(source, p + "first.params", "must be an object")
    fparams = _check_section(fparams, MODEL_TYPES[ftype], f"{p}first.params.", source)
    _MODEL_VALIDATORS[ftype](fparams, cfg, source, f"{p}first.params.")
    params["first"] = {"type": ftype, "params": fparams}
    refine = _check_section(params["refine"], REFINE_UNET, f"{p}refine.", source)
    _validate_unet({**refine, "head": "sigmoid", "unet_per_stem": False}, cfg, source, f"{p}refine.")
    params["refine"] = refine
    if params["init_from"] is not None and not params["init_from"]:
        _fail(source, p + "init_from", "must be a path, a model name or null")


_MODEL_VALIDATORS = {
    "unet": _validate_unet,
    "enhanced_unet": _validate_enhanced_unet,
    "wave_unet": _validate_wave_unet,
    "demucs": _validate_demucs,
    "stacked_unet": _validate_stacked_unet,
}


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
