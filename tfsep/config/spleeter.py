"""Spleeter's JSON configs converted to tfsep's schema (``instrument_list`` -> ``stems``, ...).

``model.type: unet.unet`` becomes ``unet`` with sigmoid masks and
``unet.softmax_unet`` the softmax head; Spleeter's training keys map to
tfsep's where the concept is the same and the rest are dropped.
"""

from __future__ import annotations

from typing import Any

from .schema import fail

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
                fail(source, "model", "must be an object")
            mtype = value.get("type", "unet.unet")
            params = dict(value.get("params", {}))
            if mtype not in ("unet.unet", "unet.softmax_unet"):
                fail(
                    source, "model.type", f"{mtype!r} is not supported (tfsep imports unet.unet and unet.softmax_unet)"
                )
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
                        fail(source, f"model.params.{pkey}", f"has unknown activation {pval!r}")
                    out_params[pkey] = name
                else:
                    fail(source, f"model.params.{pkey}", "is not a Spleeter U-Net parameter tfsep knows")
            cfg["model"] = {"type": "unet", "params": out_params}
        else:
            cfg[key] = value
    if training:
        cfg["training"] = training
    return cfg
