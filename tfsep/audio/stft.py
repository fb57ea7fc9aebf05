"""A perfect-reconstruction NumPy STFT (librosa, centred frames) for classical methods and figures.

The TensorFlow STFT layers that models, training and export use are in
:mod:`.spectral`; this one works on NumPy arrays without TensorFlow.
"""

import numpy as np


def stft(x: np.ndarray, frame_length: int, frame_step: int) -> np.ndarray:
    """Waveform ``(samples, channels)`` -> complex STFT ``(channels, bins, frames)`` (centred frames)."""
    import librosa

    return librosa.stft(np.ascontiguousarray(x.T), n_fft=frame_length, hop_length=frame_step, center=True)


def istft(spec: np.ndarray, length: int, frame_step: int) -> np.ndarray:
    """Complex STFT ``(..., channels, bins, frames)`` -> waveform ``(..., samples, channels)`` of ``length``."""
    import librosa

    frame_length = 2 * (spec.shape[-2] - 1)
    y = librosa.istft(spec, hop_length=frame_step, n_fft=frame_length, length=length, center=True)
    return np.swapaxes(y, -1, -2).astype(np.float32)
