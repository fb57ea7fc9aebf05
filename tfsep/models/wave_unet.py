"""Wave-U-Net (Stoller et al. 2018): a 1D U-Net on the raw waveform with direct stem outputs.

Downsampling block i (1..L): Conv1D(``num_initial_filters * i``, kernel
``filter_size``) -> leaky ReLU -> the skip; then decimation by 2 (keep every
other sample).  Bottleneck: Conv1D(``num_initial_filters * (L + 1)``).
Upsampling block i (L..1): linear upsampling x2 (no learned weights) ->
explicit crop/pad to the skip's length -> concatenation with the skip ->
Conv1D(``num_initial_filters * i``, kernel ``merge_filter_size``) -> leaky ReLU.
The input mixture is concatenated before the output conv (1x1), which gives
``stems * C`` channels (tanh or linear).

Convolutions pad "same" and the model pads its input at the end to a multiple
of 2**L (``PadToMultiple``) and crops its output back, so any input length
works and every skip matches exactly; ``MatchShape`` still crops/pads each
skip explicitly, so the alignment never depends on that arithmetic.

``output_type: difference`` predicts ``stems - 1`` stems and makes the last
one the mixture minus the others (the stems sum to the mixture exactly).
"""

from __future__ import annotations

import keras
from keras import layers

from .blocks import CropToLength, Decimate, DifferenceOutput, LinearUpsample1D, MatchShape, PadToMultiple


def valid_length(params: dict, length: int) -> int:
    """Input length the model computes on for ``length`` samples (it pads to it internally)."""
    m = 2 ** params["num_layers"]
    return -(-length // m) * m


def build_wave_unet(config):
    """Waveform ``(B, L, C)`` -> stems ``(B, stems, L, C)``."""
    p = config["model"]["params"]
    n_stems = len(config["stems"])
    C = config["n_channels"]
    depth = p["num_layers"]
    nf = p["num_initial_filters"]
    init = keras.initializers.HeUniform(seed=p["seed"])

    mix = keras.Input(shape=(None, C), name="waveform")
    x = PadToMultiple(2**depth, name="pad_valid")(mix)
    padded = x
    skips = []
    for i in range(1, depth + 1):
        x = layers.Conv1D(nf * i, p["filter_size"], padding="same", kernel_initializer=init, name=f"down{i}_conv")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"down{i}_act")(x)
        skips.append(x)
        x = Decimate(name=f"down{i}_decimate")(x)
    x = layers.Conv1D(
        nf * (depth + 1), p["filter_size"], padding="same", kernel_initializer=init, name="bottleneck_conv"
    )(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="bottleneck_act")(x)
    for i in range(depth, 0, -1):
        x = LinearUpsample1D(name=f"up{i}_upsample")(x)
        skip = skips[i - 1]
        x = MatchShape(axes=(1,), name=f"up{i}_crop")([x, skip])
        x = layers.Concatenate(axis=-1, name=f"up{i}_skip")([x, skip])
        x = layers.Conv1D(nf * i, p["merge_filter_size"], padding="same", kernel_initializer=init, name=f"up{i}_conv")(
            x
        )
        x = layers.LeakyReLU(negative_slope=0.2, name=f"up{i}_act")(x)
    x = layers.Concatenate(axis=-1, name="concat_mixture")([x, padded])

    difference = p["output_type"] == "difference"
    n_out = n_stems - 1 if difference else n_stems
    act = "tanh" if p["output_activation"] == "tanh" else None
    y = layers.Conv1D(
        n_out * C,
        1,
        activation=act,
        kernel_initializer=keras.initializers.GlorotUniform(seed=p["seed"]),
        name="output_conv",
    )(x)
    y = CropToLength(axis=1, name="crop_output")([y, mix])
    y = layers.Reshape((-1, n_out, C), name="split_stems")(y)
    y = layers.Permute((2, 1, 3), name="stems_first" if difference else "stems")(y)
    if difference:
        y = DifferenceOutput(name="stems")([y, mix])
    return keras.Model(mix, y, name=f"wave_unet_{config['name']}")
