"""Separate audio files into stem files: output naming, codecs, clipping, atomic writes.

Memory stays bounded for any input length: audio is read, separated and
written in blocks.  Stems come out at the input's sample rate and channel
layout, sample-aligned with it (the model may run at another rate inside).
``clip="rescale"`` of integer or lossy output needs the peak of the whole
track before writing, so stems first go to float32 temp files next to their
destination and are encoded in a second streaming pass.  Every stem is
committed only after all of them were written and encoded: a failure leaves
no output file behind, and an existing one as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import numpy as np

from ..audio import codecs
from ..audio import io as audio_io
from ..audio.channels import output_channels, restore_channels
from ..audio.writer import (
    AudioWriter,
    apply_clip,
    check_encoding,
    disk_error,
    forget_partial,
    parse_bitrate,
    partial_file,
    remove_partial_dir,
    sweep_partials,
)
from ..console.interrupts import critical, track_new_dirs, untrack_new_dirs
from ..console.progress import stderr_is_terminal
from ..errors import OutputError, TfsepError
from .outputs import (
    DEFAULT_TEMPLATE,
    PLACEHOLDERS,
    check_writable,
    missing_dirs,
    output_paths,
    refuse_inputs,
    template_codec,
    track_name,
)

__all__ = ["DEFAULT_TEMPLATE", "PLACEHOLDERS", "output_paths", "separate_file", "track_name"]

READ_BLOCK = 1 << 17


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
                block = f.read(READ_BLOCK, dtype="float32", always_2d=True)
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


def disk_space_needed(frames, rate: int, channels: int, n_stems: int, codec, bit_depth: int, bitrate, clip: str):
    """About how many bytes a track's stems (and their rescale temps) take while it is written; None if unknown."""
    if not frames:
        return None
    if codec in ("wav", "flac"):
        per_sample = bit_depth / 8 * (0.7 if codec == "flac" else 1.0)
        out = frames * channels * per_sample
    else:
        out = parse_bitrate(bitrate) / 8 * frames / rate
    temp = 0.0
    if clip == "rescale" and not (codec == "wav" and bit_depth == 32):
        temp = frames * channels * (4 if bit_depth == 24 else 3)
    return int(n_stems * (out + temp))


def check_free_space(paths: dict, need) -> None:
    """Refuse to start a track that cannot fit on the output's disk (a full disk mid-run wastes the work)."""
    if need is None:
        return
    folder = next(iter(paths.values())).parent
    probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if probe is None:
        return
    free = shutil.disk_usage(probe).free
    if free < need:
        mb = 1 << 20
        raise OutputError(
            f"{folder}: these stems need about {need / mb:.0f} MB while they are written "
            f"(outputs and rescale temps), only {free / mb:.0f} MB free; free some space or choose another -o"
        )


def _progress_bar(enabled, total_samples, rate, name):
    """A tqdm bar over seconds of audio (length unknown: no percentage or ETA), or None.

    Only on a terminal: in a log, a bar's carriage-return redraws are noise.
    """
    if not enabled or not stderr_is_terminal():
        return None
    from tqdm import tqdm

    known = bool(total_samples)
    return tqdm(
        total=round(total_samples / rate, 1) if known else None,
        unit="s",
        desc=name[:30],
        leave=False,
        bar_format=(
            "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}<{remaining}]"
            if known
            else "{desc}: {n:.1f} s audio [{elapsed}]"
        ),
    )


class _ToOutput:
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
                soxr.ResampleStream(
                    model_rate, out_rate, model_channels, dtype="float32", quality=audio_io.RESAMPLE_QUALITY
                )
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


def _output_format(reader, separator, sample_rate):
    """``(rate, channels)`` of the stem files: the input's rate (unless asked otherwise) and layout."""
    rate = int(sample_rate or reader.source_sample_rate)
    if rate <= 0:
        raise OutputError(f"output sample rate must be a positive integer, got {sample_rate!r}")
    # A mono input gets mono stems; stereo and multichannel inputs get stereo stems, whatever the model's layout.
    return rate, output_channels(reader.source_channels)


