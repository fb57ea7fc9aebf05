"""Disk space for a track's stems: how much writing them takes, and a refusal before a track that cannot fit."""

from __future__ import annotations

import shutil

from ..audio.encoding import parse_bitrate
from ..errors import OutputError


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
