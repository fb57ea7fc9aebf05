"""Spleeter's 2D U-Net on the magnitude spectrogram (Jansson et al. 2017; Hennequin et al. 2020).

Encoder: ``depth`` convolutions (kernel k, stride 2), each followed by
normalisation and an activation; the raw convolution outputs are the skip
connections.  Decoder: transposed convolutions (kernel k, stride 2), each
followed by an activation, normalisation and (first ``dropout_layers``)
dropout, then concatenated with the skip of the same resolution.  A last
dilated 4x4 convolution gives one mask per channel.

As in Spleeter, the decoder starts from the raw output of the deepest
convolution; every detail here is kept so that Deezer's pretrained weights
import unchanged (see ``spleeter_import``).

Heads:
- ``sigmoid``: sigmoid masks, normalised across stems as ratio masks
  (``RatioMask``); with ``unet_per_stem`` one U-Net per stem (Spleeter).
- ``softmax``: a softmax over stems, masks sum to one; by default one U-Net
  predicts all masks (multi-mask head), or one U-Net per stem
  (Spleeter's ``softmax_unet``, whose softmax masks then go through the same
  ratio normalisation as the sigmoid head, as Spleeter does).

Layer names are ``<prefix>enc<i>_conv``, ``<prefix>enc<i>_norm``,
``<prefix>dec<i>_deconv``, ``<prefix>dec<i>_norm``, ``<prefix>mask_conv`` with
prefix ``<stem>_`` per stem or ``unet_`` for a shared U-Net.
"""

from __future__ import annotations

import keras
from keras import layers

from . import register
from .layers import LogMagnitude, RatioMask


def _activation(name, layer_name):
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2, name=layer_name)
    if name == "elu":
        return layers.ELU(name=layer_name)
    return layers.ReLU(name=layer_name)


def _norm(kind, name):
    if kind == "batch":
        # Keras 3 and Spleeter's tf.keras share BN's epsilon (1e-3) and momentum.
        return layers.BatchNormalization(axis=-1, name=name)
    return layers.Identity(name=name)


def unet_branch(x, params, out_channels, prefix, seed, final_activation):
    """One U-Net from input ``(B, T, F, C)`` to ``(B, T, F, out_channels)``."""
    filters = params["conv_n_filters"]
    k = params["kernel_size"]
    depth = len(filters)
    init = keras.initializers.HeUniform(seed=seed)
    skips = []
    for i, f in enumerate(filters, 1):
        conv = layers.Conv2D(f, k, strides=2, padding="same", kernel_initializer=init, name=f"{prefix}enc{i}_conv")(x)
        skips.append(conv)
        if i < depth:
            x = _norm(params["normalization"], f"{prefix}enc{i}_norm")(conv)
            x = _activation(params["conv_activation"], f"{prefix}enc{i}_act")(x)
    x = skips[-1]
    for j in range(1, depth + 1):
        n_filters = filters[depth - 1 - j] if j < depth else 1
        x = layers.Conv2DTranspose(
            n_filters, k, strides=2, padding="same", kernel_initializer=init, name=f"{prefix}dec{j}_deconv"
        )(x)
        x = _activation(params["deconv_activation"], f"{prefix}dec{j}_act")(x)
        x = _norm(params["normalization"], f"{prefix}dec{j}_norm")(x)
        if j < depth:
            if j <= params["dropout_layers"] and params["dropout"] > 0:
                x = layers.Dropout(params["dropout"], name=f"{prefix}dec{j}_dropout")(x)
            x = layers.Concatenate(axis=-1, name=f"{prefix}dec{j}_skip")([skips[depth - 1 - j], x])
    return layers.Conv2D(
        out_channels,
        (4, 4),
        dilation_rate=(2, 2),
        padding="same",
        activation=final_activation,
        kernel_initializer=init,
        name=f"{prefix}mask_conv",
    )(x)


@register("unet")
def build_unet(config):
    """Magnitude ``(B, T, F, C)`` -> masks ``(B, stems, T, F, C)``."""
    params = config["model"]["params"]
    stems = config["stems"]
    n_stems = len(stems)
    C = config["n_channels"]
    F = config["F"]
    mag = keras.Input(shape=(None, F, C), name="magnitude")
    x = LogMagnitude(name="log_magnitude")(mag) if params["input_scale"] == "log" else mag
    head = params["head"]
    final_act = "sigmoid" if head == "sigmoid" else None
    seed = params["seed"]

    if params["unet_per_stem"]:
        outs = []
        for s, stem in enumerate(stems):
            y = unet_branch(x, params, C, f"{stem}_", seed + 100 * s, final_act)
            outs.append(layers.Reshape((1, -1, F, C), name=f"{stem}_expand")(y))
        masks = layers.Concatenate(axis=1, name="stack_stems")(outs) if n_stems > 1 else outs[0]
    else:
        y = unet_branch(x, params, n_stems * C, "unet_", seed, final_act)
        y = layers.Reshape((-1, F, n_stems, C), name="split_stems")(y)
        masks = layers.Permute((3, 1, 2, 4), name="stems_first")(y)

    if head == "softmax":
        masks = layers.Softmax(axis=1, name="softmax_masks" if params["unet_per_stem"] else "masks")(masks)
    if head == "sigmoid" or params["unet_per_stem"]:
        # Spleeter normalises the per-stem outputs of both its heads this way.
        masks = RatioMask(exponent=config["separation_exponent"], name="masks")([masks, mag])
    return keras.Model(mag, masks, name=f"unet_{config['name']}")
