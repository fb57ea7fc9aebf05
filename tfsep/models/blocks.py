"""Building-block layers of the model zoo (waveform models, attention U-Net, stacking).

Every layer here is a registered Keras serializable under ``tfsep`` so that
models holding them reload with ``safe_mode=True``; none wraps a Python
lambda.  Normalisation statistics, masks and output stems are computed in
float32 under mixed precision (``Float32Layer``).  Lengths are dynamic: the
same model runs on any number of samples or frames.
"""

from __future__ import annotations

import keras
from keras import ops

from .layers import Float32Layer


def _reg(cls):
    return keras.saving.register_keras_serializable(package="tfsep")(cls)


@_reg
class MatchShape(keras.layers.Layer):
    """Inputs ``[x, ref]``: crop or zero-pad ``x`` at the end of ``axes`` to ``ref``'s sizes there.

    The explicit crop/pad of a skip connection: decoder and encoder tensors
    differ by a few samples/frames when a length is not a multiple of the
    total stride.  Start-aligned, because every conv here pads "same" (or
    valid with the model input padded to a valid length): index 0 of every
    resolution sees the same instant.
    """

    def __init__(self, axes=(1,), **kwargs):
        super().__init__(**kwargs)
        self.axes = tuple(int(a) for a in axes)

    def call(self, inputs):
        x, ref = inputs
        for axis in self.axes:
            want = ops.shape(ref)[axis]
            have = ops.shape(x)[axis]
            pad = [[0, 0]] * len(x.shape)
            pad[axis] = [0, ops.maximum(want - have, 0)]
            x = ops.pad(x, pad)
            x = ops.take(x, ops.arange(want), axis=axis)
        return x

    def compute_output_shape(self, input_shapes):
        x, ref = input_shapes
        out = list(x)
        for axis in self.axes:
            out[axis] = ref[axis]
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axes": list(self.axes)}


