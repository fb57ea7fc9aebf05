"""The Spleeter U-Net with Conv1D over time on spectrogram frames (``unet`` with ``conv_dim: 1``).

Each frame's ``F x C`` magnitudes are the input channels of a 1D U-Net over
time (the 1D/2D comparison of the literature): the same encoder/decoder as
``unet.unet_branch`` (kernel k, stride 2 over frames, skips of the raw conv
outputs, dropout in the first decoder blocks), a last dilated conv to
``F * out_channels`` channels, reshaped back to ``(T, F, out_channels)``.
Only ``T`` has to be a multiple of 2**depth.  Layer names match the 2D
U-Net's (``<prefix>enc<i>_conv``, ...).
"""

from __future__ import annotations

import keras
from keras import layers


def unet_branch_1d(x, params, out_channels, prefix, seed, final_activation):
    """``(B, T, F, C)`` -> ``(B, T, F, out_channels)`` with convolutions over time only."""
    from .unet import _activation, _norm

    _, _, F, C = x.shape
    filters = params["conv_n_filters"]
    k = params["kernel_size"]
    depth = len(filters)
    init = keras.initializers.HeUniform(seed=seed)
    x = layers.Reshape((-1, F * C), name=f"{prefix}frames")(x)
    skips = []
    for i, f in enumerate(filters, 1):
        conv = layers.Conv1D(f, k, strides=2, padding="same", kernel_initializer=init, name=f"{prefix}enc{i}_conv")(x)
        skips.append(conv)
        if i < depth:
            x = _norm(params["normalization"], f"{prefix}enc{i}_norm")(conv)
            x = _activation(params["conv_activation"], f"{prefix}enc{i}_act")(x)
    x = skips[-1]
    for j in range(1, depth + 1):
        n_filters = filters[depth - 1 - j] if j < depth else filters[0]
        x = layers.Conv1DTranspose(n_filters, k, strides=2, padding="same", kernel_initializer=init, name=f"{prefix}dec{j}_deconv")(x)
        x = _activation(params["deconv_activation"], f"{prefix}dec{j}_act")(x)
        x = _norm(params["normalization"], f"{prefix}dec{j}_norm")(x)
        if j < depth:
            if j <= params["dropout_layers"] and params["dropout"] > 0:
                x = layers.Dropout(params["dropout"], name=f"{prefix}dec{j}_dropout")(x)
            x = layers.Concatenate(axis=-1, name=f"{prefix}dec{j}_skip")([skips[depth - 1 - j], x])
    y = layers.Conv1D(
        F * out_channels, 4, dilation_rate=2, padding="same", activation=final_activation,
        kernel_initializer=init, name=f"{prefix}mask_conv",
    )(x)
    return layers.Reshape((-1, F, out_channels), name=f"{prefix}bins")(y)
