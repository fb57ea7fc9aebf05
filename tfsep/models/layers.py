"""Custom layers shared by tfsep models; registered so models load with safe_mode=True.

Under a mixed-precision policy (``mixed_float16``, ``mixed_bfloat16``) the
convolutions compute in 16 bits, but magnitudes and masks do not fit there:
a 4096-point STFT of loud music reaches magnitudes of ~1000, whose square
(``RatioMask``) overflows float16 (max 65504).  Layers that handle
magnitudes, masks or output scaling derive from :class:`Float32Layer` and
compute in float32 whatever the global policy; Keras casts their inputs up.
"""

from __future__ import annotations

import keras
from keras import ops


class Float32Layer(keras.layers.Layer):
    """A layer that computes in float32 under any global dtype policy, unless given another ``dtype``."""

    def __init__(self, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "float32"
        super().__init__(**kwargs)


@keras.saving.register_keras_serializable(package="tfsep")
class LogMagnitude(Float32Layer):
    """log(1 + |X|): compresses the dynamic range of magnitude input (in float32: magnitudes overflow float16)."""

    def call(self, x):
        return ops.log1p(x)


@keras.saving.register_keras_serializable(package="tfsep")
class RatioMask(Float32Layer):
    """Per-stem masks -> ratio masks that sum to one across stems (always in float32).

    Inputs ``[masks (B, S, T, F, C), magnitude (B, T, F, C)]``.  Each stem's
    estimate ``o_s = m_s * |X|`` is turned into
    ``(o_s**p + eps / S) / (sum_j o_j**p + eps)``: Spleeter's normalisation,
    kept bit-for-bit so its weights reproduce its output, and defined on
    silence (every mask is 1/S there, never NaN).  Computed in float32: the
    squared estimates of loud music overflow float16, and ``epsilon`` is
    below its smallest value.
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
