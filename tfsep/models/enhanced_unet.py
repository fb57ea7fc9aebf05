"""Enhanced U-Net on the magnitude spectrogram: InstanceNorm, BiLSTM bottleneck, attention-gated skips.

Encoder: ``depth`` blocks of Conv2D (kernel k, stride 2) -> normalisation
(instance norm by default: ``GroupNormalization(groups=-1)``, Keras' own
instance norm, so nothing custom to serialise) -> leaky ReLU.

Bottleneck: a bidirectional LSTM over time at the most compressed
resolution, **per frequency row** with weights shared between rows
(``TimeDistributed`` over the row axis), projected back and added as a
residual.  Why per row and not across the flattened (rows x channels)
features: at the bottleneck each row already summarises a wide band (the
receptive field of the encoder spans hundreds of bins), so the convs handle
frequency and the LSTM only has to model time; the LSTM's size does not
depend on ``F`` (flattened, Spleeter's 1024 bins give 16 x 512 = 8192 inputs,
~17 M parameters for one 256-unit BiLSTM layer); and the same weights run on
any number of bins.  ``lstm_units: 0`` turns the bottleneck off (ablation).

Decoder: ``depth`` blocks of Conv2DTranspose (kernel k, stride 2) -> batch
norm -> ReLU -> dropout (first ``dropout_layers`` blocks), resized to the
skip's shape (crop/zero-pad: shapes differ when T or F is not a multiple of
2**depth), then concatenated with the skip after an additive attention gate
(Oktay et al. 2018): ``alpha = sigmoid(psi(relu(Wx x + Wg g)))`` with the
decoder tensor ``g`` as gating signal; the skip enters as ``alpha * x``.

Head: one conv to ``stems * C`` channels and a softmax over stems: masks sum
to one.  Layer names: ``enc<i>_conv``, ``dec<i>_deconv``, ``att<i>_*``,
``bottleneck_*``, ``mask_conv``, ``masks``.
"""

from __future__ import annotations

import keras
from keras import layers

from .blocks import MatchShape
from .layers import LogMagnitude


def _norm(kind, name):
    if kind == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    if kind == "batch":
        return layers.BatchNormalization(name=name)
    return layers.Identity(name=name)


def attention_gate(x, g, n_inter, name, init):
    """Additive attention: skip ``x`` weighted by ``sigmoid(psi(relu(Wx x + Wg g)))``; ``g`` has ``x``'s spatial shape."""
    theta = layers.Conv2D(n_inter, 1, kernel_initializer=init, name=f"{name}_wx")(x)
    phi = layers.Conv2D(n_inter, 1, kernel_initializer=init, name=f"{name}_wg")(g)
    a = layers.Add(name=f"{name}_add")([theta, phi])
    a = layers.ReLU(name=f"{name}_relu")(a)
    alpha = layers.Conv2D(1, 1, activation="sigmoid", kernel_initializer=init, name=f"{name}_psi")(a)
    return layers.Multiply(name=f"{name}_gate")([x, alpha])


def enhanced_unet_branch(x, params, out_channels, prefix="", seed=0):
    """``(B, T, F, C)`` -> ``(B, T, F, out_channels)`` logits."""
    filters = params["conv_n_filters"]
    k = params["kernel_size"]
    depth = len(filters)
    init = keras.initializers.HeUniform(seed=seed)
    skips = []
    for i, f in enumerate(filters, 1):
        skips.append(x)
        x = layers.Conv2D(f, k, strides=2, padding="same", kernel_initializer=init, name=f"{prefix}enc{i}_conv")(x)
        x = _norm(params["normalization"], f"{prefix}enc{i}_norm")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"{prefix}enc{i}_act")(x)

    units = params["lstm_units"]
    if units:
        # (B, T', F', C') -> rows first -> one BiLSTM over time per row, shared weights.
        rows = layers.Permute((2, 1, 3), name=f"{prefix}bottleneck_rows")(x)
        h = rows
        for n in range(params["lstm_layers"]):
            h = layers.TimeDistributed(
                layers.Bidirectional(
                    layers.LSTM(units, return_sequences=True, seed=seed + n), name=f"{prefix}bottleneck_bilstm{n + 1}"
                ),
                name=f"{prefix}bottleneck_rows_bilstm{n + 1}",
            )(h)
        h = layers.Dense(filters[-1], kernel_initializer=init, name=f"{prefix}bottleneck_proj")(h)
        h = layers.Add(name=f"{prefix}bottleneck_residual")([rows, h])
        x = layers.Permute((2, 1, 3), name=f"{prefix}bottleneck_frames")(h)

    for j in range(1, depth + 1):
        skip = skips[depth - j]  # the input of encoder block depth-j+1 (the model input for j == depth)
        n_filters = filters[depth - 1 - j] if j < depth else max(filters[0] // 2, 4)
        x = layers.Conv2DTranspose(
            n_filters, k, strides=2, padding="same", kernel_initializer=init, name=f"{prefix}dec{j}_deconv"
        )(x)
        x = layers.BatchNormalization(name=f"{prefix}dec{j}_norm")(x) if params["normalization"] != "none" else x
        x = layers.ReLU(name=f"{prefix}dec{j}_act")(x)
        if j <= params["dropout_layers"] and params["dropout"] > 0:
            x = layers.Dropout(params["dropout"], seed=seed + j, name=f"{prefix}dec{j}_dropout")(x)
        x = MatchShape(axes=(1, 2), name=f"{prefix}dec{j}_resize")([x, skip])
        if params["attention"]:
            skip = attention_gate(skip, x, max(n_filters // 2, 1), f"{prefix}att{j}", init)
        x = layers.Concatenate(axis=-1, name=f"{prefix}dec{j}_skip")([x, skip])
    return layers.Conv2D(out_channels, 1, kernel_initializer=init, name=f"{prefix}mask_conv")(x)


def build_enhanced_unet(config):
    """Magnitude ``(B, T, F, C)`` -> softmax masks ``(B, stems, T, F, C)`` summing to one."""
    params = config["model"]["params"]
    n_stems = len(config["stems"])
    C, F = config["n_channels"], config["F"]
    mag = keras.Input(shape=(None, F, C), name="magnitude")
    x = LogMagnitude(name="log_magnitude")(mag) if params["input_scale"] == "log" else mag
    y = enhanced_unet_branch(x, params, n_stems * C, "", params["seed"])
    y = layers.Reshape((-1, F, n_stems, C), name="split_stems")(y)
    y = layers.Permute((3, 1, 2, 4), name="stems_first")(y)
    masks = layers.Softmax(axis=1, name="masks", dtype="float32")(y)  # float32 under mixed precision
    return keras.Model(mag, masks, name=f"enhanced_unet_{config['name']}")
