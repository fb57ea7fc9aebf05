"""Waveform augmentations for training excerpts (numpy, one example at a time).

Each takes a ``numpy.random.Generator`` so an example is a pure function of
its seed.  Stems are ``(stems, samples, channels)`` float32 arrays; the
mixture is recomputed from the augmented stems by the caller.
"""

from __future__ import annotations

import numpy as np


def random_gain(stems: np.ndarray, rng, low: float, high: float) -> np.ndarray:
    """Scale every stem by its own uniform gain in ``[low, high]``."""
    gains = rng.uniform(low, high, size=(stems.shape[0], 1, 1)).astype(np.float32)
    return stems * gains


def random_channel_swap(stems: np.ndarray, rng) -> np.ndarray:
    """Swap left/right of each stereo stem with probability 1/2."""
    if stems.shape[-1] != 2:
        return stems
    swap = rng.random(stems.shape[0]) < 0.5
    out = stems.copy()
    out[swap] = out[swap][..., ::-1]
    return out


def random_polarity(stems: np.ndarray, rng) -> np.ndarray:
    """Flip the sign of each stem with probability 1/2 (inaudible alone; new sums in a remix)."""
    signs = np.where(rng.random(stems.shape[0]) < 0.5, -1.0, 1.0).astype(np.float32)
    return stems * signs[:, None, None]


def pitch_shift(stems: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """Shift every stem by the same number of semitones (librosa, phase vocoder + resampling)."""
    import librosa

    if semitones == 0:
        return stems
    x = np.moveaxis(stems, 1, -1)  # (S, C, n): librosa works on the last axis
    y = librosa.effects.pitch_shift(x, sr=sample_rate, n_steps=float(semitones), res_type="soxr_hq")
    return np.ascontiguousarray(np.moveaxis(y, -1, 1)).astype(np.float32)


def time_stretch(stems: np.ndarray, rate: float, length: int) -> np.ndarray:
    """Stretch every stem by ``rate`` (>1 = faster) and fit the result to ``length`` samples."""
    import librosa

    x = np.moveaxis(stems, 1, -1)
    y = librosa.effects.time_stretch(x, rate=float(rate))
    y = np.moveaxis(y, -1, 1)
    n = y.shape[1]
    if n >= length:
        y = y[:, :length]
    else:
        y = np.pad(y, [(0, 0), (0, length - n), (0, 0)])
    return np.ascontiguousarray(y).astype(np.float32)
