"""The HPSS + REPET-SIM 4-stem pipeline: classical DSP blocks chained into drums/bass/vocals/other.

1. HPSS splits the mixture into a harmonic and a percussive part.
2. drums: the percussive part with 300–3000 Hz attenuated (where guitar
   strums, piano attacks and consonants leak into it), by ``drum_attenuation``.
3. bass: a zero-phase Butterworth low-pass (``bass_cutoff`` Hz, ``bass_order``)
   of the harmonic part.
4. vocals: REPET-SIM on what is left of the harmonic part.
5. other: the mixture minus the three stems above, so the stems sum to the mixture.
"""

from __future__ import annotations

import numpy as np

from ..audio.stft import istft, stft
from .base import FRAME_LENGTH, FRAME_STEP, ClassicalMethod
from .hpss import hpss_split
from .repet import RepetSim


class HPSSRepet4(ClassicalMethod):
    """HPSS + low-pass + REPET-SIM 4-stem separation (see the module docstring)."""

    name = "hpss-repet4"
    stems = ["vocals", "drums", "bass", "other"]

    def __init__(
        self,
        bass_cutoff: float = 150.0,
        bass_order: int = 4,
        drum_band=(300.0, 3000.0),
        drum_attenuation: float = 0.25,
        margin=1.0,
        kernel_size=31,
        k: int = 10,
        min_distance: float = 1.0,
        frame_length=FRAME_LENGTH,
        frame_step=FRAME_STEP,
        **kw,
    ):
        super().__init__(**kw)
        self.bass_cutoff, self.bass_order = float(bass_cutoff), int(bass_order)
        self.drum_band, self.drum_attenuation = tuple(drum_band), float(drum_attenuation)
        self.margin, self.kernel_size = margin, kernel_size
        self.repet = RepetSim(k=k, min_distance=min_distance, frame_length=frame_length, frame_step=frame_step)
        self.frame_length, self.frame_step = frame_length, frame_step

    def _separate(self, wave, sample_rate):
        from scipy.signal import butter, sosfiltfilt

        n = len(wave)
        spec = stft(wave, self.frame_length, self.frame_step)
        harm_spec, perc_spec = hpss_split(spec, self.kernel_size, 2.0, self.margin)
        freqs = np.arange(spec.shape[1]) * sample_rate / self.frame_length
        gain = np.where((freqs >= self.drum_band[0]) & (freqs <= self.drum_band[1]), self.drum_attenuation, 1.0)
        drums = istft(perc_spec * gain[None, :, None], n, self.frame_step)
        harmonic = istft(harm_spec, n, self.frame_step)
        sos = butter(self.bass_order, self.bass_cutoff, btype="low", fs=sample_rate, output="sos")
        bass = sosfiltfilt(sos, harmonic, axis=0).astype(np.float32)
        rest = stft(harmonic - bass, self.frame_length, self.frame_step)
        voc_spec, _ = self.repet.split(rest, sample_rate)
        vocals = istft(voc_spec, n, self.frame_step)
        other = wave - drums - bass - vocals
        return {"vocals": vocals, "drums": drums, "bass": bass, "other": other}
