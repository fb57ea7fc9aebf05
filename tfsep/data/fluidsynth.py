"""FluidSynth: the General MIDI renderer behind the synthetic songs.

Finding ``fluidsynth`` and a soundfont, writing one part as a format-0 MIDI
file, and rendering it alone (reverb and chorus off) to a float32 array.
:mod:`tfsep.data.render` plays the composed songs' parts with it and mixes them.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

from ..errors import TfsepError
from .compose import TPB

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
INSTALL_HINT = "install it with: apt-get install fluidsynth fluid-soundfont-gm"


class SynthError(TfsepError):
    """The synthetic generator cannot run (FluidSynth or the soundfont missing, bad arguments)."""


def find_fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise SynthError(f"fluidsynth not found on PATH: {INSTALL_HINT}")
    return exe


def find_soundfont(path=None) -> str:
    """The General MIDI soundfont: ``path``, ``$TFSEP_SOUNDFONT``, or Debian's FluidR3_GM."""
    if path or os.environ.get("TFSEP_SOUNDFONT"):
        path = Path(path or os.environ["TFSEP_SOUNDFONT"])
        if not path.is_file():
            raise SynthError(f"{path}: soundfont not found")
        return str(path)
    for cand in SOUNDFONT_CANDIDATES:
        if Path(cand).is_file():
            return cand
    raise SynthError(
        f"General MIDI soundfont not found (looked in {', '.join(SOUNDFONT_CANDIDATES[:2])}): {INSTALL_HINT}"
    )


# ---------------------------------------------------------------- MIDI writing


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def write_midi(path, events, tempo_bpm: float, channel: int, program: int, pan: int, volume: int = 100) -> None:
    """A format-0 MIDI file; ``events`` are ``(start_tick, end_tick, note, velocity)``."""
    msgs = []  # (tick, order, bytes): note-offs (order 0) before note-ons (1) at one tick
    for start, end, note, vel in events:
        msgs.append((int(start), 1, bytes([0x90 | channel, int(note), int(vel)])))
        msgs.append((int(end), 0, bytes([0x80 | channel, int(note), 0])))
    msgs.sort(key=lambda m: (m[0], m[1]))
    tempo = int(round(60_000_000 / tempo_bpm))
    data = bytearray()
    data += b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big")
    data += bytes([0x00, 0xB0 | channel, 7, volume, 0x00, 0xB0 | channel, 10, pan])
    data += bytes([0x00, 0xB0 | channel, 91, 0, 0x00, 0xB0 | channel, 93, 0])  # reverb/chorus sends off
    data += bytes([0x00, 0xC0 | channel, program])
    last = 0
    for tick, _, msg in msgs:
        data += _varlen(tick - last) + msg
        last = tick
    data += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TPB)
    Path(path).write_bytes(header + b"MTrk" + struct.pack(">I", len(data)) + bytes(data))


def render_stem(
    midi_path, wav_path, sample_rate: int, fluidsynth: str, soundfont: str, timeout: float = 300
) -> np.ndarray:
    """Render one MIDI file with FluidSynth (reverb and chorus off) -> float32 ``(samples, 2)``."""
    import soundfile as sf

    cmd = [
        fluidsynth,
        "-n",
        "-i",
        "-q",
        "-R",
        "0",
        "-C",
        "0",
        "-g",
        "0.5",
        # Load only the samples a song plays: 5-8x faster on large (and .sf3) fonts, same audio.
        "-o",
        "synth.dynamic-sample-loading=1",
        "-r",
        str(sample_rate),
        "-O",
        "float",
        "-T",
        "wav",
        "-F",
        str(wav_path),
        soundfont,
        str(midi_path),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        raise SynthError(f"fluidsynth timed out rendering {midi_path}") from None
    if proc.returncode != 0 or not Path(wav_path).is_file():
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise SynthError(f"fluidsynth failed on {midi_path}: {msg[-1] if msg else 'exit ' + str(proc.returncode)}")
    audio, sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
    if sr != sample_rate:
        raise SynthError(f"fluidsynth wrote {sr} Hz instead of {sample_rate} Hz")
    return audio
