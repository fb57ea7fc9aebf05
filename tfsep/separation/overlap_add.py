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
    """Stem blocks without their first and last ``padding`` samples."""
    skip, held = padding, None
    for out in stem_blocks:
        if skip:
            k = min(skip, out.shape[1])
            out, skip = out[:, k:], skip - k
        held = out if held is None else np.concatenate([held, out], axis=1)
        if held.shape[1] > padding:
            yield held[:, : held.shape[1] - padding]
            held = held[:, held.shape[1] - padding :]


def _stream(blocks, run, segment, hop, window, n_stems, channels, batch_size, on_segment):
    L, H, S = segment, hop, n_stems
    pending = np.zeros((0, channels), dtype=np.float32)  # input from absolute position `start`
    acc = np.zeros((S, 0, channels), dtype=np.float32)  # weighted output sum from `out_pos`
    wsum = np.zeros(0, dtype=np.float32)
    start = out_pos = 0
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
        end = start + offsets[-1] + len(segs[-1])
        grow = end - out_pos - acc.shape[1]
        if grow > 0:
            acc = np.concatenate([acc, np.zeros((S, grow, channels), np.float32)], axis=1)
            wsum = np.concatenate([wsum, np.zeros(grow, np.float32)])
        for seg, o, stems in zip(segs, offsets, result):
            n, a = len(seg), start + o - out_pos
            w = window[:n]
            acc[:, a : a + n] += stems[:, :n] * w[None, :, None]
            wsum[a : a + n] += w
        # Everything before the next segment's start is final.
        done = end if final else start + off
        emit = done - out_pos
        yield acc[:, :emit] / wsum[None, :emit, None]
        acc, wsum, out_pos = acc[:, emit:], wsum[emit:], done
        if on_segment is not None:
            on_segment(out_pos)
        if final:
            return
        pending, start = pending[off:], start + off
