"""Shared helpers of the benchmark scripts: the real-music excerpt, timing."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SAMPLE_RATE = 44100


def falcon_path() -> str:
    import stempeg

    return os.path.join(os.path.dirname(stempeg.__file__), "data", "The Easton Ellises - Falcon 69.stem.mp4")


def looped(audio: np.ndarray, n: int) -> np.ndarray:
    """``audio`` ``(samples, channels)`` repeated end to end and cut to ``n`` samples."""
    return np.tile(audio, (-(-n // len(audio)), 1))[:n]


def falcon_mixture(seconds: float) -> np.ndarray:
    """The Falcon 69 mixture (6 s of real music), looped to ``seconds``: float32 ``(n, 2)`` at 44.1 kHz."""
    from tfsep.audio import io

    wave, sr = io.load(falcon_path(), sample_rate=SAMPLE_RATE)
    return np.ascontiguousarray(looped(wave, int(round(seconds * SAMPLE_RATE))), dtype=np.float32)


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def time_alternating(methods: dict, audio, repeats: int, warmup_samples: int = 2 * SAMPLE_RATE):
    """Time every ``method(audio)`` ``repeats`` times, alternating, after one warm-up call each.

    The warm-up (the first ``warmup_samples`` of ``audio``) pays for graph
    building and tracing; alternating lets every method see the same machine
    load.  Returns ``({name: [seconds]}, {name: last output})``.
    """
    times, outputs = {m: [] for m in methods}, {}
    for fn in methods.values():
        fn(audio[:warmup_samples])
    for _ in range(repeats):
        for name, fn in methods.items():
            t, outputs[name] = timed(fn, audio)
            times[name].append(t)
    return times, outputs


def median(values):
    return statistics.median(values)


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """10 log10(|ref|^2 / |ref - est|^2) in dB (plain SDR, no projection)."""
    num = float(np.sum(reference.astype(np.float64) ** 2))
    den = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    return float("inf") if den == 0 else 10 * np.log10(max(num, 1e-20) / den)


def machine() -> str:
    return f"{os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"


_PEAK_RSS_CHILD = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
print(json.dumps({"rc": rc, "wall": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def run_measured(cmd: list[str]) -> dict:
    """Run ``cmd`` in a wrapper process: ``{rc, wall (s), maxrss_kb}``, the peak RSS of its largest process.

    One wrapper per run, so ``RUSAGE_CHILDREN`` is that run's own peak (the
    largest single process among the command and everything it waited for).
    """
    res = subprocess.run([sys.executable, "-c", _PEAK_RSS_CHILD, *cmd], capture_output=True, text=True, check=False)
    if not res.stdout.strip():
        raise SystemExit(f"measurement failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])
