"""Import Deezer's Spleeter TF1 checkpoints into tfsep's Keras U-Net.

Spleeter builds its U-Nets with tf.keras layers and default names, one U-Net
per stem in ``instrument_list`` order, so the checkpoint holds
``conv2d``, ``conv2d_1``, ... (depth + 1 per stem: the encoder and the final
mask convolution), ``conv2d_transpose``, ... (depth per stem) and
``batch_normalization``, ... (2 * depth per stem: encoder then decoder).
This module maps those names onto tfsep's named layers, checks every shape,
and refuses to produce a model if any model variable is left unmatched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import models
from ..config import load_config
from ..errors import ModelError
from .modeldir import save_model_dir

# Variables Spleeter's training leaves in a checkpoint that are not model weights.
_NON_MODEL_PREFIXES = ("global_step", "beta1_power", "beta2_power")


def _keras_name(base: str, index: int) -> str:
    return base if index == 0 else f"{base}_{index}"


def checkpoint_prefix(ckpt_dir) -> str:
    ckpt_dir = Path(ckpt_dir)
    if not (ckpt_dir / "model.index").is_file():
        raise ModelError(f"{ckpt_dir}: not a Spleeter checkpoint directory (model.index missing)")
    return str(ckpt_dir / "model")


def variable_map(config: dict) -> dict:
    """tfsep (layer name, weight index) -> checkpoint variable name, for a Spleeter U-Net config."""
    params = config["model"]["params"]
    if config["model"]["type"] != "unet" or not params["unet_per_stem"]:
        raise ModelError(
            "Spleeter checkpoints hold one U-Net per stem: the config must use model.type 'unet' with unet_per_stem"
        )
    depth = len(params["conv_n_filters"])
    mapping = {}
    for s, stem in enumerate(config["stems"]):
        p = f"{stem}_"

        def conv(layer, idx):
            name = _keras_name("conv2d", idx)
            mapping[(layer, 0)] = f"{name}/kernel"
            mapping[(layer, 1)] = f"{name}/bias"

        def bn(layer, idx):
            name = _keras_name("batch_normalization", idx)
            for w, part in enumerate(("gamma", "beta", "moving_mean", "moving_variance")):
                mapping[(layer, w)] = f"{name}/{part}"

        for i in range(1, depth + 1):
            conv(f"{p}enc{i}_conv", s * (depth + 1) + i - 1)
            if i < depth:
                bn(f"{p}enc{i}_norm", s * 2 * depth + i - 1)
        conv(f"{p}mask_conv", s * (depth + 1) + depth)
        for j in range(1, depth + 1):
            idx = s * depth + j - 1
            name = _keras_name("conv2d_transpose", idx)
            mapping[(f"{p}dec{j}_deconv", 0)] = f"{name}/kernel"
            mapping[(f"{p}dec{j}_deconv", 1)] = f"{name}/bias"
            bn(f"{p}dec{j}_norm", s * 2 * depth + depth + j - 1)
    return mapping


def unused_in_graph(config: dict) -> set:
    """Checkpoint variables Spleeter's own graph never reads.

    Spleeter computes batch norm + activation on its deepest convolution and
    then discards it (its decoder starts from the raw convolution), so that
    batch norm's variables exist but never influence the output.
    """
    depth = len(config["model"]["params"]["conv_n_filters"])
    out = set()
    for s in range(len(config["stems"])):
        name = _keras_name("batch_normalization", s * 2 * depth + depth - 1)
        out.update(f"{name}/{part}" for part in ("gamma", "beta", "moving_mean", "moving_variance"))
    return out


def load_checkpoint_into(model, config: dict, ckpt_dir) -> None:
    """Copy a Spleeter checkpoint's weights into a tfsep U-Net built from ``config``."""
    import tensorflow as tf

    prefix = checkpoint_prefix(ckpt_dir)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as exc:  # tf raises DataLossError, NotFoundError, ...
        raise ModelError(f"{ckpt_dir}: cannot read Spleeter checkpoint ({type(exc).__name__}: {exc})") from None
    shapes = reader.get_variable_to_shape_map()
    mapping = variable_map(config)
    used = set()
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        new = []
        for w_idx, w in enumerate(weights):
            key = (layer.name, w_idx)
            if key not in mapping:
                raise ModelError(
                    f"Spleeter import: no checkpoint variable known for weight {w_idx} of layer {layer.name}"
                )
            var = mapping[key]
            if var not in shapes:
                raise ModelError(
                    f"{ckpt_dir}: checkpoint lacks variable {var} (for layer {layer.name}); is it a {config['name']} checkpoint?"
                )
            if tuple(shapes[var]) != tuple(w.shape):
                raise ModelError(
                    f"{ckpt_dir}: variable {var} has shape {tuple(shapes[var])}, layer {layer.name} expects {tuple(w.shape)}"
                )
            new.append(np.asarray(reader.get_tensor(var), dtype=w.dtype))
            used.add(var)
        layer.set_weights(new)
    missing = set(mapping.values()) - used
    if missing:
        raise ModelError(f"Spleeter import: model layers not found for {sorted(missing)[:5]}")
    skipped = unused_in_graph(config)
    leftover = sorted(
        v
        for v in shapes
        if v not in used and v not in skipped and not v.startswith(_NON_MODEL_PREFIXES) and "/Adam" not in v
    )
    if leftover:
        raise ModelError(
            f"{ckpt_dir}: checkpoint variables with no place in the {config['name']} model: {leftover[:8]}"
        )


def import_spleeter_checkpoint(ckpt_dir, name: str, dest) -> Path:
    """Convert a Spleeter checkpoint (``2stems``/``4stems``/``5stems``) into a tfsep model directory at ``dest``."""
    config = load_config(name)
    model = models.build(config)
    load_checkpoint_into(model, config, ckpt_dir)
    config = dict(config)
    config["description"] = config.get("description", "") + " Weights: Deezer's pretrained Spleeter model (MIT)."
    return save_model_dir(model, config, dest)
