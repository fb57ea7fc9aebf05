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

import warnings

import keras
from keras import layers

from .layers import LogMagnitude, RatioMask
from .unet_body import encoder_decoder


def unet_branch(x, params, out_channels, prefix, seed, final_activation):
    """One U-Net from input ``(B, T, F, C)`` to ``(B, T, F, out_channels)``."""
    if params.get("conv_dim", 2) == 1:
        from .unet1d import unet_branch_1d

        return unet_branch_1d(x, params, out_channels, prefix, seed, final_activation)
    init = keras.initializers.HeUniform(seed=seed)
    x = encoder_decoder(x, params, prefix, init, layers.Conv2D, layers.Conv2DTranspose, 1)
    return layers.Conv2D(
        out_channels,
        (4, 4),
        dilation_rate=(2, 2),
        padding="same",
        activation=final_activation,
        kernel_initializer=init,
        name=f"{prefix}mask_conv",
    )(x)


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
        # Masks in float32 under mixed precision: a float16 softmax loses the small masks.
        name = "softmax_masks" if params["unet_per_stem"] else "masks"
        masks = layers.Softmax(axis=1, name=name, dtype="float32")(masks)
    if head == "sigmoid" or params["unet_per_stem"]:
        # Spleeter normalises the per-stem outputs of both its heads this way.
        masks = RatioMask(exponent=config["separation_exponent"], name="masks")([masks, mag])
    return keras.Model(mag, masks, name=f"unet_{config['name']}")


# -- inference ---------------------------------------------------------------------


def _exp_over_sum(x, axis):
    """Softmax along ``axis`` as exp / sum: oneDNN's softmax along an axis other than the last (here the stems)
    was 5x slower on CPU (33 vs 6.4 ms for a 3-stem 512 x 1536 stereo segment)."""
    import tensorflow as tf

    e = tf.exp(x - tf.reduce_max(x, axis=axis, keepdims=True))
    return e / tf.reduce_sum(e, axis=axis, keepdims=True)


def inference_function(model, config):
    """A faster ``model(magnitude, training=False)`` for a U-Net built by :func:`build_unet`.

    Calls the model's own layers (by name, so the live weights) in the same
    order, without the functional model's call machinery: equal up to float
    rounding, 12-14% faster than the model call for one U-Net in float32 and
    bfloat16 with AVX-512, within 7% of it (slower) with AVX2 only.  The mask
    convolution and everything after it (the stems' layout, a softmax as exp
    / sum, the ratio masks) run as :func:`_float32_head` (another 7% for
    2stems-fast in bfloat16: 39.9 -> 37.2 ms a segment).  (Rewriting the transposed
    convolutions as stride-1 convolutions plus ``depth_to_space``, and the
    last block with the dilated mask convolution on the phases of the output,
    was measured too: no faster with AVX-512, 14-22% slower with AVX2.)
    Built from standard TensorFlow ops only, so it traces into
    SavedModel/TFLite graphs.  Returns None when ``model`` is not such a
    U-Net; use the model then.
    """
    if config.get("model", {}).get("type") != "unet":
        return None
    params = config["model"]["params"]
    if params.get("conv_dim", 2) != 2:
        return None  # the Conv1D variant's layers are named otherwise
    stems = list(config["stems"])
    depth = len(params["conv_n_filters"])
    prefixes = [f"{s}_" for s in stems] if params["unet_per_stem"] else ["unet_"]
    try:
        get = model.get_layer
        log_mag = get("log_magnitude") if params["input_scale"] == "log" else None
        branches = []
        for prefix in prefixes:
            enc = [
                (get(f"{prefix}enc{i}_conv"), get(f"{prefix}enc{i}_norm"), get(f"{prefix}enc{i}_act"))
                if i < depth
                else (get(f"{prefix}enc{i}_conv"), None, None)
                for i in range(1, depth + 1)
            ]
            dec = [
                (
                    get(f"{prefix}dec{j}_deconv"),
                    get(f"{prefix}dec{j}_act"),
                    get(f"{prefix}dec{j}_norm"),
                    get(f"{prefix}dec{j}_skip") if j < depth else None,
                )
                for j in range(1, depth + 1)
            ]
            branches.append((enc, dec, get(f"{prefix}mask_conv")))
        ratio = get("masks") if params["head"] == "sigmoid" or params["unet_per_stem"] else None
        head = _float32_head([b[2] for b in branches], params, len(stems), ratio)
    except ValueError as exc:
        # A U-Net config whose model lacks a layer this path needs: say so, do not slow down in silence.
        warnings.warn(
            f"U-Net {model.name}: fast inference path unavailable ({exc}); separating with the model as built "
            "(same masks, slower)",
            RuntimeWarning,
            stacklevel=2,
        )
        return None

    def branch(x, enc, dec):
        skips = []
        for conv, norm, act in enc:
            y = conv(x)
            skips.append(y)
            if norm is not None:
                x = act(norm(y, training=False))
        x = skips[-1]
        for j, (deconv, act, norm, skip) in enumerate(dec, 1):
            x = norm(act(deconv(x)), training=False)
            if skip is not None:  # dropout is the identity at inference
                x = skip([skips[depth - 1 - j], x])
        return x

    def masks(mag):
        x = log_mag(mag) if log_mag is not None else mag
        return head([branch(x, enc, dec) for enc, dec, _ in branches], mag)

    return masks


