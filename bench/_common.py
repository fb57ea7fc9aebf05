"""Shared helpers of the benchmark scripts: the real-music excerpt, timing."""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

SAMPLE_RATE = 44100


def falcon_path() -> str:
    import stempeg

    return os.path.join(os.path.dirname(stempeg.__file__), "data", "The Easton Ellises - Falcon 69.stem.mp4")


def falcon_mixture(seconds: float) -> np.ndarray:
    """The Falcon 69 mixture (6 s of real music), looped to ``seconds``: float32 ``(n, 2)`` at 44.1 kHz."""
    from tfsep.audio import io

    wave, sr = io.load(falcon_path(), sample_rate=SAMPLE_RATE)
    n = int(round(seconds * SAMPLE_RATE))
    reps = -(-n // len(wave))
    return np.ascontiguousarray(np.tile(wave, (reps, 1))[:n], dtype=np.float32)


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def median(values):
    return statistics.median(values)


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """10 log10(|ref|^2 / |ref - est|^2) in dB (plain SDR, no projection)."""
    num = float(np.sum(reference.astype(np.float64) ** 2))
    den = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    return float("inf") if den == 0 else 10 * np.log10(max(num, 1e-20) / den)


def machine() -> str:
    return f"{os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
