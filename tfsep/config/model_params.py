"""Per-family model schemas: the keys of ``model.params`` for each ``model.type`` and their checks.

Each family has a section ``MODEL_TYPES[type]`` (``{key: (types, default)}``)
and a validator ``MODEL_VALIDATORS[type](params, cfg, source)`` for what
types alone cannot say (value ranges, T/F divisible by the U-Net's stride,
...).  :func:`validate_model` applies both to a config's ``model`` object.
Adding a family to the registry (``tfsep.models``) means adding it here.
"""

from __future__ import annotations

from .schema import NUMBER, REQUIRED, check_section, fail

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
        "dropout": (NUMBER, 0.5),
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
        "dropout": (NUMBER, 0.5),
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
        "growth": (NUMBER, 2.0),
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
    # A frozen vocal separator (first), then a splitter of what it leaves (drums, bass, other...).
    "cascade": {
        "first": (dict, REQUIRED),  # {"type": "unet" | "enhanced_unet", "params": {...}}: the vocal model
        "first_stems": (list, ["vocals", "accompaniment"]),  # its stems; the first is the cascade's first stem
        "first_F": (int, 1024),  # the bins it sees (Spleeter's 2stems: 1024, 11 kHz)
        "init_from": ((str, type(None)), None),  # its weights: a pretrained name, model dir or .weights.h5
        "freeze": (bool, True),
        "vocal_mask_extension": (str, "average"),  # its mask over bins first_F..F
        "splitter": (dict, REQUIRED),  # {"type": ..., "params": {...}} over all F bins, stems[1:]
        "splitter_init_from": ((str, type(None)), None),  # a model dir of a splitter trained alone
    },
}

# The refinement U-Net of stacked_unet: unet_branch params.
REFINE_UNET = {k: v for k, v in MODEL_TYPES["unet"].items() if k not in ("head", "unet_per_stem")}
REFINE_UNET["input_scale"] = (str, "log")
REFINE_UNET["seed"] = (int, 51)
STACKABLE_TYPES = ("unet", "enhanced_unet")

ACTIVATIONS = ("leaky_relu", "relu", "elu")
NORMALIZATIONS = ("batch", "none")


# Spleeter's widest layer has 512 filters; 4096 is far past any published U-Net.
MAX_FILTERS = 4096


def _validate_unet(params: dict, cfg: dict, source: str, p: str = "model.params.") -> None:
    if params["head"] not in ("sigmoid", "softmax"):
        fail(source, p + "head", f"must be 'sigmoid' or 'softmax', got {params['head']!r}")
    if params["unet_per_stem"] is None:
        # Spleeter's sigmoid model runs one U-Net per stem; a softmax head
        # shares one U-Net that predicts every mask.
        params["unet_per_stem"] = params["head"] == "sigmoid"
    filters = params["conv_n_filters"]
    _check_filters(filters, source, p)
    if not 1 <= params["kernel_size"] <= 15:
        fail(source, p + "kernel_size", f"must be between 1 and 15, got {params['kernel_size']}")
    for key in ("conv_activation", "deconv_activation"):
        if params[key] not in ACTIVATIONS:
            fail(source, p + key, f"must be one of {', '.join(ACTIVATIONS)}, got {params[key]!r}")
    if params["normalization"] not in NORMALIZATIONS:
        fail(source, p + "normalization", f"must be one of {', '.join(NORMALIZATIONS)}")
    if not 0 <= params["dropout"] < 1:
        fail(source, p + "dropout", "must be in [0, 1)")
    if params["input_scale"] not in ("linear", "log"):
        fail(source, p + "input_scale", "must be 'linear' or 'log'")
    if params["conv_dim"] not in (1, 2):
        fail(source, p + "conv_dim", f"must be 1 or 2, got {params['conv_dim']}")
    factor = 2 ** len(filters)
    # A 1D U-Net strides over frames only: the bins are its features.
    for key in ("T", "F") if params["conv_dim"] == 2 else ("T",):
        if cfg[key] % factor:
            fail(
                source, key, f"({cfg[key]}) must be a multiple of 2**depth = {factor} for a {len(filters)}-layer U-Net"
            )


