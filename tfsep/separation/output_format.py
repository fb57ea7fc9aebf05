"""Stems at the output's format: the input's sample rate (unless asked) and channel layout, sample-exact in length.

The model may run at another rate and channel count inside; stem blocks
come back through :class:`ToOutput` as the stem files need them.
"""

from __future__ import annotations

import numpy as np

from ..audio.channels import output_channels, restore_channels
from ..audio.resampling import RESAMPLE_QUALITY
from ..errors import OutputError


class ToOutput:
    """Stem blocks at the model's rate and channels -> at the input's (or the asked) rate and channel layout.

    One streaming soxr resampler per stem; the last few samples are held back
    so that every stem ends with exactly as many samples as the input
    (``expected()``, known once the input is read) has at the output rate.
    """

    HOLD = 256

    def __init__(self, n_stems, model_rate, out_rate, model_channels, out_channels, expected):
        import soxr

        self.n_stems, self.out_channels, self.expected = n_stems, out_channels, expected
        self.streams = None
        if out_rate != model_rate:
            self.streams = [
                soxr.ResampleStream(model_rate, out_rate, model_channels, dtype="float32", quality=RESAMPLE_QUALITY)
                for _ in range(n_stems)
            ]
        self.held = None
        self.emitted = 0

    def _convert(self, block, last=False):
        if self.streams is not None:
            parts = [st.resample_chunk(np.ascontiguousarray(b), last=last) for st, b in zip(self.streams, block)]
            n = min(len(x) for x in parts)  # soxr streams of equal input give equal output; guard anyway
            block = np.stack([x[:n] for x in parts])
        return np.stack([restore_channels(b, self.out_channels) for b in block]) if len(block) else block

    def _emit(self, block):
        self.held = block if self.held is None else np.concatenate([self.held, block], axis=1)
        if self.held.shape[1] > self.HOLD:
            out, self.held = self.held[:, : -self.HOLD], self.held[:, -self.HOLD :]
            self.emitted += out.shape[1]
            yield out

    def __call__(self, stem_blocks):
        channels = None
        for block in stem_blocks:
            channels = block.shape[2]
            yield from self._emit(self._convert(block))
        if channels is None:
            return
        if self.streams is not None:
            yield from self._emit(self._convert(np.zeros((self.n_stems, 0, channels), np.float32), last=True))
        held = self.held if self.held is not None else np.zeros((self.n_stems, 0, self.out_channels), np.float32)
        want = self.expected() - self.emitted
        if want > held.shape[1]:  # a resampler one or two samples short: pad with silence
            held = np.concatenate([held, np.zeros((self.n_stems, want - held.shape[1], held.shape[2]), np.float32)], 1)
        self.emitted += max(want, 0)
        yield held[:, : max(want, 0)]


def stem_file_format(reader, separator, sample_rate):
    """``(rate, channels)`` of the stem files: the input's rate (unless asked otherwise) and layout."""
    rate = int(sample_rate or reader.source_sample_rate)
    if rate <= 0:
        raise OutputError(f"output sample rate must be a positive integer, got {sample_rate!r}")
    # A mono input gets mono stems; stereo and multichannel inputs get stereo stems, whatever the model's layout.
    return rate, output_channels(reader.source_channels)
