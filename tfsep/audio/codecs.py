"""What tfsep reads and writes, and the external tools it needs for it.

The constants and the ffmpeg helpers that the reader (:mod:`.io`) and the
writer (:mod:`.writer`, :mod:`.encoding`) share: supported extensions and
codecs, sample formats per bit depth, ffmpeg encoders, and one-line error text.
"""

import functools
import os
import shutil
import subprocess

from ..errors import AudioError

SUPPORTED_OUTPUT_CODECS = ("wav", "flac", "mp3", "ogg", "m4a")
SUPPORTED_INPUT_EXTENSIONS = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".m4a",
    ".aac",
    ".mp4",
    ".stem.mp4",
    ".aif",
    ".aiff",
)
CLIP_MODES = ("rescale", "clamp", "none")

WAV_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}
FLAC_SUBTYPES = {16: "PCM_16", 24: "PCM_24"}
# codec -> (ffmpeg encoder, ffmpeg muxer); the temp name has no usable extension
FFMPEG_ENCODERS = {"mp3": ("libmp3lame", "mp3"), "ogg": ("libvorbis", "ogg"), "m4a": ("aac", "ipod")}


def one_line(text, limit=300):
    """``text`` (an exception, a tool's stderr) as one line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def require_tool(name, path, action):
    """The path of executable ``name``, or an ``AudioError`` saying how to install it."""
    exe = shutil.which(name)
    if exe is None:
        raise AudioError(f"{name} not found: install it (apt-get install ffmpeg) to {action} {path}")
    return exe


@functools.lru_cache(maxsize=4)
def ffmpeg_encoders(ffmpeg):
    """The audio encoders this ffmpeg build has."""
    out = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60).stdout
    return frozenset(line.split()[1] for line in out.splitlines() if len(line.split()) > 1 and line.startswith(" A"))


def ffmpeg_input(path):
    """``path`` as ffmpeg's input argument."""
    # "file:" keeps names with ':' or a leading '-' from being read as protocols/options
    return "file:" + os.path.abspath(path)
