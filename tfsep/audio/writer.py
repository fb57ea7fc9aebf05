"""Atomic, streaming audio writing and clip modes (WAV/FLAC via soundfile, MP3/OGG/M4A via ffmpeg).

A writer streams blocks into a temp file in a hidden folder beside its
target (``.tfsep-partial/``, :func:`partial_file`) and renames it into place
on commit, so a failure never leaves a truncated file; the target is
replaced only at that moment.  A run killed with SIGKILL cannot clean up:
its temps stay in that folder, and the next run writing there removes them
(:func:`sweep_partials`: files of processes that are gone, or older than a day).  Commit has two phases, ``finish`` (the
encoder flushes and its success is checked) and ``publish`` (the rename), so
that several files can be finished first and published only if all
succeeded (:mod:`tfsep.separation.stem_sink` commits a track's stems so).
"""

import errno
import functools
import os
import re
import shutil
import subprocess
import tempfile
import time

import numpy as np
import soundfile as sf

from ..console.interrupts import process_stat, track_temp, untrack_temp
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


def unwritable_reason(folder) -> str:
    """Why a folder that ``os.access`` says we cannot write is unwritable: read-only file system or permissions."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except (OSError, AttributeError):  # no statvfs (Windows)
        pass
    return "permission denied"


def disk_error(path, exc=None, why: str | None = None, doing: str = "write failed") -> OutputError:
    """An ``OutputError`` for a failed write: "no space left on device while writing PATH" when that is why.

    ``why`` is the writer's own account (ffmpeg's last line), else ``exc``'s.
    libsndfile reports a full disk as "System error." with no errno: the free
    space of the target's file system tells then.
    """
    why = why or one_line(exc)
    full = getattr(exc, "errno", None) == errno.ENOSPC or "no space left" in why.lower()
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    while not full and folder and not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not full and exc is not None and folder:
        try:
            full = shutil.disk_usage(folder).free < (1 << 20)
        except OSError:
            pass
    if full:
        return OutputError(f"no space left on device while writing {path}")
    return OutputError(f"{path}: {doing} ({why})")


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


MAX_BITRATE = 1_536_000
BITRATE_PATTERN = re.compile(r"^(\d+(?:\.\d+)?)([kKM]?)$")


def parse_bitrate(bitrate) -> int:
    """``320k``, ``1.5M`` or ``128000`` -> bits per second; an ``OutputError`` for anything else."""
    m = BITRATE_PATTERN.match(str(bitrate).strip())
    value = float(m.group(1)) * {"": 1, "k": 1e3, "K": 1e3, "M": 1e6}[m.group(2)] if m else 0.0
    if value < 1000:
        raise OutputError(f"bitrate {bitrate!r} is not a bitrate: give bits per second such as 320k, 192000 or 1.5M")
    if value > MAX_BITRATE:
        raise OutputError(
            f"bitrate {bitrate!r} is more than any lossy codec writes (mp3 stops at 320k, AAC and Vorbis near 500k "
            f"a channel pair); at most {MAX_BITRATE // 1000}k, or -c flac for lossless"
        )
    return int(value)


@functools.lru_cache(maxsize=32)
def _trial_encode(ffmpeg, codec, sample_rate, channels, bitrate):
    encoder, _ = FFMPEG_ENCODERS[codec]
    cmd = [ffmpeg, "-hide_banner", "-v", "error", "-f", "lavfi", "-i", f"anullsrc=r={sample_rate}:cl=mono"]
    cmd += ["-t", "0.1", "-ac", str(channels), "-c:a", encoder, "-b:a", str(bitrate), "-f", "null", "-"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", line) for line in res.stderr.strip().splitlines()]  # "[libvorbis @ 0x..]"
    return None if res.returncode == 0 else (one_line(lines[0]) if lines else f"ffmpeg exit status {res.returncode}")


def check_encoding(codec, sample_rate, channels, bit_depth=16, bitrate="320k") -> None:
    """Refuse now what :class:`AudioWriter` would refuse only once the audio is there: bit depth, bitrate, encoder.

    Lossy codecs get a trial encode of 0.1 s of silence with the same
    settings, so a bitrate the encoder rejects (Vorbis has limits per
    sample rate and channels) fails before any separation.
    """
    codec = str(codec).lower()
    if codec not in SUPPORTED_OUTPUT_CODECS:
        raise OutputError(f"unknown codec {codec!r} (use {', '.join(SUPPORTED_OUTPUT_CODECS)})")
    if codec in ("wav", "flac"):
        subtypes = WAV_SUBTYPES if codec == "wav" else FLAC_SUBTYPES
        if bit_depth not in subtypes:
            extra = " (32-bit float is WAV only)" if codec == "flac" and bit_depth == 32 else ""
            raise OutputError(
                f"{codec} cannot be written with bit depth {bit_depth}{extra}: use {' or '.join(map(str, subtypes))}"
            )
        return
    parse_bitrate(bitrate)
    ffmpeg = require_tool("ffmpeg", f"{codec} files", "write")
    encoder, _ = FFMPEG_ENCODERS[codec]
    if encoder not in ffmpeg_encoders(ffmpeg):
        raise OutputError(f"this ffmpeg has no {encoder} encoder needed for {codec}; install a full ffmpeg build")
    why = _trial_encode(ffmpeg, codec, int(sample_rate), int(channels), str(bitrate))
    if why is not None:
        layout = {1: "mono", 2: "stereo"}.get(int(channels), f"{channels} channels")
        raise OutputError(f"{codec} cannot be encoded at {bitrate} for {sample_rate} Hz {layout} ({encoder}: {why})")


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
                _move_no_clobber(self._tmp, self.path)
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


PARTIAL_DIR = ".tfsep-partial"
# A temp this old is stale whatever its process id says (ids are reused; shared folders span machines).
STALE_SECONDS = 24 * 3600


def partial_file(target, kind: str, suffix: str = "") -> str:
    """A new empty temp file for ``target`` in ``<target's folder>/.tfsep-partial/``; its name holds our pid.

    ``kind`` (``.tmp-`` or ``.pass1-``) is what :func:`sweep_partials` recognises.
    """
    target = os.path.abspath(os.fspath(target))
    folder = os.path.join(os.path.dirname(target), PARTIAL_DIR)
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=f".{os.path.basename(target)}{kind}{os.getpid()}-", suffix=suffix, dir=folder)
    track_temp(path, folder)  # a hard stop (a signal during a long model call) removes it
    try:
        os.close(fd)
    except BaseException:
        forget_partial(path)
        raise
    return path


def forget_partial(path) -> None:
    """Remove a temp made by :func:`partial_file` (if it is still there), and stop tracking it."""
    untrack_temp(path)
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def remove_partial_dir(target) -> None:
    """Remove the target's ``.tfsep-partial`` folder if nothing (another run's temp) is left in it."""
    try:
        os.rmdir(os.path.join(os.path.dirname(os.path.abspath(os.fspath(target))), PARTIAL_DIR))
    except OSError:
        pass


def process_alive(pid: int) -> bool:
    """True while process ``pid`` runs (ours or another user's): its temps are not stale.

    A zombie (killed, not yet reaped: a killed worker whose parent died too)
    is not running: its temps are stale.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    stat = process_stat(pid)
    return stat is None or stat[0] != b"Z"  # no /proc entry to read (macOS): it exists


def sweep_partials(directory) -> int:
    """Remove stale temps from ``directory/.tfsep-partial`` (left by killed runs); returns how many."""
    folder = os.path.join(os.fspath(directory), PARTIAL_DIR)
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    removed = 0
    now = time.time()
    for name in names:
        path = os.path.join(folder, name)
        m = re.search(r"\.(?:tmp|pass1)-(\d+)-", name)
        try:
            stale = m is None or not process_alive(int(m.group(1))) or now - os.path.getmtime(path) > STALE_SECONDS
            if stale and int(m.group(1) if m else -1) != os.getpid():
                os.remove(path)
                removed += 1
        except OSError:
            pass
    try:
        os.rmdir(folder)
    except OSError:
        pass
    return removed


def _move_no_clobber(src: str, dst: str) -> None:
    """Rename ``src`` to ``dst`` unless ``dst`` exists (``FileExistsError``), atomically where links exist."""
    try:
        os.link(src, dst)  # fails if dst exists: no window between check and move
    except FileExistsError:
        raise
    except OSError:  # no hard links here (FAT, some network filesystems): claim the name, then move onto it
        os.close(os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        os.replace(src, dst)
        return
    os.remove(src)


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