def separate_file(
    separator,
    path,
    output_dir,
    *,
    filename_template: str = DEFAULT_TEMPLATE,
    codec: str | None = None,
    bitrate: str = "320k",
    bit_depth: int = 16,
    clip: str = "rescale",
    offset: float = 0.0,
    duration: float | None = None,
    overwrite: bool = False,
    progress: bool = False,
    sample_rate: int | None = None,
    published=None,
) -> dict:
    """Separate one audio file and write one file per stem, at the input's sample rate and channel layout.

    Args:
        codec: wav, flac, mp3, ogg or m4a; None: the one the template's
            extension names (``{stem}.mp3``), else wav.
        sample_rate: write the stems at this rate instead of the input's.
        published: called with the summary the moment the stems are in place,
            in the same :func:`~tfsep.console.interrupts.critical` section (a
            catalogue records the track there: never stems without a record).
    Returns:
        A summary dict: input, outputs (stem -> path), duration (s), seconds
        (wall time), realtime_factor, sample_rate, channels, peak, scale,
        gain_db, clipped (samples beyond full scale that the format clipped)
        and notes (one-line messages about gain changes, for the user).
    """
    codec = template_codec(filename_template, codec)
    if clip not in codecs.CLIP_MODES:
        raise OutputError(f"unknown clip mode {clip!r} (use {', '.join(codecs.CLIP_MODES)})")
    if bit_depth not in (16, 24, 32):
        raise OutputError(f"bit depth must be 16, 24 or 32, got {bit_depth}")
    paths = output_paths(path, output_dir, separator.stems, filename_template, codec)
    refuse_inputs(paths, [path])
    check_writable(paths, overwrite)
    for folder in {p.parent for p in paths.values()}:
        sweep_partials(folder)  # temps of runs that were killed (SIGKILL) before they could clean up

    t0 = time.perf_counter()
    model_rate = separator.sample_rate
    reader = audio_io.open_audio(
        path, sample_rate=model_rate, channels=separator.channels, offset=offset, duration=duration
    )
    try:
        out_rate, out_channels = _output_format(reader, separator, sample_rate)
        check_encoding(codec, out_rate, out_channels, bit_depth, bitrate)
        frames = audio_io.output_frames(reader.frames, model_rate, out_rate) if reader.frames else None
        check_free_space(
            paths, disk_space_needed(frames, out_rate, out_channels, len(paths), codec, bit_depth, bitrate, clip)
        )
    except BaseException:
        reader.close()
        raise
    bar = _progress_bar(progress, reader.frames, model_rate, track_name(path))

    def on_segment(done):
        if bar is not None:
            bar.n = min(round(done / model_rate, 1), bar.total or float("inf"))
            bar.refresh()

    def expected():
        return audio_io.output_frames(reader.frames_read, reader.source_sample_rate, out_rate)

    to_output = _ToOutput(len(separator.stems), model_rate, out_rate, separator.channels, out_channels, expected)
    sink = None
    try:
        sink = _StemSink(paths, out_rate, out_channels, codec, bit_depth, bitrate, clip, overwrite)
        with reader:
            stem_blocks = separator.iter_separate(reader.blocks(READ_BLOCK), on_segment=on_segment)
            for block in to_output(stem_blocks):
                sink.write(block)
        if sink.frames == 0:
            raise TfsepError(f"{path}: no audio to separate")

        def summary(result):
            seconds = time.perf_counter() - t0
            dur = sink.frames / out_rate
            return {
                "input": str(path),
                "outputs": {s: str(p) for s, p in paths.items()},
                "duration": dur,
                "seconds": seconds,
                "realtime_factor": dur / seconds if seconds > 0 else None,
                "sample_rate": out_rate,
                "channels": out_channels,
                **result,
            }

        done = sink.commit(None if published is None else lambda result: published(summary(result)))
    finally:
        reader.close()
        if sink is not None:
            sink.close()
        if bar is not None:
            bar.close()
    return summary(done)


class _StemSink:
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