@_reg
class PadToMultiple(keras.layers.Layer):
    """Zero-pad axis 1 at the end to a multiple of ``multiple`` (Wave-U-Net's valid length)."""

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, x):
        n = ops.shape(x)[1]
        target = ((n + self.multiple - 1) // self.multiple) * self.multiple
        pad = [[0, 0]] * len(x.shape)
        pad[1] = [0, target - n]
        return ops.pad(x, pad)

    def compute_output_shape(self, shape):
        return (shape[0], None, *shape[2:])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


def demucs_valid_length(length, depth, kernel, stride):
    """Smallest length >= ``length`` whose strided valid convolutions and transposed convolutions round-trip exactly."""
    n = length
    for _ in range(depth):
        n = max(-(-(n - kernel) // stride) + 1, 1)
    for _ in range(depth):
        n = (n - 1) * stride + kernel
    return int(n)


@_reg
class PadToValidLength(keras.layers.Layer):
    """Zero-pad axis 1 at the end to Demucs' valid length for ``depth`` conv(kernel, stride) layers."""

    def __init__(self, depth, kernel, stride, **kwargs):
        super().__init__(**kwargs)
        self.depth, self.kernel, self.stride = int(depth), int(kernel), int(stride)

    def call(self, x):
        n = ops.shape(x)[1]
        m = n
        for _ in range(self.depth):
            m = ops.maximum((m - self.kernel + self.stride - 1) // self.stride + 1, 1)
        for _ in range(self.depth):
            m = (m - 1) * self.stride + self.kernel
        pad = [[0, 0]] * len(x.shape)
        pad[1] = [0, m - n]
        return ops.pad(x, pad)

    def compute_output_shape(self, shape):
        return (shape[0], None, *shape[2:])

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "kernel": self.kernel, "stride": self.stride}


@_reg
class CropToLength(keras.layers.Layer):
    """Inputs ``[y, ref]``: keep the first ``ref.shape[1]`` entries of ``y`` along ``axis``."""

    def __init__(self, axis=1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs):
        y, ref = inputs
        return ops.take(y, ops.arange(ops.shape(ref)[1]), axis=self.axis)

    def compute_output_shape(self, input_shapes):
        y, ref = input_shapes
        out = list(y)
        out[self.axis] = ref[1]
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@_reg
class Decimate(keras.layers.Layer):
    """Keep every other sample along axis 1 (Wave-U-Net's downsampling)."""

    def call(self, x):
        return x[:, ::2]

    def compute_output_shape(self, shape):
        return (shape[0], None if shape[1] is None else (shape[1] + 1) // 2, *shape[2:])


@_reg
class LinearUpsample1D(keras.layers.Layer):
    """Double the length of axis 1 by linear interpolation (Wave-U-Net's learning-free upsampling).

    Output ``2n`` samples: ``x[i]`` at even positions, the mean of
    ``x[i]`` and ``x[i+1]`` at odd ones (the last sample repeated at the end).
    """

    def call(self, x):
        nxt = ops.concatenate([x[:, 1:], x[:, -1:]], axis=1)
        mid = 0.5 * (x + nxt)
        y = ops.stack([x, mid], axis=2)  # (B, n, 2, C)
        shape = ops.shape(x)
        return ops.reshape(y, (shape[0], shape[1] * 2, x.shape[-1]))

    def compute_output_shape(self, shape):
        return (shape[0], None if shape[1] is None else 2 * shape[1], shape[2])


@_reg
class GLU(keras.layers.Layer):
    """Gated linear unit: first half of the channels times the sigmoid of the second half."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, x):
        a, b = ops.split(x, 2, axis=self.axis)
        return a * ops.sigmoid(b)

    def compute_output_shape(self, shape):
        out = list(shape)
        if out[self.axis] is not None:
            out[self.axis] //= 2
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@_reg
class MixtureNormalize(Float32Layer):
    """Waveform ``(B, L, C)`` -> ``[normalised, mean, std]``; statistics of the mono mixture per example.

    As in Demucs: the model sees a mixture of unit standard deviation,
    whatever the track's loudness; ``MixtureDenormalize`` scales the stems back.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        mono = ops.mean(x, axis=2, keepdims=True)
        mean = ops.mean(mono, axis=1, keepdims=True)  # (B, 1, 1)
        std = ops.std(mono, axis=1, keepdims=True)
        return [(x - mean) / (std + self.epsilon), mean, std]

    def compute_output_shape(self, shape):
        return [tuple(shape), (shape[0], 1, 1), (shape[0], 1, 1)]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@_reg
class MixtureDenormalize(Float32Layer):
    """Inputs ``[stems (B, S, L, C), mean, std]`` -> stems at the mixture's scale.

    The mean is shared out equally between the stems, so that the stems still
    sum to a mixture with the input's offset.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        y, mean, std = inputs
        n_stems = ops.cast(ops.shape(y)[1], y.dtype)
        return y * (std[:, None] + self.epsilon) + mean[:, None] / n_stems

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0])

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@_reg
class DifferenceOutput(Float32Layer):
    """Inputs ``[stems (B, S-1, L, C), mixture (B, L, C)]`` -> ``(B, S, L, C)``; the last stem is the mixture minus the others.

    Wave-U-Net's "difference output": the stems sum to the mixture exactly.
    """

    def call(self, inputs):
        stems, mix = inputs
        last = mix - ops.sum(stems, axis=1)
        return ops.concatenate([stems, last[:, None]], axis=1)

    def compute_output_shape(self, input_shapes):
        s, _ = input_shapes
        return (s[0], None if s[1] is None else s[1] + 1, *s[2:])


@_reg
class RefineMasks(Float32Layer):
    """Inputs ``[masks (B, S, ...), delta (B, S, ...)]`` -> ``softmax_S(log(masks) + delta)``.

    The refinement network of a stacked model predicts a correction of the
    first network's masks in log space: with ``delta = 0`` the first masks
    come out unchanged, and the result always sums to one over the stems.
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        masks, delta = inputs
        return ops.softmax(ops.log(masks + self.epsilon) + delta, axis=1)

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0])

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@_reg
class ApplyMasks(Float32Layer):
    """Inputs ``[masks (B, S, T, F, C), magnitude (B, T, F, C)]`` -> masked magnitudes ``(B, S, T, F, C)``."""

    def call(self, inputs):
        masks, mag = inputs
        return masks * ops.expand_dims(mag, 1)

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0])


@_reg
class RemainderMagnitude(Float32Layer):
    """Inputs ``[masks (B, S, T, F, C), magnitude (B, T, F, C)]`` -> ``(1 - masks[:, 0]) * magnitude``.

    What a cascade's first model leaves of the mixture (its first stem
    removed): the input of the splitter.
    """

    def call(self, inputs):
        masks, mag = inputs
        return (1.0 - masks[:, 0]) * mag

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[1])


@_reg
class CascadeMasks(Float32Layer):
    """Inputs ``[first masks (B, S1, ...), splitter masks (B, S2, ...)]`` -> ``(B, 1 + S2, ...)``.

    The first stem keeps the first model's mask ``m``; the splitter's masks
    share the rest, ``(1 - m) * m_j``.  Where the splitter's masks sum to one
    the cascade's do too, so the stems add up to the mixture.
    """

    def call(self, inputs):
        first, split = inputs
        m = first[:, :1]
        return ops.concatenate([m, (1.0 - m) * split], axis=1)

    def compute_output_shape(self, input_shapes):
        a, b = input_shapes
        return (a[0], None if b[1] is None else b[1] + 1, *a[2:])
