"""What every classical method shares: input checks, the STFT settings, and the
streaming interface ``tfsep separate`` drives (the STFT itself: ``tfsep.audio.stft``).

Classical methods look at the whole track at once (REPET-SIM compares every
frame with every other, NMF fits one dictionary per track), so
``iter_separate`` gathers the input blocks and separates them in one go:
memory grows with the track, which is what these methods need.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from ..audio.arrays import check_waveform
from ..errors import AudioError

FRAME_LENGTH = 4096
FRAME_STEP = 1024


class ClassicalMethod:
    """Base of the DSP baselines: ``separate(waveform, sample_rate)`` and the streaming API.

    Subclasses set ``name`` and ``stems`` and implement ``_separate(wave, sr)``
    on a ``(samples, channels)`` float32 array, returning ``{stem: (samples, channels)}``.
    """

    name = "classical"
    stems: list[str] = []
    needs_references = False
    channels = 2

    def __init__(self, sample_rate: int = 44100):
        self.sample_rate = int(sample_rate)

    @property
    def config(self) -> dict:
        """What ``tfsep separate --json`` reports about the method (a model's config has the same keys)."""
        return {
            "name": self.name,
            "stems": list(self.stems),
            "sample_rate": self.sample_rate,
            "n_channels": self.channels,
        }

    def _separate(self, wave: np.ndarray, sample_rate: int) -> dict:
        raise NotImplementedError

    def separate(self, waveform, sample_rate: int) -> dict:
        """Waveform ``(samples, channels)`` or ``(samples,)`` -> ``{stem: waveform}``, same shape."""
        wave, squeeze = check_waveform(waveform)
        if sample_rate is None or int(sample_rate) <= 0:
            raise AudioError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        out = self._separate(wave, int(sample_rate))
        result = {}
        for s in self.stems:
            y = np.asarray(out[s], dtype=np.float32)[: len(wave)]
            result[s] = y[:, 0] if squeeze else y
        return result

    def iter_separate(self, blocks: Iterable[np.ndarray], on_segment=None) -> Iterator[np.ndarray]:
        """Blocks ``(n, C)`` at ``sample_rate`` -> one block ``(stems, samples, C)`` (whole-track method)."""
        parts = [np.asarray(b, dtype=np.float32) for b in blocks]
        parts = [b for b in parts if len(b)]
        if not parts:
            return
        wave = np.concatenate(parts)
        out = self.separate(wave, self.sample_rate)
        if on_segment is not None:
            on_segment(len(wave))
        yield np.stack([out[s] for s in self.stems])

    def separate_file(self, path, output_dir, **options):
        """Separate one file and write its stems; see ``tfsep.separation.stemfiles.separate_file`` for options."""
        from ..separation.stemfiles import separate_file

        return separate_file(self, path, output_dir, **options)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}: {', '.join(self.stems)}>"
