"""REPET-SIM (Rafii & Pardo 2012): the accompaniment repeats, the voice does not.

For every frame, the ``k`` most similar frames (cosine similarity of magnitude
spectra, at least ``min_distance`` seconds apart and above ``min_similarity``)
are found; their element-wise median models the repeating background.  The
soft mask ``min(model, mixture) / mixture`` gives the accompaniment, its
complement the vocals.  Similarities are computed in blocks of frames, so
memory grows linearly with the track, not quadratically.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..audio.stft import istft, stft
from .base import FRAME_LENGTH, FRAME_STEP, ClassicalMethod


def repeating_model(
    mag: np.ndarray, k: int = 10, min_distance: int = 1, min_similarity: float = 0.0, block: int = 512
) -> np.ndarray:
    """Repeating-background magnitude ``(bins, frames)`` of ``mag`` ``(bins, frames)``."""
    bins, frames = mag.shape
    unit = mag / (np.linalg.norm(mag, axis=0, keepdims=True) + 1e-10)
    model = np.empty_like(mag)
    k = max(1, min(int(k), frames))
    idx = np.arange(frames)
    for start in range(0, frames, block):
        stop = min(frames, start + block)
        sim = unit[:, start:stop].T @ unit  # (block, frames)
        rows = np.arange(start, stop)
        # A frame is excluded from its own neighbours and those too close in time
        # (the frame itself always matches perfectly).
        close = np.abs(rows[:, None] - idx[None, :]) < max(int(min_distance), 1)
        sim[close] = -np.inf
        sim[sim < min_similarity] = -np.inf
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k] if frames > k else np.tile(idx, (stop - start, 1))
        valid = np.isfinite(np.take_along_axis(sim, top, axis=1))  # (block, k)
        neigh = mag.T[top]  # (block, k, bins)
        if valid.all():
            med = np.median(neigh, axis=1)
        else:
            neigh = np.where(valid[..., None], neigh, np.nan)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(neigh, axis=1)
            none = ~valid.any(axis=1)
            med[none] = mag[:, rows[none]].T
        model[:, start:stop] = med.T
    return model


def repet_sim_masks(mag: np.ndarray, k=10, min_distance=1, min_similarity=0.0):
    """(vocals, accompaniment) soft masks of a magnitude ``(bins, frames)``."""
    background = np.minimum(repeating_model(mag, k, min_distance, min_similarity), mag)
    acc = background / (mag + 1e-10)
    return 1.0 - acc, acc


class RepetSim(ClassicalMethod):
    """REPET-SIM vocals/accompaniment separation.

    Args:
        k: number of similar frames whose median models the background.
        min_distance: seconds between a frame and its neighbours.
        min_similarity: cosine similarity a neighbour needs.
    """

    name = "repet-sim"
    stems = ["vocals", "accompaniment"]

    def __init__(
        self,
        k: int = 10,
        min_distance: float = 1.0,
        min_similarity: float = 0.0,
        frame_length=FRAME_LENGTH,
        frame_step=FRAME_STEP,
        **kw,
    ):
        super().__init__(**kw)
        self.k, self.min_distance, self.min_similarity = int(k), float(min_distance), float(min_similarity)
        self.frame_length, self.frame_step = frame_length, frame_step

    def split(self, spec: np.ndarray, sample_rate: int):
        """Complex STFT ``(C, bins, frames)`` -> (vocals, accompaniment) STFTs."""
        mag = np.mean(np.abs(spec), axis=0)
        dist = max(1, int(round(self.min_distance * sample_rate / self.frame_step)))
        m_voc, m_acc = repet_sim_masks(mag, self.k, dist, self.min_similarity)
        return spec * m_voc[None], spec * m_acc[None]

    def _separate(self, wave, sample_rate):
        spec = stft(wave, self.frame_length, self.frame_step)
        voc, acc = self.split(spec, sample_rate)
        n = len(wave)
        return {"vocals": istft(voc, n, self.frame_step), "accompaniment": istft(acc, n, self.frame_step)}
