"""Audio file reading: the streaming reader, whole files, stems files (header probe: probe.py; writing: writer.py).

Arrays are ``np.float32`` of shape ``(samples, channels)``; the sample rate
travels beside the array.  Reading goes through soundfile (libsndfile) where
it can (WAV, FLAC, OGG, MP3) and through an ``ffmpeg`` pipe otherwise (M4A,
AAC, MP4, ``.stem.mp4``).  Files are decoded block by block, so memory stays
bounded however long the file is.

Policies users rely on:

* **Non-finite samples** (NaN/Inf, possible only in float files) are rejected
  with :class:`~tfsep.errors.AudioError` naming the time of the first one:
  silently zeroing them would hide a broken file and poison every STFT frame
  around it.
* **Downmix**: 3 to 8 channels are taken in ffmpeg's default layout for
  the count (2.1, 4.0, 5.0, 5.1, 6.1, 7.1) and folded down ITU-style
  without the LFE (:mod:`tfsep.audio.channels`); more than 8 have no known
  layout and go even->L, odd->R.  A ``UserWarning`` says which, once per
  reader.  Mono output is the mean of
  the stereo result; mono input is duplicated for stereo output.
"""

import math
import os
import subprocess
import tempfile
import warnings

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError
from .arrays import first_non_finite
from .channels import layout_note, remix
from .codecs import ffmpeg_input, one_line, require_tool
from .probe import probe
from .resampling import RESAMPLE_QUALITY, output_frames

STEM_NAMES = ("mixture", "drums", "bass", "other", "vocals")


