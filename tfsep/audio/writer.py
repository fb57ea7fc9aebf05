"""Atomic, streaming audio writing and clip modes (WAV/FLAC via soundfile, MP3/OGG/M4A via ffmpeg).

A writer streams blocks into a temp file in a hidden folder beside its
target (``.tfsep-partial/``, :func:`~.partials.partial_file`) and renames it
into place on commit, so a failure never leaves a truncated file; the target
is replaced only at that moment (what killed runs leave in that folder is
swept by :mod:`.partials`).  Commit has two phases, ``finish`` (the
encoder flushes and its success is checked) and ``publish`` (the rename), so
that several files can be finished first and published only if all
succeeded (:mod:`tfsep.separation.stem_sink` commits a track's stems so).
Encoder settings are checked before any audio exists by :mod:`.encoding`.
"""

import os
import subprocess
import tempfile

import numpy as np
import soundfile as sf

from ..console.interrupts import untrack_temp
from ..errors import AudioError, OutputError
from .codecs import (
    CLIP_MODES,
    FFMPEG_ENCODERS,
    FLAC_SUBTYPES,
    SUPPORTED_OUTPUT_CODECS,
    WAV_SUBTYPES,
    ffmpeg_encoders,
    one_line,
    require_tool,
)
from .partials import forget_partial, move_no_clobber, partial_file, remove_partial_dir
from .write_errors import disk_error


def apply_clip(block, mode, scale=1.0):
    """Keep samples writable: ``rescale`` multiplies by ``scale``, ``clamp`` clips to [-1, 1].

    ``rescale`` needs ``scale = 1 / max(peak, 1)`` computed over the whole track
    by the caller (as :func:`save` does), so every block gets the same gain.
    ``none`` leaves samples as they are: WAV float keeps them, but integer PCM
    and lossy encoders clip (or wrap) anything beyond full scale.
    """
    x = np.asarray(block, dtype=np.float32)
    if mode == "rescale":
        return x * np.float32(scale) if scale != 1.0 else x
    if mode == "clamp":
        return np.clip(x, -1.0, 1.0)
    if mode == "none":
        return x
    raise AudioError(f"unknown clip mode {mode!r}: use one of {', '.join(CLIP_MODES)}")


def _codec_for(path, codec):
    if codec is None:
        codec = os.path.splitext(path)[1].lstrip(".").lower()
    codec = str(codec).lower()
    if codec not in SUPPORTED_OUTPUT_CODECS:
        raise AudioError(
            f"{path}: cannot write codec {codec!r}: use one of "
            f"{', '.join(SUPPORTED_OUTPUT_CODECS)} (from the extension or codec=)"
        )
    return codec


