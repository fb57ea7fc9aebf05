"""The Spleeter U-Net with Conv1D over time on spectrogram frames (``unet`` with ``conv_dim: 1``).

Each frame's ``F x C`` magnitudes are the input channels of a 1D U-Net over
time (the 1D/2D comparison of the literature): the same encoder/decoder as
``unet.unet_branch`` (``unet_body.encoder_decoder``) (kernel k, stride 2 over frames, skips of the raw conv
outputs, dropout in the first decoder blocks), a last dilated conv to
``F * out_channels`` channels, reshaped back to ``(T, F, out_channels)``.
Only ``T`` has to be a multiple of 2**depth.  Layer names match the 2D
U-Net's (``<prefix>enc<i>_conv``, ...).
"""

from __future__ import annotations

import keras
from keras import layers

from .unet_body import encoder_decoder


def unet_branch_1d(x, params, out_channels, prefix, seed, final_activation):
    """``(B, T, F, C)`` -> ``(B, T, F, out_channels)`` with convolutions over time only."""
    _, _, F, C = x.shape
    init = keras.initializers.HeUniform(seed=seed)
    x = layers.Reshape((-1, F * C), name=f"{prefix}frames")(x)
    x = encoder_decoder(x, params, prefix, init, layers.Conv1D, layers.Conv1DTranspose, params["conv_n_filters"][0])
    y = layers.Conv1D(
        F * out_channels,
        4,
        dilation_rate=2,
        padding="same",
        activation=final_activation,
        kernel_initializer=init,
        name=f"{prefix}mask_conv",
    )(x)
    return layers.Reshape((-1, F, out_channels), name=f"{prefix}bins")(y)