def _float32_head(mask_convs, params, n_stems, ratio):
    """The mask convolutions and the head after them as one function ``(last decoder outputs, magnitude) -> masks``.

    The dilated 4x4 mask convolution runs as ``tf.nn.conv2d`` (Keras'
    ``tf.nn.convolution`` takes 2-3x longer for a dilated kernel), in the
    network's dtype; its bias, sigmoid, the stems' layout, the softmax and
    the ratio normalisation then run in float32, where the masks are kept
    anyway (under ``mixed_bfloat16`` Keras computes the bias and sigmoid in
    bfloat16 first).  Same masks as the layers up to rounding.

    Raises:
        ValueError: a mask convolution that is not of the kind
            :func:`unet_branch` builds (the model is then called as it is).
    """
    import tensorflow as tf

    for c in mask_convs:
        supported = (
            isinstance(c, layers.Conv2D)
            and not isinstance(c, layers.Conv2DTranspose)
            and c.padding == "same"
            and tuple(c.strides) == (1, 1)
            and c.data_format == "channels_last"
            and c.groups == 1
            and c.use_bias
            and c.activation in (keras.activations.sigmoid, keras.activations.linear)
        )
        if not supported:
            raise ValueError(f"layer {c.name} is not a same-padded, stride-1 Conv2D with a bias")
    per_stem, softmax = params["unet_per_stem"], params["head"] == "softmax"

    def head(outs, mag):
        zs = []
        for x, c in zip(outs, mask_convs):
            y = tf.nn.conv2d(x, tf.cast(c.kernel, x.dtype), 1, "SAME", dilations=list(c.dilation_rate))
            z = tf.cast(y, tf.float32) + tf.cast(c.bias, tf.float32)
            zs.append(tf.sigmoid(z) if c.activation is keras.activations.sigmoid else z)
        if per_stem:  # one U-Net per stem, each giving its stem's channels
            m = tf.stack(zs, axis=1) if len(zs) > 1 else zs[0][:, None]
        else:  # one U-Net, channels (stem, channel): stems first
            shape = tf.shape(zs[0])
            m = tf.transpose(tf.reshape(zs[0], [shape[0], shape[1], shape[2], n_stems, -1]), [0, 3, 1, 2, 4])
        if softmax:
            m = _exp_over_sum(m, 1)
        return ratio([m, mag]) if ratio is not None else m

    return head
