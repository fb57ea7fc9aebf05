"""What a catalogue job separates: glob patterns, folders and input lists -> numbered items with ids.

URIs are anything Beam's ``FileSystems`` reads (local paths, ``gs://``,
``s3://``, ``hdfs://`` with the matching Beam extra installed).  An input
list is a text file with one URI per line, a CSV with a ``uri`` (or
``path``) column and an optional ``id`` column, or JSON Lines with the same
keys; relative paths in it are relative to the list's own folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass

from ..errors import TfsepError

# What a folder given as an input contributes: files of these kinds, at any depth.
AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".m4a", ".mp4", ".aac", ".aif", ".aiff")
GLOB_CHARS = "*?["


class CatalogueInputError(TfsepError):
    """The job's inputs cannot be listed: a pattern matching nothing, an unreadable or malformed list."""


@dataclass(frozen=True)
class CatalogueItem:
    """One input of a job: its place in the job (manifest order), its id, and its URI."""

    index: int
    id: str
    uri: str


def is_remote(uri: str) -> bool:
    """True for ``scheme://`` URIs (a Beam filesystem other than the local one)."""
    return "://" in str(uri) and not str(uri).startswith("file://")


def local_path(uri: str) -> str:
    return str(uri)[len("file://") :] if str(uri).startswith("file://") else str(uri)


def _match(pattern: str) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    try:
        results = FileSystems.match([pattern])
    except Exception as exc:  # BeamIOError, unknown scheme (a missing Beam extra), ...
        raise CatalogueInputError(f"cannot list {pattern}: {exc}") from None
    return sorted(m.path for r in results for m in r.metadata_list)


def _folder_files(uri: str) -> list[str]:
    if is_remote(uri):
        found = _match(uri.rstrip("/") + "/**")
    else:
        found = []
        for root, dirs, files in os.walk(local_path(uri)):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # skips .tfsep-partial and the like
            found += [os.path.join(root, f) for f in files]
    return sorted(f for f in found if f.lower().endswith(AUDIO_EXTENSIONS))


def expand(pattern: str) -> list[str]:
    """One command-line input -> URIs: a glob's matches, a folder's audio files, or the URI itself.

    A local path that exists is taken as it is, glob characters and all
    (``Song [Live].flac``, ``Album [Remastered]/``: common in music libraries).
    """
    pattern = str(pattern)
    literal = not is_remote(pattern) and os.path.exists(local_path(pattern))
    if any(c in pattern for c in GLOB_CHARS) and not literal:
        found = _match(pattern)
        if not found:
            raise CatalogueInputError(f"no file matches {pattern}")
        return found
    if pattern.endswith("/") or (not is_remote(pattern) and os.path.isdir(local_path(pattern))):
        found = _folder_files(pattern)
        if not found:
            raise CatalogueInputError(f"{pattern}: no audio files in this folder ({', '.join(AUDIO_EXTENSIONS)})")
        return found
    return [pattern]  # missing or unreadable: that input's error row says so


def _read_text(uri: str) -> str:
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(uri) as f:
            data = f.read()
    except Exception as exc:
        raise CatalogueInputError(f"cannot read the input list {uri}: {exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogueInputError(f"{uri}: the input list is not UTF-8 text") from None


def _record_uri(record: dict, where: str) -> tuple[str, str | None]:
    uri = record.get("uri") or record.get("path")
    if not isinstance(uri, str) or not uri.strip():
        raise CatalogueInputError(f"{where}: no 'uri' (or 'path') value")
    ident = record.get("id")
    return uri.strip(), None if ident in (None, "") else str(ident)


def parse_list(uri: str) -> list[tuple[str, str | None]]:
    """An input list -> ``[(uri, id or None)]`` in file order; relative paths resolved against the list's folder."""
    text = _read_text(uri)
    name = uri.lower()
    entries = []
    if name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "uri" not in fields and "path" not in fields:
            raise CatalogueInputError(f"{uri}: a CSV input list needs a 'uri' or 'path' column (it has {fields})")
        for n, row in enumerate(reader, start=2):
            row = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            entries.append(_record_uri(row, f"{uri} line {n}"))
    elif name.endswith((".jsonl", ".json", ".ndjson")):
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise CatalogueInputError(f"{uri} line {n}: not JSON ({exc})") from None
            if not isinstance(record, dict):
                raise CatalogueInputError(f"{uri} line {n}: expected an object with 'uri' and 'id'")
            entries.append(_record_uri(record, f"{uri} line {n}"))
    else:
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                entries.append((line, None))
    base = uri.rsplit("/", 1)[0] if "/" in uri else "."
    return [(u if is_remote(u) or os.path.isabs(local_path(u)) else _join(base, u), i) for u, i in entries]


def _join(base: str, rel: str) -> str:
    if is_remote(base):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.join(base, rel)
    return os.path.normpath(os.path.join(local_path(base), rel))


def read_inputs(patterns=(), input_list: str | None = None) -> list[CatalogueItem]:
    """The job's items in order: the input list's entries, then each pattern's matches; duplicates once.

    Raises:
        CatalogueInputError: no inputs, a pattern that matches nothing, a
            malformed list, or two entries with one id.
    """
    entries = parse_list(input_list) if input_list else []
    for pattern in patterns:
        entries += [(uri, None) for uri in expand(pattern)]
    items, seen_uri, seen_id = [], set(), {}
    for uri, ident in entries:
        ident = ident or uri
        if ident in seen_id:
            if seen_id[ident] == uri:
                continue  # the same file named twice (a folder and a glob over it)
            raise CatalogueInputError(f"id {ident!r} names two inputs: {seen_id[ident]} and {uri}")
        if uri in seen_uri and ident == uri:
            continue
        seen_uri.add(uri)
        seen_id[ident] = uri
        items.append(CatalogueItem(len(items), ident, uri))
    if not items:
        raise CatalogueInputError("no inputs: give files, folders, glob patterns or --input-list")
    return items
