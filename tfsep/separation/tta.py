"""Test-time augmentation: average a model's stems over shifted and channel-swapped copies of each segment.

``shifts`` (as in Demucs): the segment is also separated delayed by
``shifts`` offsets spread over the first ``max_shift`` samples, so that the
STFT frames and the U-Net's pooling grid fall elsewhere on the music; each
result is moved back and the passes are averaged sample by sample (the last
``d`` samples of a pass delayed by ``d`` are not in it and are averaged over
the other passes).  ``channel_swap``: a stereo segment is also separated
with left and right exchanged, and the result swapped back.  Both are linear
in the passes, so stems that summed to the mixture still do.
"""

from __future__ import annotations

import numpy as np

# Each shift is one more pass of the model over every segment, traced into one graph: beyond this, a
# request is a typo or hours of work (Demucs' paper used 10).
MAX_SHIFTS = 16


def shift_offsets(shifts: int, max_shift: int) -> list[int]:
    """``shifts`` delays in samples, spread evenly over ``(0, max_shift)``: deterministic, no seed needed.

    Delays that round to the same sample (a segment shorter than the shifts) are one pass, not several.
    """
    offsets = [int(round((k + 0.5) / shifts * max_shift)) for k in range(shifts)] if shifts else []
    return sorted(set(offsets))


def augmented(run, segment: int, shifts: int = 0, max_shift: int = 0, channel_swap: bool = False):
    """``run``: segments ``(B, L, C)`` -> stems ``(B, S, L, C)``, averaged over the augmentations above."""
    import tensorflow as tf

    offsets = [d for d in shift_offsets(shifts, max_shift) if 0 < d < segment]
    if not offsets and not channel_swap:
        return run
    # How many passes cover each sample: the unshifted pass, and each delayed one but for its last d samples.
    count = np.ones(segment, np.float32)
    for d in offsets:
        count[: segment - d] += 1
    inverse_count = tf.constant(1.0 / count)[None, None, :, None]

    def swapped(batch):
        if not channel_swap:
            return run(batch)
        # One model call on both versions: twice the batch, not twice the calls.
        both = run(tf.concat([batch, batch[..., ::-1]], axis=0))
        n = tf.shape(batch)[0]
        return 0.5 * (both[:n] + both[n:, ..., ::-1])

    def call(batch):
        total = swapped(batch)
        for d in offsets:
            delayed = tf.pad(batch, [[0, 0], [d, 0], [0, 0]])[:, :segment]
            back = swapped(delayed)[:, :, d:]
            total += tf.pad(back, [[0, 0], [0, 0], [0, d], [0, 0]])
        return total * inverse_count if offsets else total

    return call
