"""Custom layers shared by tfsep models; registered so models load with safe_mode=True."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfsep")
class LogMagnitude(keras.layers.Layer):
    """log(1 + |X|): compresses the dynamic range of magnitude input."""

    def call(self, x):
        return ops.log1p(x)


@keras.saving.register_keras_serializable(package="tfsep")
class RatioMask(keras.layers.Layer):
    """Per-stem masks -> ratio masks that sum to one across stems.

    Inputs ``[masks (B, S, T, F, C), magnitude (B, T, F, C)]``.  Each stem's
    estimate ``o_s = m_s * |X|`` is turned into
    ``(o_s**p + eps / S) / (sum_j o_j**p + eps)``: Spleeter's normalisation,
    kept bit-for-bit so its weights reproduce its output, and defined on
    silence (every mask is 1/S there, never NaN).
    """

    def __init__(self, exponent=2.0, epsilon=1e-10, **kwargs):
        super().__init__(**kwargs)
        self.exponent = float(exponent)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        masks, mag = inputs
        n_stems = ops.shape(masks)[1]
        est = masks * ops.expand_dims(mag, 1)
        power = ops.power(est, self.exponent)
        total = ops.sum(power, axis=1, keepdims=True) + self.epsilon
        return (power + self.epsilon / ops.cast(n_stems, masks.dtype)) / total

    def get_config(self):
        return {**super().get_config(), "exponent": self.exponent, "epsilon": self.epsilon}