def _check_filters(filters, source: str, p: str) -> None:
    if not 2 <= len(filters) <= 10 or not all(
        isinstance(f, int) and not isinstance(f, bool) and 0 < f <= MAX_FILTERS for f in filters
    ):
        fail(
            source, p + "conv_n_filters", f"must list 2 to 10 integers from 1 to {MAX_FILTERS} (one per encoder layer)"
        )


def _validate_enhanced_unet(params: dict, cfg: dict, source: str, p: str = "model.params.") -> None:
    if len(cfg["stems"]) < 2:
        fail(source, "stems", "must name at least 2 stems for a softmax over stems (enhanced_unet)")
    filters = params["conv_n_filters"]
    _check_filters(filters, source, p)
    if not 1 <= params["kernel_size"] <= 15:
        fail(source, p + "kernel_size", f"must be between 1 and 15, got {params['kernel_size']}")
    if params["normalization"] not in ("instance", "batch", "none"):
        fail(source, p + "normalization", "must be one of instance, batch, none")
    if params["lstm_units"] < 0:
        fail(source, p + "lstm_units", "must be >= 0 (0: no BiLSTM bottleneck)")
    if params["lstm_layers"] < 1:
        fail(source, p + "lstm_layers", "must be >= 1")
    if not 0 <= params["dropout"] < 1:
        fail(source, p + "dropout", "must be in [0, 1)")
    if params["dropout_layers"] < 0:
        fail(source, p + "dropout_layers", "must be >= 0")
    if params["input_scale"] not in ("linear", "log"):
        fail(source, p + "input_scale", "must be 'linear' or 'log'")


def _validate_wave_unet(params: dict, cfg: dict, source: str) -> None:
    p = "model.params."
    if not 1 <= params["num_layers"] <= 16:
        fail(source, p + "num_layers", f"must be between 1 and 16, got {params['num_layers']}")
    for key in ("num_initial_filters", "filter_size", "merge_filter_size"):
        if params[key] < 1:
            fail(source, p + key, f"must be >= 1, got {params[key]}")
    if params["output_type"] not in ("direct", "difference"):
        fail(source, p + "output_type", f"must be 'direct' or 'difference', got {params['output_type']!r}")
    if params["output_type"] == "difference" and len(cfg["stems"]) < 2:
        fail(source, p + "output_type", "'difference' needs at least 2 stems")
    if params["output_activation"] not in ("tanh", "linear"):
        fail(source, p + "output_activation", "must be 'tanh' or 'linear'")


def _validate_demucs(params: dict, cfg: dict, source: str) -> None:
    p = "model.params."
    if params["conv_dim"] not in (1, 2):
        fail(source, p + "conv_dim", f"must be 1 or 2, got {params['conv_dim']}")
    if not 1 <= params["depth"] <= 10:
        fail(source, p + "depth", f"must be between 1 and 10, got {params['depth']}")
    for key in ("channels", "stride"):
        if params[key] < 1:
            fail(source, p + key, f"must be >= 1, got {params[key]}")
    if params["kernel_size"] < params["stride"]:
        fail(
            source,
            p + "kernel_size",
            f"({params['kernel_size']}) must be >= stride ({params['stride']}) or samples are skipped",
        )
    if params["growth"] < 1:
        fail(source, p + "growth", "must be >= 1")
    if params["lstm_layers"] < 0:
        fail(source, p + "lstm_layers", "must be >= 0")


