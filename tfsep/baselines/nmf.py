"""Non-negative matrix factorisation of the magnitude spectrogram.

``V ~ W H`` (``W``: spectral templates, ``H``: their activations) by the
multiplicative updates of Lee & Seung, with the Kullback–Leibler or the
Euclidean cost, as scikit-learn's ``NMF(solver="mu")`` computes them (the
same random start, rank and iteration count as the hand-written loop it
replaced; on the Falcon 69 excerpt both give the same SDR to 0.001 dB, in
comparable time).  A separation groups the components into stems; each stem
gets the soft mask ``(W_g H_g) / (W H)`` on the mixture STFT, so the stems
sum to the mixture.  Unsupervised NMF does not know which component is which
instrument: the groupings below are simple, documented heuristics (a
baseline, not a tuned system).

- ``NMFSeparation`` (``nmf``): components with spiky activations are drums,
  the rest ``harmonic``.
- ``BandwiseNMF4`` (``nmf4``): HPSS first; the percussive part is ``drums``;
  the harmonic part is factorised per frequency band: low-band components
  with their centroid under ``bass_cutoff`` are ``bass``, mid-band
  components whose activations vary most over time (voices come and go,
  accompaniment sustains) are ``vocals``, everything else is ``other``.
"""

from __future__ import annotations

import numpy as np

from ..audio.stft import istft, stft
from ..errors import TfsepError
from .base import FRAME_LENGTH, FRAME_STEP, ClassicalMethod
from .hpss import hpss_split

_EPS = 1e-10
_BETA_LOSS = {"kl": "kullback-leibler", "euclidean": "frobenius"}


def nmf(V: np.ndarray, n_components: int, beta: str = "kl", n_iter: int = 100, seed: int = 0):
    """Factorise ``V`` ``(bins, frames)`` >= 0 into ``W (bins, K)`` and ``H (K, frames)``.

    ``W`` has unit-norm columns (the scale lives in ``H``, so activations
    compare across components).
    """
    from sklearn.decomposition import NMF

    if beta not in _BETA_LOSS:
        raise TfsepError(f"NMF cost must be 'kl' or 'euclidean', got {beta!r}")
    if int(n_iter) < 1:
        raise TfsepError(f"NMF needs at least one iteration, got n_iter={n_iter}")
    rng = np.random.default_rng(seed)
    F, T = V.shape
    V = V.astype(np.float64) + _EPS
    scale = np.sqrt(V.mean() / n_components)
    W = rng.uniform(0.5, 1.5, (F, n_components)) * scale
    H = rng.uniform(0.5, 1.5, (n_components, T)) * scale
    # scikit-learn updates its W before its H; factorising V.T = H.T W.T
    # updates the activations first, as Lee & Seung (and the old loop) do.
    # tol=0: exactly n_iter iterations, no early stop.
    model = NMF(n_components, init="custom", solver="mu", beta_loss=_BETA_LOSS[beta], max_iter=int(n_iter), tol=0.0)
    Ht = model.fit_transform(V.T, W=np.ascontiguousarray(H.T), H=np.ascontiguousarray(W.T))
    W, H = model.components_.T, Ht.T
    norm = np.linalg.norm(W, axis=0) + _EPS
    return W / norm, H * norm[:, None]


def group_masks(W: np.ndarray, H: np.ndarray, groups: dict) -> dict:
    """``{stem: component indices}`` -> ``{stem: soft mask (bins, frames)}`` summing to one."""
    total = W @ H + _EPS
    masks = {}
    for stem, comps in groups.items():
        comps = list(comps)
        masks[stem] = (W[:, comps] @ H[comps]) / total if comps else np.zeros_like(total)
    return masks


def spikiness(H: np.ndarray, width: int = 9) -> np.ndarray:
    """Share of each activation's energy above its running median: high for drum hits."""
    from scipy.ndimage import median_filter

    smooth = median_filter(H, size=(1, width), mode="nearest")
    return np.sum(np.maximum(H - smooth, 0) ** 2, axis=1) / (np.sum(H**2, axis=1) + _EPS)


def variability(H: np.ndarray) -> np.ndarray:
    """Coefficient of variation of each activation over time."""
    return H.std(axis=1) / (H.mean(axis=1) + _EPS)


def _top(scores: np.ndarray, fraction: float) -> list[int]:
    n = int(round(len(scores) * fraction))
    return sorted(np.argsort(-scores)[:n].tolist())


