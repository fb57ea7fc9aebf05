"""WAV files that are playable at every moment while they grow: what a live separation writes.

:class:`GrowingWav` writes a canonical RIFF/WAVE header, then after each
block of samples the data and, last, the header's two sizes, flushed.  A
reader that opens the file meanwhile sees a complete WAV of what was written
up to the last update; a run killed mid-block leaves a playable file whose
header counts the samples before that block.  On a pipe (not seekable) the
sizes are the streaming convention ``0xFFFFFFFF``, as ffmpeg and sox write
and read them.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from ..errors import OutputError

SUBTYPES = {"PCM_16": (1, 2), "PCM_24": (1, 3), "FLOAT": (3, 4)}  # WAVE format tag, bytes per sample
_STREAMING = 0xFFFFFFFF
_HEADER = 44


class GrowingWav:
    """A WAV written block by block, its header true after every :meth:`write`.

    Args:
        target: a path, or a binary file object (``sys.stdout.buffer``).
        sample_rate, channels: the stream's.
        subtype: ``PCM_16`` (clipped to [-1, 1]), ``PCM_24`` or ``FLOAT``.
    """

    def __init__(self, target, sample_rate: int, channels: int, subtype: str = "PCM_16"):
        if subtype not in SUBTYPES:
            raise OutputError(f"WAV subtype must be one of {', '.join(SUBTYPES)}, got {subtype!r}")
        self.tag, self.width = SUBTYPES[subtype]
        self.subtype, self.sample_rate, self.channels = subtype, int(sample_rate), int(channels)
        self.path = None if hasattr(target, "write") else os.fspath(target)
        try:
            self.file = open(self.path, "wb") if self.path else target  # noqa: SIM115 (closed in close())
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self.seekable = bool(self.path) and self.file.seekable()
        self.frames = 0
        self._write(self._header(0 if self.seekable else None))

    def _header(self, frames: int | None) -> bytes:
        block_align = self.channels * self.width
        data = _STREAMING if frames is None else frames * block_align
        riff = _STREAMING if frames is None else 36 + data
        return (
            b"RIFF"
            + struct.pack("<I", riff)
            + b"WAVEfmt "
            + struct.pack(
                "<IHHIIHH",
                16,
                self.tag,
                self.channels,
                self.sample_rate,
                self.sample_rate * block_align,
                block_align,
                self.width * 8,
            )
            + b"data"
            + struct.pack("<I", data)
        )

    def write(self, block: np.ndarray) -> None:
        """Append ``(n, channels)`` float samples; the header counts them once this returns."""
        x = np.asarray(block, np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            raise OutputError(f"block of {x.shape[1]} channels for a {self.channels}-channel WAV")
        if not len(x):
            return
        self._write(self._encoded(x))
        self.frames += len(x)
        if self.seekable:
            self.file.seek(4)
            self.file.write(struct.pack("<I", 36 + self.frames * self.channels * self.width))
            self.file.seek(40)
            self.file.write(struct.pack("<I", self.frames * self.channels * self.width))
            self.file.seek(0, os.SEEK_END)
        self._flush()

    def _encoded(self, x: np.ndarray) -> bytes:
        if self.subtype == "FLOAT":
            return x.astype("<f4").tobytes()
        scale = 32767.0 if self.width == 2 else 8388607.0
        ints = np.round(np.clip(x, -1.0, 1.0) * scale).astype("<i4")
        if self.width == 2:
            return ints.astype("<i2").tobytes()
        # 24-bit little endian: the low three bytes of each int32.
        return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()

    def _write(self, data: bytes) -> None:
        try:
            self.file.write(data)
        except OSError as exc:
            where = self.path or "the output"
            raise OutputError(f"cannot write {where}: {exc.strerror or exc}") from None

    def _flush(self) -> None:
        try:
            self.file.flush()
        except OSError as exc:
            raise OutputError(f"cannot write {self.path or 'the output'}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self.path and not self.file.closed:
            self.file.close()
        elif not self.path:
            self._flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