def _wav_declared_frames(path):
    """Frames a RIFF/WAVE header's ``data`` chunk declares, or None (not WAV, or size unknown)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
                if cid == b"fmt ":
                    fmt = f.read(size + (size & 1))
                    block_align = int.from_bytes(fmt[12:14], "little") if len(fmt) >= 14 else None
                elif cid == b"data":
                    # 0 and 0xFFFFFFFF are what streaming writers put when the size is unknown.
                    if not block_align or size in (0, 0xFFFFFFFF):
                        return None
                    return size // block_align
                else:
                    f.seek(size + (size & 1), 1)
    except OSError:
        return None


class AudioReader:
    """A file opened for block-wise reading; create it with :func:`open_audio`.

    Attributes: ``path``, ``sample_rate`` and ``channels`` (of the output),
    ``source_sample_rate``, ``source_channels``, ``frames`` (output frames
    expected after offset/duration/resampling, or None if unknown), ``backend``.
    """

    def __init__(self, path, info, sample_rate, channels, offset, duration, stream):
        self.path = path
        self.backend = info.backend
        self.source_sample_rate = info.sample_rate
        self.source_channels = info.channels
        self.sample_rate = int(sample_rate or info.sample_rate)
        self.channels = int(channels or info.channels)
        self._stream = stream
        self._start = int(round(offset * info.sample_rate))
        self._limit = None if duration is None else max(1, int(round(duration * info.sample_rate)))
        self._proc = None
        self._file = None
        self._closed = False
        self.frames_read = None  # source frames decoded, once blocks() has run to the end
        n = None
        if info.frames is not None:
            n = max(0, info.frames - self._start)
            if self._limit is not None:
                n = min(n, self._limit)
            # ffprobe's frame count is an estimate; only soundfile's is exact enough to refuse early
            if n == 0 and (info.backend == "soundfile" or offset > 0):
                if info.frames == 0:
                    raise AudioError(f"{path}: contains no audio samples (0 frames)")
                at = f"{offset:.3f}" if offset < 1e9 else f"{offset:.3g}"  # not 300 digits for 1e300
                raise AudioError(
                    f"{path}: nothing to read: offset {at} s is at or past "
                    f"the end ({info.frames / info.sample_rate:.3f} s)"
                )
        elif self._limit is not None:
            n = self._limit
        # Source frames the container promises (None: unknown); checked after decoding.
        self._expected = n if info.frames is not None else None
        declared = _wav_declared_frames(path) if info.backend == "soundfile" else None
        if declared is not None and declared > (info.frames or 0):
            # libsndfile sizes a truncated WAV by what is left of it; its header knows better.
            full = max(0, declared - self._start)
            self._expected = full if self._limit is None else min(full, self._limit)
        self.frames = None if n is None else output_frames(n, self.source_sample_rate, self.sample_rate)
        if self.source_channels > 2 and self.channels < self.source_channels:
            warnings.warn(
                f"{path}: {self.source_channels} channels downmixed to {self.channels}: "
                + layout_note(self.source_channels),
                UserWarning,
                stacklevel=3,
            )

    # context manager -------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Stop decoding: close the file, kill and reap any ffmpeg process."""
        self._closed = True
        self._release()

    def _release(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.err.close()

    # decoding ---------------------------------------------------------------
    def _source_blocks(self, n):
        """Yield float32 (m, source_channels) blocks at the source rate."""
        remaining = self._limit
        if self.backend == "soundfile":
            self._file = sf.SoundFile(self.path)
            if self._start:
                self._file.seek(self._start)
            while remaining is None or remaining > 0:
                want = n if remaining is None else min(n, remaining)
                x = self._file.read(want, dtype="float32", always_2d=True)
                if len(x) == 0:
                    break
                if remaining is not None:
                    remaining -= len(x)
                yield x
            return
        ffmpeg = require_tool("ffmpeg", self.path, "read")
        rate, ch = self.source_sample_rate, self.source_channels
        # Codecs with overlapping frames (AAC, MP3) decode garbage for the first
        # frame after a seek: seek 0.1 s early and drop the pre-roll ourselves.
        pre_start = max(0, self._start - rate // 10)
        skip = self._start - pre_start
        cmd = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error"]
        if pre_start:
            cmd += ["-ss", f"{pre_start / rate:.6f}"]  # before -i: seek, don't decode
        cmd += ["-i", ffmpeg_input(self.path), "-map", f"0:a:{self._stream}", "-vn"]
        if self._limit is not None:
            cmd += ["-t", f"{(self._limit + skip + 64) / rate:.6f}"]  # exact cut below
        cmd += ["-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(ch), "-ar", str(rate), "-"]
        err = tempfile.TemporaryFile()  # a file, not a pipe: a chatty ffmpeg can't block on it
        self._proc = proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        proc.err = err
        frame_bytes = 4 * ch
        produced = 0
        while remaining is None or remaining > 0:
            want = skip + (n if remaining is None else min(n, remaining))
            data = proc.stdout.read(want * frame_bytes)
            m = len(data) // frame_bytes
            if m == 0:
                break
            if skip:
                dropped = min(skip, m)
                skip -= dropped
                data, m = data[dropped * frame_bytes :], m - dropped
                if m == 0:
                    continue
            if remaining is not None:
                remaining -= m
            produced += m
            yield np.frombuffer(data[: m * frame_bytes], dtype="<f4").reshape(m, ch).astype(np.float32)
        if remaining is not None and remaining <= 0:
            return  # we stopped reading; close() kills ffmpeg
        if proc.wait() != 0 or produced == 0:
            proc.err.seek(0)
            err = proc.err.read().decode("utf-8", "replace").strip().splitlines()
            if proc.returncode != 0 or err:
                why = one_line(err[-1]) if err else f"ffmpeg exit status {proc.returncode}"
                raise AudioError(f"{self.path}: cannot decode audio ({why})")

    def _check_complete(self, seen):
        """Refuse a file that decodes to far fewer samples than its header declares.

        Decoders (ffmpeg, libsndfile) stop quietly at the end of a truncated
        file; separating half a song without a word would lose the rest.  The
        tolerance covers codec frame-count estimates (AAC/MP3 priming).
        """
        expected = self._expected
        if expected is None:
            return
        rate = self.source_sample_rate
        if seen < expected - max(rate // 4, expected // 100):
            raise AudioError(
                f"{self.path}: decoded only {seen / rate:.2f} s of the {expected / rate:.2f} s "
                "the file declares: it is truncated or corrupt"
            )

    def blocks(self, block_frames=65536):
        """Yield float32 ``(n, channels)`` blocks at ``sample_rate``.

        Every block has ``block_frames`` frames except possibly the last.
        Each call starts again from ``offset``.
        """
        if self._closed:
            raise AudioError(f"{self.path}: reader is closed")
        if block_frames < 1:
            raise ValueError(f"block_frames must be >= 1, got {block_frames}")
        self._release()
        src_rate, out_rate = self.source_sample_rate, self.sample_rate
        stream = (
            soxr.ResampleStream(src_rate, out_rate, self.channels, dtype="float32", quality=RESAMPLE_QUALITY)
            if src_rate != out_rate
            else None
        )
        src_block = max(1024, int(block_frames * src_rate / out_rate))
        pending, pending_n, seen = [], 0, 0
        try:
            for x in self._source_blocks(src_block):
                if not np.isfinite(x).all():
                    t = (self._start + seen + first_non_finite(x)) / src_rate
                    raise AudioError(
                        f"{self.path}: contains non-finite samples (NaN or Inf) at "
                        f"{t:.3f} s; repair or re-export the file"
                    )
                seen += len(x)
                y = remix(x, self.channels)
                if stream is not None:
                    y = stream.resample_chunk(y)
                if len(y):
                    pending.append(y)
                    pending_n += len(y)
                while pending_n >= block_frames:
                    buf = np.concatenate(pending) if len(pending) > 1 else pending[0]
                    yield buf[:block_frames]
                    pending = [buf[block_frames:]]
                    pending_n -= block_frames
            if seen == 0:
                raise AudioError(
                    f"{self.path}: contains no audio samples" + (" after the requested offset" if self._start else "")
                )
            self._check_complete(seen)
            self.frames_read = seen
            if stream is not None:
                pending.append(stream.resample_chunk(np.zeros((0, self.channels), np.float32), last=True))
            tail = np.concatenate(pending) if pending else np.zeros((0, self.channels), np.float32)
            for i in range(0, len(tail), block_frames):
                yield tail[i : i + block_frames]
        except (sf.LibsndfileError, OSError) as e:
            raise AudioError(f"{self.path}: read failed ({one_line(e)})") from None
        finally:
            self._release()


def _open(path, sample_rate, channels, offset, duration, stream):
    path = os.fspath(path)
    if sample_rate is not None and (int(sample_rate) != sample_rate or sample_rate <= 0):
        raise AudioError(f"{path}: sample_rate must be a positive integer, got {sample_rate!r}")
    if channels not in (None, 1, 2):
        raise AudioError(f"{path}: channels must be 1, 2 or None (keep), got {channels!r}")
    if offset is None or not (0 <= offset < math.inf):
        raise AudioError(f"{path}: offset must be a finite number of seconds >= 0, got {offset!r}")
    if duration is not None and not (0 < duration < math.inf):
        raise AudioError(f"{path}: duration must be a finite number of seconds > 0, got {duration!r}")
    return AudioReader(path, probe(path, stream), sample_rate, channels, offset, duration, stream)


def open_audio(path, sample_rate=None, channels=2, offset=0.0, duration=None):
    """Open an audio file for streaming; validates it now, decodes on ``blocks()``.

    Args:
        sample_rate: output rate (soxr streaming resampler); None keeps the file's.
        channels: 2 (stereo), 1 (mono) or None (keep the file's).
        offset, duration: seconds; the part before ``offset`` is skipped, not decoded.
    Raises:
        AudioError: missing/empty/corrupt/non-audio file, nothing after offset,
            non-finite samples (raised while reading).
    """
    return _open(path, sample_rate, channels, offset, duration, 0)


def load(path, sample_rate=None, channels=2, offset=0.0, duration=None):
    """Read a whole file (or the offset/duration slice): returns ``(waveform, sample_rate)``."""
    with open_audio(path, sample_rate, channels, offset, duration) as reader:
        blocks = list(reader.blocks(1 << 18))
        return np.concatenate(blocks), reader.sample_rate


def load_stems(path, sample_rate=None):
    """Read a NI ``.stem.mp4``: returns ``({mixture, drums, bass, other, vocals}, sample_rate)``.

    Stream K of the file is stem ``STEM_NAMES[K]`` (MUSDB18 order); all stems
    are stereo and cut to the shortest one.
    """
    path = os.fspath(path)
    info = probe(path, ffprobe_only=True)  # libsndfile would not count streams
    if info.streams < len(STEM_NAMES):
        raise AudioError(
            f"{path}: not a stems file: {info.streams} audio stream(s), "
            f"expected {len(STEM_NAMES)} ({', '.join(STEM_NAMES)})"
        )
    stems, rate = {}, None
    for k, name in enumerate(STEM_NAMES):
        with _open(path, sample_rate, 2, 0.0, None, k) as reader:
            stems[name] = np.concatenate(list(reader.blocks(1 << 18)))
            rate = reader.sample_rate
    n = min(len(w) for w in stems.values())
    return {name: w[:n] for name, w in stems.items()}, rate
