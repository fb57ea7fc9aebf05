"""Demucs-style waveform U-Net (Défossez et al. 2019), 1D or on a 2D (time, channel) framing.

Encoder block i: conv (kernel ``kernel_size``, stride ``stride``, valid) ->
ReLU -> 1x1 conv to twice the channels -> GLU; channels grow by ``growth``.
Bottleneck: ``lstm_layers`` bidirectional LSTMs over time (``channels``
units per direction) and a linear projection back to the channels.
Decoder block i: add the skip -> 1x1 conv to twice the channels -> GLU ->
transposed conv (kernel, stride) -> ReLU (linear for the last block, which
gives ``stems * C`` channels).

The mixture is normalised by its (mono) standard deviation before the
encoder and the stems scaled back after the decoder (``MixtureNormalize`` /
``MixtureDenormalize``, as layers).  The input is zero-padded to Demucs'
valid length, where strided valid convolutions and transposed convolutions
round-trip exactly, and the output is cropped back: any length works.

``conv_dim: 2`` is the 2D variant: the waveform becomes an image of
``(time, audio channel)``; the strided convs are Conv2D with kernel
``(kernel_size, 1)`` (weights shared between audio channels), the 1x1
"rewrite" convs are Conv2D with kernel ``(1, C)`` (they mix the audio
channels), the LSTM sees the channels flattened into features, and the last
transposed conv gives one channel per stem at each (time, audio channel).
"""

from __future__ import annotations

import keras
from keras import layers

from .blocks import GLU, CropToLength, MixtureDenormalize, MixtureNormalize, PadToValidLength, demucs_valid_length


def valid_length(params: dict, length: int) -> int:
    """Input length the model computes on for ``length`` samples (it pads to it internally)."""
    return demucs_valid_length(length, params["depth"], params["kernel_size"], params["stride"])


def build_demucs(config):
    """Waveform ``(B, L, C)`` -> stems ``(B, stems, L, C)``."""
    p = config["model"]["params"]
    n_stems = len(config["stems"])
    C = config["n_channels"]
    depth, K, S = p["depth"], p["kernel_size"], p["stride"]
    two_d = p["conv_dim"] == 2
    init = keras.initializers.HeUniform(seed=p["seed"])
    conv_kw = dict(kernel_initializer=init)

    def conv(ch, name):  # the strided conv
        if two_d:
            return layers.Conv2D(ch, (K, 1), strides=(S, 1), padding="valid", name=name, **conv_kw)
        return layers.Conv1D(ch, K, strides=S, padding="valid", name=name, **conv_kw)

    def rewrite(ch, name):  # the 1x1 conv before a GLU
        if two_d:
            return layers.Conv2D(ch, (1, C), padding="same", name=name, **conv_kw)
        return layers.Conv1D(ch, 1, name=name, **conv_kw)

    def deconv(ch, name):
        if two_d:
            return layers.Conv2DTranspose(ch, (K, 1), strides=(S, 1), padding="valid", name=name, **conv_kw)
        return layers.Conv1DTranspose(ch, K, strides=S, padding="valid", name=name, **conv_kw)

    mix = keras.Input(shape=(None, C), name="waveform")
    x, mean, std = MixtureNormalize(name="normalize")(mix) if p["normalize"] else (mix, None, None)
    x = PadToValidLength(depth, K, S, name="pad_valid")(x)
    if two_d:
        x = layers.Reshape((-1, C, 1), name="to_image")(x)

    chans = [int(p["channels"] * p["growth"] ** i) for i in range(depth)]
    skips = []
    for i, ch in enumerate(chans, 1):
        x = conv(ch, f"enc{i}_conv")(x)
        x = layers.ReLU(name=f"enc{i}_relu")(x)
        x = rewrite(2 * ch, f"enc{i}_rewrite")(x)
        x = GLU(axis=-1, name=f"enc{i}_glu")(x)
        skips.append(x)

    if p["lstm_layers"]:
        feat = chans[-1] * (C if two_d else 1)
        h = layers.Reshape((-1, feat), name="lstm_flatten")(x) if two_d else x
        for n in range(p["lstm_layers"]):
            h = layers.Bidirectional(
                layers.LSTM(chans[-1], return_sequences=True, seed=p["seed"] + n), name=f"lstm{n + 1}"
            )(h)
        h = layers.Dense(feat, kernel_initializer=init, name="lstm_linear")(h)
        x = layers.Reshape((-1, C, chans[-1]), name="lstm_unflatten")(h) if two_d else h

    for j in range(depth, 0, -1):
        ch_out = chans[j - 2] if j > 1 else n_stems * (1 if two_d else C)
        x = layers.Add(name=f"dec{j}_skip")([x, skips[j - 1]])
        x = rewrite(2 * chans[j - 1], f"dec{j}_rewrite")(x)
        x = GLU(axis=-1, name=f"dec{j}_glu")(x)
        x = deconv(ch_out, f"dec{j}_deconv")(x)
        if j > 1:
            x = layers.ReLU(name=f"dec{j}_relu")(x)

    if two_d:
        y = layers.Permute((3, 1, 2), name="stems_first")(x)  # (B, S, L', C)
    else:
        y = layers.Reshape((-1, n_stems, C), name="split_stems")(x)
        y = layers.Permute((2, 1, 3), name="stems_first")(y)
    y = CropToLength(axis=2, name="crop_output" if p["normalize"] else "stems")([y, mix])
    if p["normalize"]:
        y = MixtureDenormalize(name="stems")([y, mean, std])
    return keras.Model(mix, y, name=f"demucs_{config['name']}")
