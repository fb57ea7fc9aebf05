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


def _subpixel_taps(kernel_size: int):
    """Tap table of a stride-2 'same' transposed convolution as a stride-1 convolution.

    Output sample ``2m + r`` of ``conv2d_transpose`` (stride 2, 'same', kernel
    ``k``) is ``sum_t x[m + (r + p - t) / 2] K[t]`` over the taps ``t`` with
    ``r + p - t`` even, ``p = (k - 2) // 2`` (TensorFlow's 'same' padding).
    Returns ``(lo, taps)``: ``taps[r][d - lo]`` is the tap at input offset
    ``d`` for output phase ``r``, or None.
    """
    k = kernel_size
    p = max(k - 2, 0) // 2
    pairs = {r: {(r + p - t) // 2: t for t in range(k) if (r + p - t) % 2 == 0} for r in (0, 1)}
    offsets = [d for r in (0, 1) for d in pairs[r]]
    lo, hi = min(offsets), max(offsets)
    return lo, [[pairs[r].get(d) for d in range(lo, hi + 1)] for r in (0, 1)]


def _is_subpixel_deconv(layer) -> bool:
    # Worth it alone only where the feature map is large and the kernel small
    # (the deeper layers lose more to the 36/25 taps and the kernel
    # rearrangement than they gain): in Spleeter's U-Net the 128->32 and
    # 64->16 layers.  The last, 32->1 layer gains nothing from a 4-channel
    # output on its own; followed by a mask convolution dilated by 2 it is
    # rewritten with it (:func:`_phase_conv`).
    if not _is_stride2_deconv(layer):
        return False
    n_in, n_out = layer.kernel.shape[3], layer.kernel.shape[2]
    return n_in * n_out <= 8192 and n_out >= 8


def _is_stride2_deconv(layer) -> bool:
    """A stride-2 'same' square Conv2DTranspose: what :func:`_subpixel_phases` can rewrite."""
    return (
        isinstance(layer, layers.Conv2DTranspose)
        and getattr(layer, "kernel", None) is not None
        and tuple(layer.strides) == (2, 2)
        and layer.padding == "same"
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.output_padding is None
        and layer.data_format == "channels_last"
        and layer.kernel_size[0] == layer.kernel_size[1]
    )


def _subpixel_phases(layer, x):
    """``layer(x)`` for a stride-2 'same' Conv2DTranspose, before ``depth_to_space(·, 2)``.

    The output ``(B, H, W, 4 * out)`` holds the four phases (row parity,
    column parity) of the layer's ``(B, 2H, 2W, out)`` output, in
    ``depth_to_space`` order.  Same result up to float rounding, as one
    stride-1 convolution: on CPU TensorFlow's transposed convolution
    (Conv2DBackpropInput) runs at a fraction of the speed of a forward
    convolution, which more than pays for the 36 taps instead of 25.
    """
    import numpy as np
    import tensorflow as tf

    k = layer.kernel_size[0]
    lo, taps = _subpixel_taps(k)
    m = len(taps[0])
    # Kernel (k, k, out, in) -> rows of (in, out) per tap, plus a zero row.
    # The layer's compute dtype, as Keras would cast (float16 kernels under mixed precision).
    dtype = layer.compute_dtype
    x = tf.cast(x, dtype)
    kernel = tf.cast(layer.kernel, dtype)
    n_out, n_in = kernel.shape[2], kernel.shape[3]
    rows = tf.reshape(tf.transpose(kernel, [0, 1, 3, 2]), [k * k, n_in, n_out])
    rows = tf.concat([rows, tf.zeros([1, n_in, n_out], rows.dtype)], axis=0)
    index = np.full((m, m, 2, 2), k * k, dtype=np.int32)
    for rh in (0, 1):
        for rw in (0, 1):
            for a in range(m):
                for b in range(m):
                    th, tw = taps[rh][a], taps[rw][b]
                    if th is not None and tw is not None:
                        index[a, b, rh, rw] = th * k + tw
    w = tf.gather(rows, index.reshape(-1))  # (m*m*4, in, out)
    w = tf.reshape(w, [m, m, 4, n_in, n_out])
    w = tf.reshape(tf.transpose(w, [0, 1, 3, 2, 4]), [m, m, n_in, 4 * n_out])
    hi = lo + m - 1
    x = tf.pad(x, [[0, 0], [-lo, hi], [-lo, hi], [0, 0]])
    y = tf.nn.conv2d(x, w, 1, "VALID")
    if layer.use_bias:
        y = tf.nn.bias_add(y, tf.tile(tf.cast(layer.bias, dtype), [4]))
    if layer.activation is not None:
        y = layer.activation(y)
    return y


def _subpixel_deconv(layer, x):
    """``layer(x)`` for a stride-2 'same' Conv2DTranspose, as conv2d + depth_to_space (see :func:`_subpixel_phases`)."""
    import tensorflow as tf

    return tf.nn.depth_to_space(_subpixel_phases(layer, x), 2)


def _is_phase_mask_conv(layer) -> bool:
    """A stride-1 'same' Conv2D dilated by 2: it mixes only samples of one phase (:func:`_phase_conv`)."""
    return (
        isinstance(layer, layers.Conv2D)
        and getattr(layer, "kernel", None) is not None
        and tuple(layer.strides) == (1, 1)
        and tuple(layer.dilation_rate) == (2, 2)
        and layer.padding == "same"
        and layer.data_format == "channels_last"
        and layer.groups == 1
    )


def _phase_taps(kernel_size: int):
    """Tap table of a stride-1 'same' convolution dilated by 2, on the phases of its input.

    Output sample ``2m + r`` reads input ``2m + r - p + 2a`` for tap ``a``
    (``p``: TensorFlow's leading 'same' padding), that is input phase
    ``s = (r - p) mod 2`` at offset ``(r - p + 2a - s) / 2`` from ``m``.
    Returns ``(lo, phase, taps)``: ``phase[r]`` is ``s``, ``taps[r][d - lo]``
    the tap at offset ``d`` for output phase ``r``, or None.
    """
    p = (kernel_size - 1) * 2 // 2
    phase = [(r - p) % 2 for r in (0, 1)]
    pairs = {r: {(r - p + 2 * a - phase[r]) // 2: a for a in range(kernel_size)} for r in (0, 1)}
    offsets = [d for r in (0, 1) for d in pairs[r]]
    lo, hi = min(offsets), max(offsets)
    return lo, phase, [[pairs[r].get(d) for d in range(lo, hi + 1)] for r in (0, 1)]


def _phase_conv(layer, x):
    """``layer(depth_to_space(x, 2))`` for a Conv2D of :func:`_is_phase_mask_conv`, from the phases ``x``.

    A convolution dilated by 2 never mixes samples of different row or
    column parity, so on the four phases (``(B, H, W, 4 * in)``, as
    :func:`_subpixel_phases` gives them) it is one undilated convolution with
    a block-sparse kernel, on a quarter of the positions; the phases are put
    back together once, after it.  On CPU that is several times faster than a
    dilated convolution over a one- or two-channel full-size input.
    """
    import numpy as np
    import tensorflow as tf

    k = layer.kernel_size[0]
    if layer.kernel_size[1] != k:
        raise ValueError("square kernels only")
    lo, phase, taps = _phase_taps(k)
    m = len(taps[0])
    dtype = layer.compute_dtype
    x = tf.cast(x, dtype)
    kernel = tf.cast(layer.kernel, dtype)  # (k, k, in, out)
    n_in, n_out = kernel.shape[2], kernel.shape[3]
    rows = tf.concat([tf.reshape(kernel, [k * k, n_in, n_out]), tf.zeros([1, n_in, n_out], dtype)], axis=0)
    # index[a, b, input phase, output phase]: the tap, or the zero row.
    index = np.full((m, m, 4, 4), k * k, dtype=np.int32)
    for rh in (0, 1):
        for rw in (0, 1):
            s = phase[rh] * 2 + phase[rw]
            for a in range(m):
                for b in range(m):
                    th, tw = taps[rh][a], taps[rw][b]
                    if th is not None and tw is not None:
                        index[a, b, s, rh * 2 + rw] = th * k + tw
    w = tf.gather(rows, index.reshape(-1))  # (m*m*4*4, in, out)
    w = tf.reshape(w, [m, m, 4, 4, n_in, n_out])
    w = tf.reshape(tf.transpose(w, [0, 1, 2, 4, 3, 5]), [m, m, 4 * n_in, 4 * n_out])
    hi = lo + m - 1
    x = tf.pad(x, [[0, 0], [-lo, hi], [-lo, hi], [0, 0]])
    y = tf.nn.conv2d(x, w, 1, "VALID")
    if layer.use_bias:
        y = tf.nn.bias_add(y, tf.tile(tf.cast(layer.bias, dtype), [4]))
    if layer.activation is not None:
        y = layer.activation(y)
    return tf.nn.depth_to_space(y, 2)


def _phase_norm(layer, x):
    """A per-channel normalisation layer (inference mode) on the four phases of its input."""
    import tensorflow as tf

    if not isinstance(layer, layers.BatchNormalization):
        return layer(x, training=False)  # Identity (``normalization: none``)

    def tiled(v):
        return None if v is None else tf.tile(tf.cast(v, tf.float32), [4])

    # Keras normalises in float32 whatever the policy, and returns the input's dtype.
    y = tf.nn.batch_normalization(
        tf.cast(x, tf.float32),
        tiled(layer.moving_mean),
        tiled(layer.moving_variance),
        tiled(layer.beta if layer.center else None),
        tiled(layer.gamma if layer.scale else None),
        layer.epsilon,
    )
    return tf.cast(y, x.dtype)


def _softmax(layer, x):
    """``layer(x)`` for a Keras ``Softmax`` layer, as exp / sum along its axis.

    Equal up to float rounding; oneDNN's softmax along an axis other than
    the last (here the stems) was 5x slower on CPU (33 vs 6.4 ms for a
    3-stem 512 x 1536 stereo segment).
    """
    import tensorflow as tf

    x = tf.cast(x, layer.compute_dtype)
    e = tf.exp(x - tf.reduce_max(x, axis=layer.axis, keepdims=True))
    return e / tf.reduce_sum(e, axis=layer.axis, keepdims=True)


def inference_function(model, config):
    """A faster ``model(magnitude, training=False)`` for a U-Net built by :func:`build_unet`.

    Calls the model's own layers (by name, so the live weights) in the same
    order, except that transposed convolutions run as stride-1 convolutions
    followed by ``depth_to_space`` (equal up to float rounding).  Built from
    standard TensorFlow ops only, so it traces into SavedModel/TFLite graphs.
    Returns None when ``model`` is not such a U-Net; use the model then.
    """
    if config.get("model", {}).get("type") != "unet":
        return None
    params = config["model"]["params"]
    if params.get("conv_dim", 2) != 2:
        return None  # the Conv1D variant has no transposed 2D convolutions to rewrite
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
                    _subpixel_deconv if _is_subpixel_deconv(get(f"{prefix}dec{j}_deconv")) else None,
                    get(f"{prefix}dec{j}_deconv"),
                    get(f"{prefix}dec{j}_act"),
                    get(f"{prefix}dec{j}_norm"),
                    get(f"{prefix}dec{j}_skip") if j < depth else None,
                )
                for j in range(1, depth + 1)
            ]
            branches.append((enc, dec, get(f"{prefix}mask_conv")))
        if params["unet_per_stem"]:
            expand = [get(f"{s}_expand") for s in stems]
            stack = get("stack_stems") if len(stems) > 1 else None
        else:
            split, stems_first = get("split_stems"), get("stems_first")
        softmax = None
        if params["head"] == "softmax":
            softmax = get("softmax_masks" if params["unet_per_stem"] else "masks")
        ratio = get("masks") if params["head"] == "sigmoid" or params["unet_per_stem"] else None
    except ValueError as exc:
        # A U-Net config whose model lacks a layer this path needs: say so, do not slow down in silence.
        warnings.warn(
            f"U-Net {model.name}: fast inference path unavailable ({exc}); separating with the model as built "
            "(same masks, slower)",
            RuntimeWarning,
            stacklevel=2,
        )
        return None

    def branch(x, enc, dec, mask_conv):
        skips = []
        for conv, norm, act in enc:
            y = conv(x)
            skips.append(y)
            if norm is not None:
                x = act(norm(y, training=False))
        x = skips[-1]
        # The last block and the mask convolution, when it is dilated by 2, run on the four phases of
        # the full-size map (:func:`_phase_conv`): assembled once, from the mask convolution's output.
        phases = _is_stride2_deconv(dec[-1][1]) and _is_phase_mask_conv(mask_conv)
        for j, (fast, deconv, act, norm, skip) in enumerate(dec, 1):
            if phases and j == depth:
                return _phase_conv(mask_conv, _phase_norm(norm, act(_subpixel_phases(deconv, x))))
            x = fast(deconv, x) if fast is not None else deconv(x)
            x = norm(act(x), training=False)
            if skip is not None:  # dropout is the identity at inference
                x = skip([skips[depth - 1 - j], x])
        return mask_conv(x)

    def masks(mag):
        x = log_mag(mag) if log_mag is not None else mag
        outs = [branch(x, *b) for b in branches]
        if params["unet_per_stem"]:
            outs = [e(y) for e, y in zip(expand, outs)]
            m = stack(outs) if stack is not None else outs[0]
        else:
            m = stems_first(split(outs[0]))
        if softmax is not None:
            m = _softmax(softmax, m)
        if ratio is not None:
            m = ratio([m, mag])
        return m

    return masks
