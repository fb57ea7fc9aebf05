"""Separate one audio file into stem files: the checks before any work, then read, separate and write in blocks.

Memory stays bounded for any input length: audio is read, separated and
written in blocks.  Stems come out at the input's sample rate and channel
layout, sample-aligned with it (the model may run at another rate inside:
:mod:`.output_format`).  Paths come from :mod:`.outputs`; the stems are
written and committed all or nothing by :mod:`.stem_sink`: a failure leaves
no output file behind, and an existing one as it was.
"""

from __future__ import annotations

import time

from ..audio import codecs
from ..audio import io as audio_io
from ..audio.encoding import check_encoding
from ..audio.partials import sweep_partials
from ..audio.resampling import output_frames
from ..console.progress import stderr_is_terminal
from ..errors import OutputError, TfsepError
from .disk_space import check_free_space, disk_space_needed
from .output_format import ToOutput, stem_file_format
from .outputs import (
    DEFAULT_TEMPLATE,
    PLACEHOLDERS,
    check_writable,
    output_paths,
    refuse_inputs,
    template_codec,
    track_name,
)
from .stem_sink import StemSink

__all__ = ["DEFAULT_TEMPLATE", "PLACEHOLDERS", "output_paths", "separate_file", "track_name"]

READ_BLOCK = 1 << 17


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
        out_rate, out_channels = stem_file_format(reader, separator, sample_rate)
        check_encoding(codec, out_rate, out_channels, bit_depth, bitrate)
        frames = output_frames(reader.frames, model_rate, out_rate) if reader.frames else None
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
        return output_frames(reader.frames_read, reader.source_sample_rate, out_rate)

    to_output = ToOutput(len(separator.stems), model_rate, out_rate, separator.channels, out_channels, expected)
    sink = None
    try:
        sink = StemSink(paths, out_rate, out_channels, codec, bit_depth, bitrate, clip, overwrite)
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
