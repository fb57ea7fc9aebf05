"""Where a track's stems go: encoders (or rescale temps first), one gain for all, an all-or-nothing commit.

``clip="rescale"`` of integer or lossy output needs the peak of the whole
track before writing, so stems first go to temp files next to their
destination and are encoded in a second streaming pass.  Every stem is
committed only after all of them were written and encoded: a failure leaves
no output file behind, and an existing one as it was.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from ..audio.partials import forget_partial, partial_file, remove_partial_dir
from ..audio.write_errors import disk_error
from ..audio.writer import AudioWriter, apply_clip
from ..console.interrupts import critical, track_new_dirs, untrack_new_dirs
from ..errors import OutputError
from .outputs import missing_dirs

# Frames per block when a temp is read back for the second pass.
TEMP_READ_BLOCK = 1 << 17


class _StemTemp:
    """A stem's first-pass temp file for two-pass rescaling, in the output folder's ``.tfsep-partial``.

    For 16-bit and lossy outputs it is a 24-bit WAV of the stem scaled down
    by :data:`TEMP_HEADROOM` (24 dB): 20 bits of precision, more than those
    outputs keep, in three quarters of a float32 WAV's space.  (A 24-bit
    FLAC took a third less space but twice the time: encoding and decoding
    it cost 0.6 s per 5-minute stem against 0.28 s, a quarter of what
    separating the file takes.)  For 24-bit output, whose precision that would
    cut, it is a float32 WAV.  Samples beyond the headroom (+24 dBFS) are
    clipped and counted.
    """

    def __init__(self, final: Path, sample_rate: int, channels: int, compact: bool):
        import soundfile as sf

        final.parent.mkdir(parents=True, exist_ok=True)
        self.final = final
        self.compact = compact
        self.path = Path(partial_file(final, ".pass1-", ".s24.wav" if compact else ".f32.wav"))
        fmt, subtype = ("WAV", "PCM_24") if compact else ("WAV", "FLOAT")
        try:
            self.file = sf.SoundFile(
                str(self.path), "w", samplerate=sample_rate, channels=channels, subtype=subtype, format=fmt
            )
        except BaseException:
            forget_partial(self.path)
            remove_partial_dir(final)
            raise
        self.beyond_headroom = 0

    def write(self, block):
        if self.compact:
            self.beyond_headroom += int(np.count_nonzero(np.abs(block) >= TEMP_HEADROOM))
            block = np.clip(block / np.float32(TEMP_HEADROOM), -1.0, 1.0 - 2.0**-23)
        try:
            self.file.write(block)
        except (RuntimeError, OSError) as exc:
            raise disk_error(self.final, exc) from None

    def blocks(self):
        import soundfile as sf

        self.file.close()
        with sf.SoundFile(str(self.path)) as f:
            while True:
                block = f.read(TEMP_READ_BLOCK, dtype="float32", always_2d=True)
                if not len(block):
                    break
                yield block * np.float32(TEMP_HEADROOM) if self.compact else block

    def remove(self):
        try:
            self.file.close()
        except Exception:
            pass
        forget_partial(self.path)
        remove_partial_dir(self.final)


# Compact temps store stems scaled down by this (24 dB): louder samples than 16x full scale are clipped.
TEMP_HEADROOM = 16.0


class StemSink:
    """Where a track's stems go: straight to the encoders, or (``rescale`` of non-float output) via float temps.

    ``rescale`` needs the peak of the whole track before writing, so its
    stems first go to float32 temp files beside their destination and are
    encoded in a second streaming pass with one gain for all stems (they
    still sum to the scaled mixture).  32-bit float WAV cannot clip, so it
    keeps the gain whatever the clip mode.  Every gain change and every
    sample that the format clips is reported in ``notes``.
    """

    def __init__(self, paths, rate, channels, codec, bit_depth, bitrate, clip, overwrite=False):
        self.paths, self.rate, self.channels = paths, rate, channels
        self.overwrite = overwrite
        self.published = []
        self.codec, self.bit_depth, self.bitrate, self.clip = codec, bit_depth, bitrate, clip
        self.float_output = codec == "wav" and bit_depth == 32
        self.two_pass = clip == "rescale" and not self.float_output
        self.new_dirs = missing_dirs(paths)
        track_new_dirs(self.new_dirs)  # a hard stop (see console.interrupts) removes them if still empty
        self.temps, self.writers = {}, {}
        self.frames = 0
        self.peak = 0.0
        self.clipped = 0
        self.done = False
        # One file at a time, each registered at once: an interrupt in between leaves nothing that
        # close() does not know of.
        try:
            for stem, path in paths.items():
                if self.two_pass:
                    compact = not (codec in ("wav", "flac") and bit_depth == 24)
                    self.temps[stem] = _StemTemp(path, rate, channels, compact)
                else:
                    self.writers[stem] = self._writer(stem)
        except BaseException:
            self.close()
            raise

    def _writer(self, stem):
        return AudioWriter(
            self.paths[stem], self.rate, self.channels, codec=self.codec, bit_depth=self.bit_depth, bitrate=self.bitrate
        )

    def _clip_mode(self):
        # Float WAV keeps every value; ``rescale`` there means "no change needed".
        return "none" if self.float_output and self.clip == "rescale" else self.clip

    def write(self, block):
        """Stem block ``(stems, n, C)`` in the order of ``paths``."""
        self.frames += block.shape[1]
        if block.shape[1]:
            self.peak = max(self.peak, float(np.max(np.abs(block))))
            if not self.float_output or self.clip == "clamp":
                self.clipped += int(np.count_nonzero(np.abs(block) > 1.0))
        for stem, x in zip(self.paths, block):
            if self.temps:
                self.temps[stem].write(x)
            else:
                self.writers[stem].write(apply_clip(x, self._clip_mode()))

    def commit(self, published=None) -> dict:
        """Finish every stem file (the second pass first, for rescale); returns the gain summary.

        ``published(gain summary)`` runs right after the files are in place, in the same critical section.
        """
        scale = 1.0
        if self.two_pass:
            scale = 1.0 / max(self.peak, 1.0)
            self.writers = {s: self._writer(s) for s in self.paths}
            for stem, temp in self.temps.items():
                for block in temp.blocks():
                    self.writers[stem].write(apply_clip(block, "rescale", scale))
        # Every encoder finishes before any file is renamed into place: a failing
        # stem leaves all of the user's old files as they were.
        for w in self.writers.values():
            w.finish()
        with critical():  # a hard stop (SIGTERM in a long model call) never leaves a track half published
            try:
                for w in self.writers.values():
                    w.publish(replace=self.overwrite)
                    self.published.append(w.path)
            except OutputError:
                # Without --overwrite none of these files existed at the start: take back this track's
                # stems that did get published, so that the track is all or nothing.
                for path in self.published:
                    with contextlib.suppress(OSError):
                        os.remove(path)
                raise
            self.done = True
            result = {
                "peak": self.peak,
                "scale": scale,
                "gain_db": _db(scale),
                "clipped": self._clipped(scale),
                "notes": self._notes(scale),
            }
            if published is not None:
                published(result)
        return result

    def _clipped(self, scale):
        return 0 if scale < 1.0 or (self.float_output and self.clip != "clamp") else self.clipped

    def _notes(self, scale):
        loud = sum(t.beyond_headroom for t in self.temps.values())
        extra = (
            [f"{loud} samples beyond +24 dBFS were clipped before rescaling; --bit-depth 32 keeps them"] if loud else []
        )
        return extra + self._gain_notes(scale)

    def _gain_notes(self, scale):
        fmt = (
            "32-bit float WAV"
            if self.float_output
            else f"{self.bit_depth}-bit {self.codec}"
            if self.codec in ("wav", "flac")
            else self.codec
        )
        if scale < 1.0:
            return [
                f"stems scaled by {_gain_text(_db(scale))} (peak {self.peak:.3f}) so that {fmt} does not clip; "
                "--bit-depth 32 keeps the gain"
            ]
        clipped = self._clipped(scale)
        if clipped:
            how = "clamped to full scale" if self.clip == "clamp" else f"clipped by {fmt}"
            return [
                f"{clipped} samples beyond full scale (peak {self.peak:.2f}) were {how}; --clip rescale or --bit-depth 32 avoid it"
            ]
        return []

    def close(self):
        """Remove temps; if the stems were not committed, abort every writer and remove new folders."""
        for t in self.temps.values():
            t.remove()
        untrack_new_dirs(self.new_dirs)
        if self.done:
            return
        for w in self.writers.values():
            w.abort()
        for d in self.new_dirs:  # a failed track leaves no empty folders behind either
            try:
                d.rmdir()
            except OSError:
                pass


def _gain_text(db: float) -> str:
    """A gain change as a user reads it: never "-0.0 dB" for a change too small for one decimal."""
    return f"{db:.1f} dB" if db <= -0.05 else f"{db:.3f} dB" if db <= -0.0005 else "less than 0.001 dB"


def _db(scale: float) -> float:
    return 20.0 * float(np.log10(scale)) if scale > 0 else float("-inf")
