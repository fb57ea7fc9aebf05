"""In-memory waveforms: what tfsep takes as an array (float samples, ``(samples, channels)``, an audio rate).

Separators, streams and baselines check what they are given here, so that
every entry point refuses a bad array with the same
:class:`~tfsep.errors.AudioError`.
"""

import numpy as np

from ..errors import AudioError
from .probe import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

# More channels than any audio layout has (7.1.4 is 12; 64 leaves room): a transposed array.
MAX_ARRAY_CHANNELS = 64


def check_array_rate(sample_rate: int) -> int:
    """``sample_rate`` of an in-memory array, refused (``AudioError``) outside the rates tfsep takes.

    1 Hz would make every sample 44,100 at a model's rate: hours of work for a short array.
    """
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"sample_rate {sample_rate} Hz is not an audio rate ({MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE})")
    return sample_rate


def check_waveform(waveform):
    """An in-memory waveform as ``(samples, channels)`` float32, and True when it was 1-D.

    Refuses (``AudioError``) what no separation method can take: integer
    samples, other shapes, 0 samples or channels, NaN or Inf (naming the first).
    """
    wave = np.asarray(waveform)
    if not np.issubdtype(wave.dtype, np.floating):
        raise AudioError(f"waveform must be floating point, got {wave.dtype}")
    wave = wave.astype(np.float32, copy=False)
    squeeze = wave.ndim == 1
    if squeeze:
        wave = wave[:, None]
    if wave.ndim != 2:
        raise AudioError(f"waveform must have shape (samples, channels), got {wave.shape}")
    if wave.shape[1] > MAX_ARRAY_CHANNELS:
        # librosa and torchaudio give (channels, samples): read as is, that is thousands of channels.
        raise AudioError(
            f"waveform of shape {wave.shape} has {wave.shape[1]} channels: tfsep takes (samples, channels); "
            "for a channels-first array (librosa, torchaudio) pass channels_first=True or waveform.T"
        )
    if wave.shape[0] == 0:
        raise AudioError("waveform is empty (0 samples)")
    if wave.shape[1] == 0:
        raise AudioError("waveform has 0 channels")
    if not np.isfinite(wave).all():
        raise AudioError(f"waveform contains NaN or Inf samples (first at sample {first_non_finite(wave)})")
    return wave, squeeze


def first_non_finite(x: np.ndarray) -> int:
    """The first sample (row) of ``(samples, channels)`` with a NaN or Inf, for error messages.

    Checking a whole array is ``np.isfinite(x).all()``: a reduction along
    the short channel axis first is a hundred times slower in NumPy.
    """
    return int(np.argmin(np.isfinite(x).all(axis=1)))
