"""Separation metrics.

``global_sdr`` is the fast, windowless SDR of the Music Demixing challenge:
``10 log10(||s||^2 / ||s - s_hat||^2)`` over all samples and channels.  It
needs no projection and runs in milliseconds, so training validation and
quick checks use it; BSS Eval v4 (museval) is the field's reference.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-8


def global_sdr(reference, estimate) -> float:
    """MDX global SDR in dB of one stem; arrays ``(samples, channels)`` or ``(samples,)``."""
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"reference {ref.shape} and estimate {est.shape} differ in shape")
    num = np.sum(ref**2) + _EPS
    den = np.sum((ref - est) ** 2) + _EPS
    return float(10.0 * np.log10(num / den))


def global_sdr_dict(references: dict, estimates: dict) -> dict:
    """``{stem: SDR}`` for every stem present in both dicts."""
    return {s: global_sdr(references[s], estimates[s]) for s in estimates if s in references}


METRICS = ("SDR", "SIR", "SAR", "ISR")


def museval_scores(references: dict, estimates: dict, sample_rate: int, win: float = 1.0, hop: float = 1.0) -> dict:
    """BSS Eval v4 frame-wise scores as museval computes them for a MUSDB track.

    As ``museval.eval_mus_track``: ``vocals``/``accompaniment`` are scored
    together as their own scenario, every other stem present in both dicts
    jointly with the others (SIR depends on which sources are scored
    together).  Returns ``{stem: {"SDR": [...], "SIR": [...], "SAR": [...],
    "ISR": [...]}}`` with one value per ``win``-second frame (NaN where the
    reference is silent).

    v4 fits the distortion filters once on the whole signal and applies them
    frame by frame.  On excerpts of a few seconds the per-frame SIR and SAR
    can then come out far too low (even negative for oracles) while SDR stays
    sound: score whole tracks, or pass ``win`` = the excerpt length.
    """
    import museval

    stems = [s for s in references if s != "mixture" and s in estimates]
    has_acc = "vocals" in stems and "accompaniment" in stems
    groups = []  # (stems scored together, stems whose result this group does not give)
    joint = [s for s in stems if not (has_acc and s == "accompaniment")]
    if len(joint) >= 2:
        groups.append((joint, {"vocals"} if has_acc else set()))
    if has_acc:
        groups.append((["vocals", "accompaniment"], set()))
    if len(stems) == 1:
        groups.append((stems, set()))  # museval would refuse; scored on its own here
    scores = {}
    for group, skip in groups:
        refs = np.stack([_2d(references[s]) for s in group])
        ests = np.stack([_2d(estimates[s]) for s in group])
        SDR, ISR, SIR, SAR = museval.evaluate(
            refs, ests, win=int(win * sample_rate), hop=int(hop * sample_rate), mode="v4"
        )
        for i, s in enumerate(group):
            if s not in skip:
                scores[s] = {
                    "SDR": SDR[i].tolist(),
                    "SIR": SIR[i].tolist(),
                    "SAR": SAR[i].tolist(),
                    "ISR": ISR[i].tolist(),
                }
    return {s: scores[s] for s in stems if s in scores}


def _2d(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x


def median_over_frames(frames: list) -> float:
    """The SiSEC aggregate of one track: median over frames, ignoring NaN (silent) frames."""
    vals = np.asarray([np.nan if v is None else v for v in frames], dtype=np.float64)
    if not np.any(np.isfinite(vals)):
        return float("nan")
    return float(np.nanmedian(vals))


def bss_eval_sources(references: dict, estimates: dict) -> dict:
    """mir_eval's ``bss_eval_sources`` (v3, mono mixdown, permutation solved) over whole signals.

    Returns ``{stem: {"SDR", "SIR", "SAR"}}``; ``perm`` tells which estimate
    mir_eval matched with each reference (``{stem: matched stem}``).
    """
    import mir_eval

    stems = [s for s in references if s != "mixture" and s in estimates]
    refs = np.stack([_2d(references[s]).mean(axis=1) for s in stems])
    ests = np.stack([_2d(estimates[s]).mean(axis=1) for s in stems])
    sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(refs, ests, compute_permutation=True)
    return {
        s: {"SDR": float(sdr[i]), "SIR": float(sir[i]), "SAR": float(sar[i]), "perm": stems[int(perm[i])]}
        for i, s in enumerate(stems)
    }