class AudioWriter:
    """Stream blocks into a temp file beside ``path``; rename it to ``path`` on commit.

    Use as a context manager: a clean exit commits, an exception aborts (temp
    file removed, an existing ``path`` left untouched).  wav: PCM_16/PCM_24/
    FLOAT for ``bit_depth`` 16/24/32; flac: 16/24; mp3/ogg/m4a: ffmpeg at
    ``bitrate``.  ``commit`` is ``finish`` (encode to the end, check) then
    ``publish`` (rename into place).
    """

    def __init__(self, path, sample_rate, channels, codec=None, bit_depth=16, bitrate="320k"):
        self.path = os.fspath(path)
        self.codec = _codec_for(self.path, codec)
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        if self.sample_rate <= 0 or self.channels <= 0:
            raise AudioError(f"{self.path}: invalid sample rate {sample_rate} or channels {channels}")
        self.frames_written = 0
        self._sf = self._proc = self._tmp = None
        self._done = self._finished = False
        subtype = None
        if self.codec in ("wav", "flac"):
            subtype = (WAV_SUBTYPES if self.codec == "wav" else FLAC_SUBTYPES).get(bit_depth)
            if subtype is None:
                ok = sorted(WAV_SUBTYPES if self.codec == "wav" else FLAC_SUBTYPES)
                raise AudioError(
                    f"{self.path}: {self.codec} cannot be written with bit depth {bit_depth}: use one of {ok}"
                )
        else:
            ffmpeg = require_tool("ffmpeg", self.path, "write")
            encoder, muxer = FFMPEG_ENCODERS[self.codec]
            if encoder not in ffmpeg_encoders(ffmpeg):
                raise AudioError(
                    f"{self.path}: this ffmpeg has no {encoder} encoder needed for "
                    f"{self.codec}; install a full ffmpeg build or write wav/flac"
                )
        if os.path.isdir(self.path):
            raise OutputError(f"{self.path}: is a directory, cannot write audio there")
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            self._tmp = partial_file(self.path, ".tmp-")
        except OSError as e:
            raise OutputError(
                f"{self.path}: cannot write in {directory} ({e.strerror}); choose a writable output directory"
            ) from None
        try:
            if subtype is not None:
                self._sf = sf.SoundFile(
                    self._tmp, "w", self.sample_rate, self.channels, subtype=subtype, format=self.codec.upper()
                )
            else:
                cmd = [
                    ffmpeg,
                    "-hide_banner",
                    "-v",
                    "error",
                    "-y",
                    "-f",
                    "f32le",
                    "-ar",
                    str(self.sample_rate),
                    "-ac",
                    str(self.channels),
                    "-i",
                    "pipe:0",
                    "-c:a",
                    encoder,
                    "-b:a",
                    str(bitrate),
                    "-f",
                    muxer,
                    self._tmp,
                ]
                err = tempfile.TemporaryFile()
                self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
                self._proc.err = err
        except BaseException as e:
            self.abort()
            if isinstance(e, (RuntimeError, OSError)):
                raise OutputError(f"{self.path}: cannot start writing ({one_line(e)})") from None
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        else:
            self.commit()
        return False

    def __del__(self):
        if getattr(self, "_done", True) is False:
            self.abort()

    def _ffmpeg_error(self):
        self._proc.err.seek(0)
        lines = self._proc.err.read().decode("utf-8", "replace").strip().splitlines()
        return one_line(lines[-1]) if lines else f"ffmpeg exit status {self._proc.returncode}"

    def write(self, block):
        """Append a ``(n, channels)`` float block (1-D allowed for mono)."""
        if self._done or self._finished:
            raise AudioError(f"{self.path}: writer already finished, committed or aborted")
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1 and self.channels == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise AudioError(f"{self.path}: block of shape {x.shape} does not match (samples, {self.channels})")
        if not np.isfinite(x).all():
            raise AudioError(f"{self.path}: refusing to write non-finite samples (NaN or Inf)")
        try:
            if self._sf is not None:
                self._sf.write(x)
            else:
                self._proc.stdin.write(np.ascontiguousarray(x, dtype="<f4").tobytes())
        except (BrokenPipeError, OSError, RuntimeError) as e:
            ffmpeg_died = self._proc is not None and self._proc.poll() is not None
            why = self._ffmpeg_error() if ffmpeg_died else None
            self.abort()
            raise disk_error(self.path, e, why) from None
        self.frames_written += len(x)

    def finish(self):
        """Encode to the end and check it worked; the file stays a temp until :meth:`publish`."""
        if self._done or self._finished:
            return
        try:
            if self._sf is not None:
                sfile, self._sf = self._sf, None
                sfile.close()
            else:
                self._proc.stdin.close()
                if self._proc.wait() != 0:
                    raise disk_error(self.path, why=self._ffmpeg_error(), doing="encoding failed")
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self._tmp, 0o666 & ~umask)  # mkstemp made it 0600
        except OutputError:
            self.abort()
            raise
        except (OSError, RuntimeError) as e:
            self.abort()
            raise disk_error(self.path, e, doing="cannot finish writing") from None
        self._finished = True

    def publish(self, replace: bool = True):
        """Move the finished file to ``path``: the only moment ``path`` changes.

        ``replace=False`` never clobbers: if ``path`` appeared since the run
        started (another run writing the same output), this fails with an
        ``OutputError`` and ``path`` keeps the other run's file.
        """
        if self._done:
            return
        if not self._finished:
            raise AudioError(f"{self.path}: publish before finish")
        try:
            if replace:
                os.replace(self._tmp, self.path)
            else:
                move_no_clobber(self._tmp, self.path)
        except FileExistsError:
            self.abort()
            raise OutputError(
                f"{self.path} was created by something else while this run wrote it; "
                "left as it is (pass --overwrite to replace it)"
            ) from None
        except OSError as e:
            self.abort()
            raise OutputError(f"{self.path}: cannot finish writing ({one_line(e)})") from None
        untrack_temp(self._tmp)
        self._tmp = None
        self._done = True
        self._cleanup()
        remove_partial_dir(self.path)

    def commit(self):
        """Finish encoding and atomically move the file to ``path``."""
        self.finish()
        self.publish()

    def _cleanup(self):
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for f in (self._proc.stdin, self._proc.err):
                try:
                    f.close()
                except (OSError, ValueError):
                    pass
            self._proc = None

    def abort(self):
        """Drop everything written; ``path`` is left as it was."""
        self._done = True
        if self._sf is not None:
            try:
                self._sf.close()
            except (RuntimeError, OSError):
                pass
            self._sf = None
        self._cleanup()
        if self._tmp is not None:
            forget_partial(self._tmp)
            self._tmp = None
            remove_partial_dir(self.path)


def save(path, waveform, sample_rate, codec=None, bit_depth=16, bitrate="320k", clip="rescale"):
    """Write a ``(samples, channels)`` array atomically; ``clip`` is rescale, clamp or none."""
    if clip not in CLIP_MODES:
        raise AudioError(f"{path}: unknown clip mode {clip!r}: use one of {', '.join(CLIP_MODES)}")
    x = np.asarray(waveform, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise AudioError(f"{path}: waveform must be (samples, channels), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise AudioError(f"{path}: refusing to write non-finite samples (NaN or Inf)")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    scale = 1.0 / max(peak, 1.0)
    step = 1 << 16
    with AudioWriter(path, sample_rate, x.shape[1], codec, bit_depth, bitrate) as writer:
        for i in range(0, len(x), step):
            writer.write(apply_clip(x[i : i + step], clip, scale))