def _validate_stacked_unet(params: dict, cfg: dict, source: str) -> None:
    p = "model.params."
    first = params["first"]
    ftype = first.get("type")
    if ftype not in STACKABLE_TYPES:
        fail(
            source,
            p + "first.type",
            f"must be one of {', '.join(STACKABLE_TYPES)} (a spectrogram mask model), got {ftype!r}",
        )
    for key in first:
        if key not in ("type", "params"):
            fail(source, f"{p}first.{key}", "is not a known key (known: type, params)")
    fparams = first.get("params", {})
    if not isinstance(fparams, dict):
        fail(source, p + "first.params", "must be an object")
    fparams = check_section(fparams, MODEL_TYPES[ftype], f"{p}first.params.", source)
    MODEL_VALIDATORS[ftype](fparams, cfg, source, f"{p}first.params.")
    params["first"] = {"type": ftype, "params": fparams}
    refine = check_section(params["refine"], REFINE_UNET, f"{p}refine.", source)
    _validate_unet({**refine, "head": "sigmoid", "unet_per_stem": False}, cfg, source, f"{p}refine.")
    params["refine"] = refine
    if params["init_from"] is not None and not params["init_from"]:
        fail(source, p + "init_from", "must be a path, a model name or null")


def _validate_subnet(spec, what: str, cfg: dict, source: str) -> dict:
    """A nested ``{"type", "params"}`` spectrogram model, checked against ``cfg`` (its own F and stems)."""
    p = f"model.params.{what}."
    if not isinstance(spec, dict):
        fail(source, p[:-1], "must be an object with type and params")
    if spec.get("type") not in STACKABLE_TYPES:
        fail(source, p + "type", f"must be one of {', '.join(STACKABLE_TYPES)}, got {spec.get('type')!r}")
    for key in spec:
        if key not in ("type", "params"):
            fail(source, p + key, "is not a known key (known: type, params)")
    params = spec.get("params", {})
    if not isinstance(params, dict):
        fail(source, p + "params", "must be an object")
    params = check_section(params, MODEL_TYPES[spec["type"]], p + "params.", source)
    MODEL_VALIDATORS[spec["type"]](params, cfg, source, p + "params.")
    return {"type": spec["type"], "params": params}


def _validate_cascade(params: dict, cfg: dict, source: str) -> None:
    p = "model.params."
    stems, first_stems = cfg["stems"], params["first_stems"]
    if len(first_stems) < 2 or not all(isinstance(s, str) and s for s in first_stems):
        fail(source, p + "first_stems", "must list the vocal model's stems (at least 2 names)")
    if len(stems) < 2 or stems[0] != first_stems[0]:
        fail(
            source,
            "stems",
            f"a cascade's first stem must be its first model's ({first_stems[0]!r}), then the splitter's",
        )
    if not 1 <= params["first_F"] <= cfg["F"]:
        fail(source, p + "first_F", f"must be between 1 and F ({cfg['F']}), got {params['first_F']}")
    if params["vocal_mask_extension"] not in ("zeros", "average"):
        fail(source, p + "vocal_mask_extension", "must be 'zeros' or 'average'")
    params["first"] = _validate_subnet(
        params["first"], "first", {**cfg, "F": params["first_F"], "stems": list(first_stems)}, source
    )
    params["splitter"] = _validate_subnet(params["splitter"], "splitter", {**cfg, "stems": list(stems[1:])}, source)
    for key in ("init_from", "splitter_init_from"):
        if params[key] is not None and not params[key]:
            fail(source, p + key, "must be a path, a model name or null")


MODEL_VALIDATORS = {
    "unet": _validate_unet,
    "enhanced_unet": _validate_enhanced_unet,
    "wave_unet": _validate_wave_unet,
    "demucs": _validate_demucs,
    "stacked_unet": _validate_stacked_unet,
    "cascade": _validate_cascade,
}


def validate_model(model: dict, cfg: dict, source: str) -> dict:
    """Check a config's ``model`` object (``type`` + ``params``) and fill in the family's defaults."""
    if "type" not in model:
        fail(source, "model.type", "is missing")
    mtype = model["type"]
    if mtype not in MODEL_TYPES:
        fail(source, "model.type", f"{mtype!r} is unknown (known: {', '.join(sorted(MODEL_TYPES))})")
    for key in model:
        if key not in ("type", "params"):
            fail(source, f"model.{key}", "is not a known key (known: type, params)")
    params = model.get("params", {})
    if not isinstance(params, dict):
        fail(source, "model.params", "must be an object")
    params = check_section(params, MODEL_TYPES[mtype], "model.params.", source)
    MODEL_VALIDATORS[mtype](params, cfg, source)
    return {"type": mtype, "params": params}
