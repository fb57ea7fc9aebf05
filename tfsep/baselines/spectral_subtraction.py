"""Spectral subtraction (Boll 1979; Berouti et al. 1979) for vocals vs accompaniment.

The accompaniment plays the part of the noise: its power spectrum is
tracked as a low percentile of the mixture's power over a sliding window
(minimum statistics: sustained accompaniment is always there, the voice is
not).  The vocal power is ``max(|X|^2 - alpha N, beta |X|^2)`` (over-
subtraction ``alpha``, spectral floor ``beta``); the vocals take the
mixture's phase and the accompaniment is the rest of the mixture.
"""

from __future__ import annotations

import numpy as np

from ..audio.stft import istft, stft
from ..errors import TfsepError
from .base import FRAME_LENGTH, FRAME_STEP, ClassicalMethod


class SpectralSubtraction(ClassicalMethod):
    """Over-subtraction ``alpha``, floor ``beta``; noise = ``percentile`` of the power over ``window`` seconds."""

    name = "spectral-subtraction"
    stems = ["vocals", "accompaniment"]

    def __init__(
        self,
        alpha: float = 2.0,
        beta: float = 0.01,
        percentile: float = 20.0,
        window: float = 4.0,
        frame_length=FRAME_LENGTH,
        frame_step=FRAME_STEP,
        **kw,
    ):
        super().__init__(**kw)
        if alpha <= 0 or not 0 <= beta < 1:
            raise TfsepError(f"spectral subtraction needs alpha > 0 and 0 <= beta < 1, got alpha={alpha}, beta={beta}")
        self.alpha, self.beta, self.percentile, self.window = (
            float(alpha),
            float(beta),
            float(percentile),
            float(window),
        )
        self.frame_length, self.frame_step = frame_length, frame_step

    def _separate(self, wave, sample_rate):
        from scipy.ndimage import percentile_filter

        spec = stft(wave, self.frame_length, self.frame_step)
        power = np.mean(np.abs(spec) ** 2, axis=0)
        width = max(1, int(round(self.window * sample_rate / self.frame_step)))
        noise = percentile_filter(power, self.percentile, size=(1, width), mode="nearest")
        clean = np.maximum(power - self.alpha * noise, self.beta * power)
        gain = np.sqrt(clean / (power + 1e-12))
        n = len(wave)
        vocals = istft(spec * gain[None], n, self.frame_step)
        return {"vocals": vocals, "accompaniment": wave - vocals}