class NMFSeparation(ClassicalMethod):
    """NMF with components grouped into ``drums`` (spiky activations) and ``harmonic``.

    Args:
        n_components: NMF rank.
        beta: ``kl`` or ``euclidean`` cost.
        drum_fraction: share of the components (the spikiest) given to drums.
        n_iter, seed: multiplicative-update iterations and random start.
    """

    name = "nmf"
    stems = ["drums", "harmonic"]

    def __init__(
        self,
        n_components: int = 16,
        beta: str = "kl",
        drum_fraction: float = 0.3,
        n_iter: int = 100,
        seed: int = 0,
        frame_length=FRAME_LENGTH,
        frame_step=FRAME_STEP,
        **kw,
    ):
        super().__init__(**kw)
        if beta not in ("kl", "euclidean"):
            raise TfsepError(f"NMF cost must be 'kl' or 'euclidean', got {beta!r}")
        self.n_components, self.beta, self.drum_fraction = int(n_components), beta, float(drum_fraction)
        self.n_iter, self.seed = int(n_iter), int(seed)
        self.frame_length, self.frame_step = frame_length, frame_step

    def groups(self, W, H, sample_rate) -> dict:
        drums = _top(spikiness(H), self.drum_fraction)
        return {"drums": drums, "harmonic": [k for k in range(W.shape[1]) if k not in drums]}

    def _separate(self, wave, sample_rate):
        spec = stft(wave, self.frame_length, self.frame_step)
        W, H = nmf(np.mean(np.abs(spec), axis=0), self.n_components, self.beta, self.n_iter, self.seed)
        masks = group_masks(W, H, self.groups(W, H, sample_rate))
        return {s: istft(spec * masks[s][None], len(wave), self.frame_step) for s in self.stems}


class BandwiseNMF4(ClassicalMethod):
    """Band-wise NMF 4-stem pipeline: HPSS, then NMF per frequency band of the harmonic part.

    Args:
        bands: band edges in Hz between low, mid and high bands.
        bass_cutoff: low-band components with their spectral centroid below
            this are bass.
        vocal_fraction: share of the mid-band components (most variable
            activations) given to vocals.
        n_components: NMF rank per band.
        margin, kernel_size: of the HPSS step.
    """

    name = "nmf4"
    stems = ["vocals", "drums", "bass", "other"]

    def __init__(
        self,
        bands=(300.0, 6000.0),
        bass_cutoff: float = 200.0,
        vocal_fraction: float = 0.5,
        n_components: int = 8,
        beta: str = "kl",
        n_iter: int = 100,
        seed: int = 0,
        margin=1.0,
        kernel_size=31,
        frame_length=FRAME_LENGTH,
        frame_step=FRAME_STEP,
        **kw,
    ):
        super().__init__(**kw)
        self.bands = tuple(float(b) for b in bands)
        self.bass_cutoff, self.vocal_fraction = float(bass_cutoff), float(vocal_fraction)
        self.n_components, self.beta, self.n_iter, self.seed = int(n_components), beta, int(n_iter), int(seed)
        self.margin, self.kernel_size = margin, kernel_size
        self.frame_length, self.frame_step = frame_length, frame_step

    def _separate(self, wave, sample_rate):
        spec = stft(wave, self.frame_length, self.frame_step)
        harm, perc = hpss_split(spec, self.kernel_size, 2.0, self.margin)
        mag = np.mean(np.abs(harm), axis=0)
        freqs = np.arange(mag.shape[0]) * sample_rate / self.frame_length
        lo, hi = self.bands
        masks = {s: np.zeros_like(mag) for s in ("vocals", "bass", "other")}
        for band, (f0, f1) in enumerate([(0.0, lo), (lo, hi), (hi, np.inf)]):
            sel = (freqs >= f0) & (freqs < f1)
            if not sel.any():
                continue
            if band == 2:  # above the voice: other
                masks["other"][sel] = 1.0
                continue
            W, H = nmf(mag[sel], self.n_components, self.beta, self.n_iter, self.seed + band)
            if band == 0:
                centroid = (freqs[sel] @ W) / (W.sum(axis=0) + _EPS)
                bass = [k for k in range(W.shape[1]) if centroid[k] < self.bass_cutoff]
                groups = {"bass": bass, "other": [k for k in range(W.shape[1]) if k not in bass]}
            else:
                vocals = _top(variability(H), self.vocal_fraction)
                groups = {"vocals": vocals, "other": [k for k in range(W.shape[1]) if k not in vocals]}
            for s, m in group_masks(W, H, groups).items():
                masks[s][sel] = m
        n = len(wave)
        out = {s: istft(harm * masks[s][None], n, self.frame_step) for s in ("vocals", "bass", "other")}
        out["drums"] = istft(perc, n, self.frame_step)
        return out
