"""Separate audio files into stem files: output naming, codecs, clipping, atomic writes.

Memory stays bounded for any input length: audio is read, separated and
written in blocks.  ``clip="rescale"`` needs the peak of the whole track
before writing, so stems first go to float32 temp files next to their
destination and are encoded in a second streaming pass.  Every stem is
committed only after all of them were written: a failure leaves no output
file behind.
"""

from __future__ import annotations

import os
import string
import tempfile
import time
from pathlib import Path

import numpy as np

from ..audio import codecs
from ..audio import io as audio_io
from ..audio.writer import AudioWriter, apply_clip
from ..errors import OutputError, TfsepError

DEFAULT_TEMPLATE = "{track}/{stem}.{codec}"
PLACEHOLDERS = ("track", "stem", "codec", "folder")
READ_BLOCK = 1 << 17


def track_name(path) -> str:
    """File name without its audio extension(s): ``song.stem.mp4`` -> ``song``."""
    name = Path(path).name
    for ext in (".stem.mp4", ".stem.m4a"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return Path(name).stem or name


def output_paths(input_path, output_dir, stems, template=DEFAULT_TEMPLATE, codec="wav") -> dict[str, Path]:
    """Stem -> output path from a filename template; never outside ``output_dir``."""
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    unknown = sorted(f for f in fields if f not in PLACEHOLDERS)
    if unknown:
        raise OutputError(
            f"filename template {template!r}: unknown placeholder {{{unknown[0]}}} "
            f"(use {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
        )
    root = Path(os.path.abspath(output_dir))
    values = {
        "track": track_name(input_path),
        "folder": Path(os.path.abspath(input_path)).parent.name,
        "codec": codec,
    }
    paths = {}
    for stem in stems:
        rel = template.format(stem=stem, **values)
        target = Path(os.path.normpath(root / rel))
        if os.path.isabs(rel) or (target != root and root not in target.parents) or target == root:
            raise OutputError(
                f"filename template {template!r} gives {rel!r}, which is outside the output directory {root}"
            )
        paths[stem] = target
    if len(set(paths.values())) != len(paths):
        raise OutputError(f"filename template {template!r} gives the same file for several stems: add {{stem}}")
    return paths


def _check_writable(paths, overwrite: bool) -> None:
    for path in paths.values():
        if path.exists() and not overwrite:
            raise OutputError(f"{path} exists: pass --overwrite to replace it")
        if path.is_dir():
            raise OutputError(f"{path} is a directory, cannot write a stem there")
        parent = path.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to {parent}: permission denied or not a directory")


def _missing_dirs(paths) -> list[Path]:
    """Directories that writing ``paths`` will create, deepest first."""
    missing = set()
    for path in paths.values():
        parent = path.parent
        while not parent.exists():
            missing.add(parent)
            parent = parent.parent
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


class _FloatTemp:
    """A float32 WAV temp file beside the final output, for two-pass rescaling."""

    def __init__(self, final: Path, sample_rate: int, channels: int):
        import soundfile as sf

        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".f32.wav", dir=final.parent)
        os.close(fd)
        self.path = Path(name)
        self.file = sf.SoundFile(name, "w", samplerate=sample_rate, channels=channels, subtype="FLOAT", format="WAV")
        self.peak = 0.0

    def write(self, block):
        if len(block):
            self.peak = max(self.peak, float(np.max(np.abs(block))))
        self.file.write(block)

    def blocks(self):
        import soundfile as sf

        self.file.close()
        with sf.SoundFile(str(self.path)) as f:
            while True:
                block = f.read(READ_BLOCK, dtype="float32", always_2d=True)
                if not len(block):
                    break
                yield block

    def remove(self):
        try:
            self.file.close()
        except Exception:
            pass
        self.path.unlink(missing_ok=True)


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
) -> dict:
    """Separate one audio file and write one file per stem.

    Returns a summary dict: input, outputs (stem -> path), duration (s),
    seconds (wall time), realtime_factor, peak, scale.
    """
    codec = (codec or "wav").lower()
    if codec not in codecs.SUPPORTED_OUTPUT_CODECS:
        raise OutputError(f"unknown codec {codec!r} (use {', '.join(codecs.SUPPORTED_OUTPUT_CODECS)})")
    if clip not in codecs.CLIP_MODES:
        raise OutputError(f"unknown clip mode {clip!r} (use {', '.join(codecs.CLIP_MODES)})")
    if bit_depth not in (16, 24, 32):
        raise OutputError(f"bit depth must be 16, 24 or 32, got {bit_depth}")
    paths = output_paths(path, output_dir, separator.stems, filename_template, codec)
    _check_writable(paths, overwrite)
    new_dirs = _missing_dirs(paths)

    t0 = time.perf_counter()
    sr, channels = separator.sample_rate, separator.channels
    reader = audio_io.open_audio(path, sample_rate=sr, channels=channels, offset=offset, duration=duration)
    total = reader.frames
    bar = None
    if progress:
        from tqdm import tqdm

        known = bool(total)
        bar = tqdm(
            total=round(total / sr, 1) if known else None,
            unit="s",
            desc=track_name(path)[:30],
            leave=False,
            # Length unknown (some streams): show progress without percentage/ETA.
            bar_format=(
                "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}<{remaining}]"
                if known
                else "{desc}: {n:.1f} s audio [{elapsed}]"
            ),
        )

    def on_segment(done):
        if bar is not None:
            bar.n = min(round(done / sr, 1), bar.total or float("inf"))
            bar.refresh()

    def make_writer(stem):
        return AudioWriter(paths[stem], sr, channels, codec=codec, bit_depth=bit_depth, bitrate=bitrate)

    temps, writers = {}, {}
    n_out = 0
    try:
        with reader:
            if clip == "rescale":
                temps = {s: _FloatTemp(paths[s], sr, channels) for s in separator.stems}
            else:
                writers = {s: make_writer(s) for s in separator.stems}
            for block in separator.iter_separate(reader.blocks(READ_BLOCK), on_segment=on_segment):
                n_out += block.shape[1]
                for i, stem in enumerate(separator.stems):
                    if temps:
                        temps[stem].write(block[i])
                    else:
                        writers[stem].write(apply_clip(block[i], clip))
        if n_out == 0:
            raise TfsepError(f"{path}: no audio to separate")
        peak = max((t.peak for t in temps.values()), default=None)
        # One scale for all stems keeps them summing to the (scaled) mixture.
        scale = 1.0 / max(peak, 1.0) if peak is not None else 1.0
        if temps:
            writers = {s: make_writer(s) for s in separator.stems}
            for stem, temp in temps.items():
                for block in temp.blocks():
                    writers[stem].write(apply_clip(block, "rescale", scale))
        for w in writers.values():
            w.commit()
    except BaseException:
        for w in writers.values():
            w.abort()
        for t in temps.values():
            t.remove()
        for d in new_dirs:  # a failed track leaves no empty folders behind either
            try:
                d.rmdir()
            except OSError:
                pass
        raise
    finally:
        for t in temps.values():
            t.remove()
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    dur = n_out / sr
    return {
        "input": str(path),
        "outputs": {s: str(p) for s, p in paths.items()},
        "duration": dur,
        "seconds": seconds,
        "realtime_factor": dur / seconds if seconds > 0 else None,
        "peak": peak,
        "scale": scale,
    }
