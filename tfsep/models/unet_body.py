"""The U-Net body shared by the 2D U-Net (``unet``) and its Conv1D-over-time variant (``unet1d``).

Spleeter's encoder (strided convolutions, normalisation, activation) and
decoder (transposed convolutions, activation, normalisation, dropout in the
first blocks, skip concatenation), up to but not including the mask
convolution, with layer names ``<prefix>enc<i>_conv``, ``<prefix>dec<j>_deconv``...
"""

from __future__ import annotations

from keras import layers


def activation(name, layer_name):
    """The activation layer a config names (``leaky_relu`` has Spleeter's slope 0.2)."""
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2, name=layer_name)
    if name == "elu":
        return layers.ELU(name=layer_name)
    return layers.ReLU(name=layer_name)


def norm(kind, name):
    """Batch normalisation, or an identity layer for ``normalization: none``."""
    if kind == "batch":
        # Keras 3 and Spleeter's tf.keras share BN's epsilon (1e-3) and momentum.
        return layers.BatchNormalization(axis=-1, name=name)
    return layers.Identity(name=name)


def encoder_decoder(x, params, prefix, init, conv, deconv, last_filters):
    """The U-Net body shared by the 2D and Conv1D variants, up to the mask convolution.

    ``conv``/``deconv`` are the layer classes (``Conv2D``/``Conv2DTranspose`` or
    their 1D forms); the last decoder block has ``last_filters`` filters.
    """
    filters = params["conv_n_filters"]
    k = params["kernel_size"]
    depth = len(filters)
    skips = []
    for i, f in enumerate(filters, 1):
        out = conv(f, k, strides=2, padding="same", kernel_initializer=init, name=f"{prefix}enc{i}_conv")(x)
        skips.append(out)
        if i < depth:
            x = norm(params["normalization"], f"{prefix}enc{i}_norm")(out)
            x = activation(params["conv_activation"], f"{prefix}enc{i}_act")(x)
    x = skips[-1]
    for j in range(1, depth + 1):
        n_filters = filters[depth - 1 - j] if j < depth else last_filters
        x = deconv(n_filters, k, strides=2, padding="same", kernel_initializer=init, name=f"{prefix}dec{j}_deconv")(x)
        x = activation(params["deconv_activation"], f"{prefix}dec{j}_act")(x)
        x = norm(params["normalization"], f"{prefix}dec{j}_norm")(x)
        if j < depth:
            if j <= params["dropout_layers"] and params["dropout"] > 0:
                x = layers.Dropout(params["dropout"], name=f"{prefix}dec{j}_dropout")(x)
            x = layers.Concatenate(axis=-1, name=f"{prefix}dec{j}_skip")([skips[depth - 1 - j], x])
    return x
