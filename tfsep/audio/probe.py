"""What an audio file holds, read from its header without decoding it: rate, channels, length, backend.

WAV, FLAC, OGG and MP3 are asked of soundfile (libsndfile), anything else
(M4A, AAC, MP4, ``.stem.mp4``) of ``ffprobe``.  A missing, empty, unreadable
or non-audio file, and a header no audio has (a 1 Hz rate, 5000 channels),
is refused here with an :class:`~tfsep.errors.AudioError` saying why,
before a sample is read.
"""

import dataclasses
import errno
import json
import os
import re
import subprocess

import soundfile as sf

from ..errors import AudioError
from .codecs import ffmpeg_input, one_line, require_tool

# Rates audio is stored at: telephone speech (8 kHz) down to 4 kHz, up to DXD/768 kHz converters.  A header
# outside says something else: 1 Hz would make every real sample 44,100 samples of "audio" to resample.
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 768000
# libsndfile's own limit (SF_MAX_CHANNELS); ffmpeg stops at 512: no audio layout comes near either.
MAX_FILE_CHANNELS = 1024


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What a file holds, before any resampling or channel mapping."""

    sample_rate: int
    channels: int
    frames: "int | None"  # None when the container does not say (ffmpeg estimate failed)
    duration: "float | None"  # seconds
    backend: str  # "soundfile" or "ffmpeg"
    streams: int = 1  # audio streams in the file (5 for a .stem.mp4)


def _check_file(path):
    if not os.path.exists(path):
        if os.path.islink(path):
            try:
                os.stat(path)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise AudioError(f"{path}: symbolic link loop (the link points back to itself)") from None
            raise AudioError(f"{path}: broken symbolic link (it points to {os.readlink(path)}, which does not exist)")
        raise AudioError(f"{path}: no such file")
    if os.path.isdir(path):
        raise AudioError(f"{path}: is a directory, not an audio file")
    if os.path.getsize(path) == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path}: permission denied")


# Leading bytes of the formats handed to libsndfile.  Anything else goes to
# ffprobe, which reads these too: the sniff only spares us libsndfile's MP3
# fallback, which prints resync notes to stderr for any non-audio file.
_SNDFILE_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"riff", b"fLaC", b"OggS", b"FORM", b"ID3", b".snd", b"caff")


def _looks_like_sndfile(path):
    with open(path, "rb") as f:
        head = f.read(4)
    return head.startswith(_SNDFILE_MAGIC) or (
        len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    )  # bare MPEG audio sync


def probe(path, stream=0, ffprobe_only=False):
    _check_file(path)
    if stream == 0 and not ffprobe_only and _looks_like_sndfile(path):
        try:
            i = sf.info(path)
            if i.samplerate > 0 and i.channels > 0:
                _check_format(path, int(i.samplerate), int(i.channels))
                frames = int(i.frames) if 0 <= i.frames < 2**62 else None
                return AudioInfo(
                    int(i.samplerate),
                    int(i.channels),
                    frames,
                    None if frames is None else frames / i.samplerate,
                    "soundfile",
                )
        except (RuntimeError, TypeError, ValueError):
            pass  # not a libsndfile format: ask ffprobe
    ffprobe = require_tool("ffprobe", path, "read")
    cmd = [
        ffprobe,
        "-v",
        "error",
        "-show_entries",
        "stream=codec_type,sample_rate,channels,duration:format=duration",
        "-of",
        "json",
        ffmpeg_input(path),
    ]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        raise AudioError(f"{path}: ffprobe could not read it ({one_line(e)})") from None
    try:
        meta = json.loads(res.stdout or "{}")
    except ValueError:  # ffprobe gave up halfway through its JSON (a header it refuses)
        meta = {}
    streams = [s for s in meta.get("streams", []) if s.get("codec_type") == "audio"]
    if res.returncode != 0 or not streams:
        raise _unreadable(path, res.stderr)
    if stream >= len(streams) and not ffprobe_only:
        raise AudioError(f"{path}: has {len(streams)} audio stream(s), stream {stream} was asked for")
    s = streams[min(stream, len(streams) - 1)]
    rate, channels = int(s.get("sample_rate") or 0), int(s.get("channels") or 0)
    _check_format(path, rate, channels)
    duration = s.get("duration") or meta.get("format", {}).get("duration")
    duration = float(duration) if duration not in (None, "N/A") else None
    frames = None if duration is None else int(round(duration * rate))
    return AudioInfo(rate, channels, frames, duration, "ffmpeg", len(streams))


EXPECTED_FORMATS = "expected WAV, FLAC, OGG, MP3, M4A/AAC or .stem.mp4"


def _unreadable(path, stderr: str) -> AudioError:
    """ "not a readable audio file" with ffprobe's last line (its first says where; the last says why)."""
    lines = [line for line in stderr.replace(ffmpeg_input(path) + ": ", "").strip().splitlines() if line.strip()]
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", line) for line in lines]  # "[pcm_s16le @ 0x55...] "
    why = one_line(lines[-1]) if lines else "no audio stream"
    return AudioError(f"{path}: not a readable audio file ({why}); {EXPECTED_FORMATS}")


def _check_format(path, rate: int, channels: int) -> None:
    """Refuse a header no audio has, before a sample is read (a 1 Hz header would make hours of "audio")."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{path}: not a readable audio file: its header says {rate} Hz, and audio is stored at "
            f"{MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz (a corrupt header?)"
        )
    if not 1 <= channels <= MAX_FILE_CHANNELS:
        raise AudioError(
            f"{path}: not a readable audio file: its header says {channels} channels "
            f"(at most {MAX_FILE_CHANNELS}; a corrupt header?)"
        )


def audio_info(path):
    """Sample rate, channels, length and backend of an audio file, without decoding it."""
    return probe(os.fspath(path))
