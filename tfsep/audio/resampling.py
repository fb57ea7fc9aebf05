"""Sample-rate conversion with soxr: the one quality setting, output lengths, one-shot resampling.

Streaming conversion (``soxr.ResampleStream``) lives with the code that
streams (the file reader, stem writing, live streams); it uses the same
:data:`RESAMPLE_QUALITY`, so one-shot and streamed audio agree.
"""

import math

import numpy as np
import soxr

from ..errors import AudioError

RESAMPLE_QUALITY = "HQ"


def output_frames(n, rate_in, rate_out):
    """Samples that ``n`` samples at ``rate_in`` become at ``rate_out`` (what soxr gives, rounded)."""
    return n if rate_in == rate_out else int(math.floor(n * rate_out / rate_in + 0.5))


def resample(waveform, orig_sr, target_sr):
    """Resample a ``(samples, channels)`` (or 1-D) array with soxr, in one shot."""
    x = np.asarray(waveform, dtype=np.float32)
    if orig_sr <= 0 or target_sr <= 0:
        raise AudioError(f"resample: sample rates must be > 0, got {orig_sr} -> {target_sr}")
    if orig_sr == target_sr:
        return x
    if len(x) == 0:
        return x.copy()
    return soxr.resample(np.ascontiguousarray(x), orig_sr, target_sr, quality=RESAMPLE_QUALITY).astype(
        np.float32, copy=False
    )
