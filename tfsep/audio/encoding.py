"""Encoder settings checked before any audio is there: bitrates, bit depths, and a trial encode.

:func:`check_encoding` refuses up front what :class:`~tfsep.audio.writer.AudioWriter`
would refuse only once a track is separated: a bit depth the codec lacks, a
bitrate that is no bitrate, an ffmpeg without the encoder, or settings the
encoder itself rejects (found by encoding 0.1 s of silence with them).
"""

import functools
import re
import subprocess

from ..errors import OutputError
from .codecs import (
    FFMPEG_ENCODERS,
    FLAC_SUBTYPES,
    SUPPORTED_OUTPUT_CODECS,
    WAV_SUBTYPES,
    ffmpeg_encoders,
    one_line,
    require_tool,
)

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
    """Refuse now what :class:`~.writer.AudioWriter` would refuse only once the audio is there: bit depth, bitrate, encoder.

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
