"""Streaming overlap-add: blocks of any size in, separated blocks out, memory bounded.

The one loop behind ``Separator`` and the TF Serving client.
"""

from __future__ import annotations

import numpy as np

from ..errors import AudioError


def overlap_add_stream(
    blocks, run, *, segment, hop, window, n_stems, channels, batch_size=1, padding=0, on_segment=None
):
    """Stream blocks ``(n, C)`` through ``run`` in overlapping segments -> stem blocks ``(stems, m, C)``.

    Segments start every ``hop`` samples and hold up to ``segment`` samples;
    ``run(list of segments)`` returns, per segment, stems ``(stems, >= len(seg), C)``.
    Outputs are blended with ``window`` and normalised by the summed weights;
    the concatenated output has exactly as many samples as the input.
    ``padding`` zeros are put before and after the input and cropped from
    the output; ``on_segment(samples_done)`` counts input samples.
    """
    if not padding:
        return _stream(blocks, run, segment, hop, window, n_stems, channels, batch_size, on_segment)
    padded = _Padded(blocks, padding, channels)
    report = None if on_segment is None else (lambda done: on_segment(min(max(0, done - padding), padded.seen)))
    return _cropped(_stream(padded, run, segment, hop, window, n_stems, channels, batch_size, report), padding)


class _Padded:
    """``padding`` zeros, the blocks, ``padding`` zeros (nothing at all for an empty input); counts input samples."""

    def __init__(self, blocks, padding, channels):
        self.blocks, self.padding, self.channels = blocks, padding, channels
        self.seen = 0

    def __iter__(self):
        zeros = np.zeros((self.padding, self.channels), np.float32)
        started = False
        for block in self.blocks:
            if not len(block):
                continue
            if not started:
                started = True
                yield zeros
            self.seen += len(block)
            yield block
        if started:
            yield zeros


def _cropped(stem_blocks, padding):
    """Stem blocks without their first and last ``padding`` samples.

    Big blocks are passed on as views: only the last ``padding`` samples
    are held back (copied) until more output shows they are not the end.
    """
    skip, held = padding, None
    for out in stem_blocks:
        if skip:
            k = min(skip, out.shape[1])
            out, skip = out[:, k:], skip - k
        if held is not None and out.shape[1] >= padding:
            yield held  # `out` alone covers the tail that might be cropped
            held = None
        if held is not None:
            out = np.concatenate([held, out], axis=1)
        n = out.shape[1]
        if n > padding:
            yield out[:, : n - padding]
        held = out[:, max(n - padding, 0) :].copy()


def _stream(blocks, run, segment, hop, window, n_stems, channels, batch_size, on_segment):
    L, H, S = segment, hop, n_stems
    pending = np.zeros((0, channels), dtype=np.float32)  # input from absolute position `start`
    # Weighted output sums and summed weights from `start`: one batch's span, reused. Samples a segment
    # is the first to reach are written (one pass), only those another segment already reached are added.
    # Samples and channels share one axis (weights repeated per channel): NumPy's inner loops then run
    # over whole segments, not over the two channels of one sample.
    C = channels
    # Sized for the batches that come (a short track with a big --batch-size has few segments): grown as needed.
    acc = np.empty((S, 0), dtype=np.float32)
    wsum = np.empty(0, dtype=np.float32)
    wrep = np.repeat(np.asarray(window, np.float32), C)
    filled = 0  # acc[:, :filled * C] holds contributions (the overlap carried from the last batch)
    start = 0
    exhausted = False
    it = iter(blocks)
    while True:
        # Read enough for a full batch of segments plus one sample: that
        # sample tells whether the batch's last segment ends the input.
        need = (batch_size - 1) * H + L + 1
        parts, have = [pending], len(pending)
        while have < need and not exhausted:
            block = next(it, None)
            if block is None:
                exhausted = True
                break
            block = np.asarray(block, dtype=np.float32)
            if block.ndim != 2 or block.shape[1] != channels:
                raise AudioError(f"expected blocks of shape (n, {channels}), got {block.shape}")
            parts.append(block)
            have += len(block)
        if len(parts) > 1:
            pending = np.concatenate(parts)
        if len(pending) == 0:
            return  # empty input; a non-final batch always leaves input pending
        segs, offsets, off, final = [], [], 0, False
        while len(segs) < batch_size:
            segs.append(pending[off : off + L])
            offsets.append(off)
            if off + L >= len(pending):  # only when exhausted: see `need`
                final = True
                break
            off += H
        result = run(segs)
        span = (offsets[-1] + L) * C
        if acc.shape[1] < span:  # the first batch, or a fuller one than before: keep what was carried over
            acc, wsum = _grown(acc, span, filled * C), _grown(wsum, span, filled * C)
        for seg, o, stems in zip(segs, offsets, result):
            n = len(seg)
            shared = max(min(filled, o + n) - o, 0)  # samples other segments reached first
            flat = np.reshape(stems, (S, -1))[:, : n * C]  # a view of a contiguous run() result
            a, b, e = o * C, (o + shared) * C, (o + n) * C
            if shared:
                acc[:, a:b] += flat[:, : b - a] * wrep[: b - a]
                wsum[a:b] += wrep[: b - a]
            np.multiply(flat[:, b - a :], wrep[b - a : e - a], out=acc[:, b:e])
            wsum[b:e] = wrep[b - a : e - a]
            filled = max(filled, o + n)
        # Everything before the next segment's start is final.
        done = filled if final else off
        yield (acc[:, : done * C] / wsum[: done * C]).reshape(S, done, C)
        rest = (filled - done) * C
        acc[:, :rest] = acc[:, done * C : filled * C].copy()
        wsum[:rest] = wsum[done * C : filled * C].copy()
        filled -= done
        if on_segment is not None:
            on_segment(start + done)
        if final:
            return
        pending, start = pending[off:], start + off


def _grown(buffer: np.ndarray, size: int, keep: int) -> np.ndarray:
    """``buffer`` with room for ``size`` entries on its last axis, its first ``keep`` kept."""
    bigger = np.empty(buffer.shape[:-1] + (size,), dtype=buffer.dtype)
    bigger[..., :keep] = buffer[..., :keep]
    return bigger
