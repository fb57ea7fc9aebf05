"""Harmonic–percussive source separation by median filtering (Fitzgerald 2010; librosa).

Harmonic sounds are horizontal ridges of the spectrogram, percussive ones
vertical: a median filter along time enhances the first, one along frequency
the second, and soft masks from the two split the mixture.  The percussive
part is the estimate of ``drums``.
"""

from __future__ import annotations

import numpy as np

from ..audio.stft import istft, stft
from .base import FRAME_LENGTH, FRAME_STEP, ClassicalMethod


def hpss_masks(mag: np.ndarray, kernel_size=31, power: float = 2.0, margin=1.0):
    """Soft harmonic and percussive masks of a magnitude spectrogram ``(..., bins, frames)``."""
    import librosa

    return librosa.decompose.hpss(mag, kernel_size=kernel_size, power=power, mask=True, margin=margin)


def hpss_split(spec: np.ndarray, kernel_size=31, power: float = 2.0, margin=1.0):
    """Complex STFT ``(C, bins, frames)`` -> (harmonic, percussive) STFTs; one mask shared by all channels."""
    mag = np.mean(np.abs(spec), axis=0)
    mask_h, mask_p = hpss_masks(mag, kernel_size, power, margin)
    return spec * mask_h[None], spec * mask_p[None]


class HPSS(ClassicalMethod):
    """Median-filtering HPSS: stems ``drums`` (percussive part) and ``harmonic``.

    Args:
        kernel_size: median filter length (frames, bins), or one int for both.
        margin: >1 leaves ambiguous energy out of both parts (then the stems no
            longer sum to the mixture); (harmonic, percussive) or one float.
        power: exponent of the soft masks (``inf`` gives binary masks).
    """

    name = "hpss"
    stems = ["drums", "harmonic"]

    def __init__(
        self, kernel_size=31, margin=1.0, power: float = 2.0, frame_length=FRAME_LENGTH, frame_step=FRAME_STEP, **kw
    ):
        super().__init__(**kw)
        self.kernel_size = kernel_size
        self.margin = margin
        self.power = float(power)
        self.frame_length, self.frame_step = frame_length, frame_step

    def _separate(self, wave, sample_rate):
        spec = stft(wave, self.frame_length, self.frame_step)
        harm, perc = hpss_split(spec, self.kernel_size, self.power, self.margin)
        n = len(wave)
        return {"drums": istft(perc, n, self.frame_step), "harmonic": istft(harm, n, self.frame_step)}
