"""Oracles: the ceilings of masking methods, computed from the true stems.

They need the references, so they are bound to one track
(``IdealRatioMask(references, sample_rate)`` or ``oracle.for_track(references,
sample_rate)``) and then satisfy the usual ``separate(waveform, sample_rate)``
contract on that track's mixture.  ``tfsep evaluate`` binds them per track;
``tfsep separate`` cannot use them (there is no truth to read).

The STFT here is centred and reconstructs perfectly, so an oracle given a
single source (mask 1 everywhere) returns the mixture to float precision.
The SiSEC definitions (sigsep-mus-oracle) are followed: ratio masks
``|S_j|^p / sum_k |S_k|^p``, binary masks ``ratio mask > threshold``, and the
multichannel Wiener filter built from the true sources' power spectral
densities and spatial covariance matrices.
"""

from __future__ import annotations

import copy

import numpy as np

from ..audio.arrays import check_waveform
from ..audio.stft import istft, stft
from ..errors import TfsepError
from .base import FRAME_LENGTH, FRAME_STEP


class Oracle:
    """Base of the oracles: holds the true stems of one track."""

    name = "oracle"
    needs_references = True
    channels = 2

    def __init__(
        self,
        references: dict | None = None,
        sample_rate: int | None = None,
        *,
        frame_length: int = FRAME_LENGTH,
        frame_step: int = FRAME_STEP,
    ):
        self.frame_length = int(frame_length)
        self.frame_step = int(frame_step)
        self.references = None
        self.stems: list[str] = []
        self.sample_rate = int(sample_rate) if sample_rate else 44100
        if references is not None:
            self._bind(references, sample_rate)

    def _bind(self, references: dict, sample_rate) -> None:
        if not references:
            raise TfsepError(f"oracle {self.name} needs the true stems of the track")
        self.references = {k: np.asarray(v, dtype=np.float32) for k, v in references.items() if k != "mixture"}
        self.stems = list(self.references)
        if sample_rate is None:
            raise TfsepError(f"oracle {self.name} needs the sample rate of its references")
        self.sample_rate = int(sample_rate)

    def for_track(self, references: dict, sample_rate: int) -> "Oracle":
        """A copy bound to one track's true stems (``mixture`` in the dict is ignored)."""
        bound = copy.copy(self)
        bound._bind(references, sample_rate)
        return bound

    def _masks(self, ref_specs: np.ndarray, mix_spec: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _filter(self, ref_specs: np.ndarray, mix_spec: np.ndarray) -> np.ndarray:
        """True STFTs ``(S, C, bins, frames)`` and the mixture's -> estimated STFTs ``(S, C, bins, frames)``."""
        return self._masks(ref_specs, mix_spec) * mix_spec[None]

    def separate(self, waveform, sample_rate) -> dict:
        if self.references is None:
            raise TfsepError(f"oracle {self.name} needs the true stems: it can only be used by 'tfsep evaluate'")
        if int(sample_rate) != self.sample_rate:
            raise TfsepError(f"oracle built for {self.sample_rate} Hz, got audio at {sample_rate} Hz")
        wave, squeeze = check_waveform(waveform)
        n = len(wave)
        refs = []
        for s in self.stems:
            r = self.references[s]
            r = r[:, None] if r.ndim == 1 else r
            if r.shape != wave.shape:
                raise TfsepError(f"oracle reference {s!r} has shape {r.shape}, the mixture {wave.shape}")
            refs.append(r)
        ref_specs = np.stack([stft(r, self.frame_length, self.frame_step) for r in refs])
        mix_spec = stft(wave, self.frame_length, self.frame_step)
        est = istft(self._filter(ref_specs, mix_spec), n, self.frame_step)
        return {s: (est[i][:, 0] if squeeze else est[i]) for i, s in enumerate(self.stems)}

    def iter_separate(self, blocks, on_segment=None):
        raise TfsepError(f"oracle {self.name} needs the true stems: use it with 'tfsep evaluate', not 'tfsep separate'")


class IdealRatioMask(Oracle):
    """Ideal ratio mask ``|S_i|^p / sum_j |S_j|^p`` applied to the mixture STFT.

    With references that sum to the mixture the stems sum exactly to the
    mixture (the masks sum to one in every bin; silent bins are shared equally).
    """

    def __init__(self, references=None, sample_rate=None, power: float = 1.0, **kw):
        self.power = float(power)
        self.name = f"irm{self.power:g}"
        super().__init__(references, sample_rate, **kw)

    def _masks(self, ref_specs, mix_spec):
        p = np.abs(ref_specs) ** self.power
        total = p.sum(axis=0, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            masks = np.where(total > 0, p / np.where(total > 0, total, 1.0), 1.0 / len(p))
        return masks


class IdealBinaryMask(IdealRatioMask):
    """Ideal binary mask: 1 where a source's ratio mask (power ``p``) exceeds ``threshold``."""

    def __init__(self, references=None, sample_rate=None, threshold: float = 0.5, power: float = 1.0, **kw):
        if not 0 <= threshold < 1:
            raise TfsepError(f"binary mask threshold must be in [0, 1), got {threshold}")
        self.threshold = float(threshold)
        super().__init__(references, sample_rate, power=power, **kw)
        self.name = "ibm"

    def _masks(self, ref_specs, mix_spec):
        return (super()._masks(ref_specs, mix_spec) > self.threshold).astype(np.float32)


class OracleWiener(Oracle):
    """Oracle multichannel Wiener filter (SiSEC's MWF): PSDs and spatial covariances of the true stems.

    One EM step of ``tfsep.audio.wiener`` started from the true source STFTs
    computes exactly that filter; ``window`` frames share one spatial
    covariance estimate (None: the whole track).
    """

    name = "mwf"

    def __init__(self, references=None, sample_rate=None, window: int | None = None, **kw):
        self.window = window
        super().__init__(references, sample_rate, **kw)

    def _filter(self, ref_specs, mix_spec):
        import tensorflow as tf

        from ..audio.wiener import wiener_from_estimates

        # (S, C, F, T) -> (1, S, T, F, C), the layout of tfsep.audio.wiener
        y = tf.constant(np.transpose(ref_specs, (0, 3, 2, 1))[None].astype(np.complex64))
        x = tf.constant(np.transpose(mix_spec, (2, 1, 0))[None].astype(np.complex64))
        out = wiener_from_estimates(y, x, iterations=1, window=self.window).numpy()[0]
        return np.transpose(out, (0, 3, 2, 1))


class MixtureAsEstimate(Oracle):
    """The mixture as the estimate of every stem: the floor any method should beat."""

    name = "mixture"

    def _filter(self, ref_specs, mix_spec):
        return np.broadcast_to(mix_spec[None], ref_specs.shape)

    def separate(self, waveform, sample_rate) -> dict:
        if self.references is None:
            raise TfsepError("'mixture' needs the stem names of the track: use it with 'tfsep evaluate'")
        wave, squeeze = check_waveform(waveform)
        return {s: (wave[:, 0] if squeeze else wave).copy() for s in self.stems}
