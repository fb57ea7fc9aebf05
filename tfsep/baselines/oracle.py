"""Oracle masks: the ceilings of masking methods, computed from the true stems.

They need the references, so they are built per track
(``IdealRatioMask(references, sample_rate)``) and then satisfy the usual
``separate(waveform, sample_rate)`` contract on that track's mixture.
"""

from __future__ import annotations

import numpy as np

from ..errors import TfsepError


class IdealRatioMask:
    """Ideal ratio mask ``|S_i|^p / sum_j |S_j|^p`` applied to the mixture STFT.

    With ``power=1`` or ``2`` and references that sum to the mixture, the
    stems sum exactly to the mixture (the masks sum to one in every bin).
    """

    def __init__(self, references: dict, sample_rate: int, power: float = 1.0, frame_length: int = 4096, frame_step: int = 1024):
        if not references:
            raise TfsepError("an oracle needs the true stems of the track")
        self.references = {k: np.asarray(v, dtype=np.float32) for k, v in references.items()}
        self.stems = list(references)
        self.sample_rate = int(sample_rate)
        self.power = float(power)
        self.frame_length = frame_length
        self.frame_step = frame_step

    def separate(self, waveform, sample_rate) -> dict:
        import tensorflow as tf

        from ..audio.spectral import STFT, InverseSTFT

        if int(sample_rate) != self.sample_rate:
            raise TfsepError(f"oracle built for {self.sample_rate} Hz, got audio at {sample_rate} Hz")
        wave = np.asarray(waveform, dtype=np.float32)
        n = len(wave)
        refs = np.stack([self.references[s] for s in self.stems])  # (S, n, C)
        if refs.shape[1] != n:
            raise TfsepError(f"oracle references have {refs.shape[1]} samples, the mixture {n}")
        stft = STFT(self.frame_length, self.frame_step)
        istft = InverseSTFT(self.frame_length, self.frame_step)
        mix_spec = stft(tf.constant(wave[None]))
        ref_mag = tf.abs(stft(tf.constant(refs))) ** self.power
        masks = ref_mag / (tf.reduce_sum(ref_mag, axis=0, keepdims=True) + 1e-12)
        # Bins where every reference is silent: share the mixture equally.
        masks = tf.where(tf.reduce_sum(ref_mag, axis=0, keepdims=True) > 0, masks, 1.0 / len(self.stems))
        est = istft(tf.cast(masks, mix_spec.dtype) * mix_spec[0], length=n).numpy()
        return {s: est[i] for i, s in enumerate(self.stems)}
