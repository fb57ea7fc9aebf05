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
