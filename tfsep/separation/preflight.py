"""Check a whole ``separate`` request before any model loads: options, inputs and outputs, in well under a second.

Loading TensorFlow and a model takes seconds; an existing output, a missing
input or a bitrate the encoder rejects must not wait for it, nor for a
whole separation.  Nothing here imports TensorFlow or writes a file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..audio import codecs
from ..audio import io as audio_io
from ..audio.channels import output_channels
from ..audio.encoding import check_encoding, parse_bitrate
from ..errors import OutputError, TfsepError
from .outputs import DEFAULT_TEMPLATE, check_writable, output_paths, refuse_inputs, template_codec


@dataclasses.dataclass(frozen=True)
class PlannedTrack:
    """One input of a request: its stem files (None when the stems are not known yet), or why it cannot run."""

    input: str
    outputs: dict | None = None
    error: str | None = None


def check_output_options(filename_template=DEFAULT_TEMPLATE, codec=None, bitrate="320k", bit_depth=16, clip="rescale"):
    """The options that hold for every file: returns the codec (``codec``, or the template's extension's)."""
    codec = template_codec(filename_template, codec)
    if clip not in codecs.CLIP_MODES:
        raise OutputError(f"unknown clip mode {clip!r} (use {', '.join(codecs.CLIP_MODES)})")
    if bit_depth not in (16, 24, 32):
        raise OutputError(f"bit depth must be 16, 24 or 32, got {bit_depth}")
    if codec in ("wav", "flac"):
        check_encoding(codec, 44100, 2, bit_depth, bitrate)  # rate and layout do not matter to them
    else:
        parse_bitrate(bitrate)  # the encoder's own limits depend on each file's rate: plan_tracks
    return codec


def plan_tracks(
    inputs,
    output_dir,
    stems,
    *,
    filename_template=DEFAULT_TEMPLATE,
    codec="wav",
    bitrate="320k",
    bit_depth=16,
    offset=0.0,
    duration=None,
    overwrite=False,
    sample_rate=None,
) -> list[PlannedTrack]:
    """Check each input and its stem files as :func:`~tfsep.separation.stemfiles.separate_file` will.

    Args:
        stems: the stems that will be written, or None when only the model can tell.
        codec: as returned by :func:`check_output_options`.
    Returns:
        One :class:`PlannedTrack` per input, in order; a problem with one
        input is its ``error``, so that the others can still go on.
    """
    planned: dict[Path, str] = {}
    tracks = []
    for path in inputs:
        try:
            with audio_io.open_audio(path, sample_rate=None, channels=None, offset=offset, duration=duration) as r:
                rate, channels = int(sample_rate or r.source_sample_rate), output_channels(r.source_channels)
            check_encoding(codec, rate, channels, bit_depth, bitrate)
            outputs = None
            if stems is not None:
                outputs = output_paths(path, output_dir, stems, filename_template, codec)
                refuse_inputs(outputs, inputs)
                check_writable(outputs, overwrite)
                for target in outputs.values():
                    if target in planned:
                        raise OutputError(
                            f"{target} would also hold a stem of {planned[target]}: "
                            "add {folder} to the filename template or separate them apart"
                        )
                planned.update(dict.fromkeys(outputs.values(), str(path)))
            tracks.append(PlannedTrack(str(path), outputs))
        except TfsepError as exc:
            tracks.append(PlannedTrack(str(path), error=str(exc)))
    return tracks
