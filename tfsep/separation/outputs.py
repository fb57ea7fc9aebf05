"""Where the stems of a track go: file names from a template, the codec they imply, and what may be written.

Pure path logic, no audio: :mod:`.stemfiles` and the pre-flight checks of
``tfsep separate`` (:mod:`.preflight`) share it.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

from ..audio.codecs import SUPPORTED_OUTPUT_CODECS
from ..audio.write_errors import unwritable_reason
from ..errors import OutputError

DEFAULT_TEMPLATE = "{track}/{stem}.{codec}"
PLACEHOLDERS = ("track", "stem", "codec", "folder")
DEFAULT_CODEC = "wav"
# File extension -> the codec whose data such a file holds.
CODEC_EXTENSIONS = {
    ".wav": "wav",
    ".wave": "wav",
    ".flac": "flac",
    ".mp3": "mp3",
    ".ogg": "ogg",
    ".oga": "ogg",
    ".m4a": "m4a",
    ".mp4": "m4a",
}


def track_name(path) -> str:
    """File name without its audio extension(s): ``song.stem.mp4`` -> ``song``."""
    name = Path(path).name
    for ext in (".stem.mp4", ".stem.m4a"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return Path(name).stem or name


def template_codec(template: str = DEFAULT_TEMPLATE, codec: str | None = None) -> str:
    """The codec stems are written with: ``codec``, else the one the template's extension names, else wav.

    ``-f '{stem}.mp3'`` means MP3; with ``-c flac`` it is a contradiction,
    and an extension that is no format tfsep writes (``.txt``) is refused:
    the name of a file must say what it holds.
    """
    if codec is not None:
        codec = str(codec).lower()
        if codec not in SUPPORTED_OUTPUT_CODECS:
            raise OutputError(f"unknown codec {codec!r} (use {', '.join(SUPPORTED_OUTPUT_CODECS)})")
    name = str(template).replace("\\", "/").rsplit("/", 1)[-1]
    ext = "." + name.rsplit(".", 1)[1] if "." in name.lstrip(".") else ""
    if not ext or "{" in ext or "}" in ext:
        return codec or DEFAULT_CODEC  # {codec}, no extension, or one that depends on the track: checked per file
    named = CODEC_EXTENSIONS.get(ext.lower())
    if named is None:
        raise OutputError(
            f"filename template {template!r} ends in {ext}, which is not a format tfsep writes: "
            f"end it with .{{codec}} or one of {', '.join('.' + c for c in SUPPORTED_OUTPUT_CODECS)}"
        )
    if codec is not None and codec != named:
        raise OutputError(
            f"filename template {template!r} names {ext} files but the codec is {codec}: "
            f"use -c {named}, or .{{codec}} in the template"
        )
    return named


def output_paths(input_path, output_dir, stems, template=DEFAULT_TEMPLATE, codec="wav") -> dict[str, Path]:
    """Stem -> output path from a filename template; never outside ``output_dir``, never a misleading extension."""
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
        named = CODEC_EXTENSIONS.get(target.suffix.lower())
        if named is not None and named != codec:
            raise OutputError(f"{target} would hold {codec} data under a {target.suffix} name: make -f and -c agree")
        _check_name_lengths(target, root)
        paths[stem] = target
    if len(set(paths.values())) != len(paths):
        raise OutputError(f"filename template {template!r} gives the same file for several stems: add {{stem}}")
    return paths


# File systems take names of at most 255 bytes; a stem's temp name adds a dot, ".pass1-<pid>-<8>" and
# ".s24.wav" to its own (audio.partials.partial_file).
NAME_MAX = 255
TEMP_NAME_EXTRA = 40


def _check_name_lengths(target: Path, root: Path) -> None:
    """Refuse a path whose file or folder names no file system takes, before any work (not ENAMETOOLONG later)."""
    parts = target.relative_to(root).parts
    for i, part in enumerate(parts):
        size = len(os.fsencode(part))
        limit = NAME_MAX - (TEMP_NAME_EXTRA if i == len(parts) - 1 else 0)
        if size > limit:
            shown = part if len(part) <= 60 else part[:40] + "..." + part[-12:]
            raise OutputError(
                f"{shown!r}: a file or folder name of {size} bytes, at most {limit} here; "
                "shorten -f or the input file's name"
            )


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` are one file: the same real path (symlinks resolved) or the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_inputs(paths, inputs) -> None:
    """Refuse to write a stem over any of ``inputs``, with or without --overwrite."""
    for path in paths.values():
        for source in inputs:
            if same_file(path, source):
                raise OutputError(
                    f"{path} is the input file {source}: refusing to overwrite it (even with --overwrite); "
                    "choose another -o or -f"
                )


def check_writable(paths, overwrite: bool) -> None:
    """Refuse existing outputs (without ``overwrite``), directories in the way, and unwritable places."""
    for path in paths.values():
        if path.is_dir():
            raise OutputError(f"{path} is a directory, cannot write a stem there")
        if path.exists() and not overwrite:
            raise OutputError(f"{path} exists: pass --overwrite to replace it")
        writable_folder(path.parent)


def writable_folder(folder) -> Path:
    """The nearest existing folder at or above ``folder``, which writing there would use; refused if unusable.

    Raises:
        OutputError: that place is a file, or cannot be written (permissions, a read-only file system).
    """
    parent = Path(os.path.abspath(folder))
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write under {parent}: it is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {parent}: {unwritable_reason(parent)}")
    return parent


def missing_dirs(paths) -> list[Path]:
    """Directories that writing ``paths`` will create, deepest first."""
    missing = set()
    for path in paths.values():
        parent = path.parent
        while not parent.exists():
            missing.add(parent)
            parent = parent.parent
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)
