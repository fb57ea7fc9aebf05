"""The catalogue's record of what happened to every input: one row per input, kept as it happens.

Each finished input (stems published, or failed) writes its row at once to
``<output>/.tfsep-catalogue/rows/<key>.json`` (written whole, then renamed),
so a run killed midway keeps what it finished; the manifest
(``manifest.jsonl``: JSON Lines, one row per input, in input order) is
assembled from the rows at the end of every run.  ``--resume`` keeps an
input whose row says ``done`` with the same model and options and whose
stem files all exist; everything else is separated again.  Rows are keyed by
the input's id, so a rerun never duplicates one.

A row: ``id``, ``input`` (URI), ``status`` (``done`` or ``error``),
``outputs`` (stem -> URI), ``duration`` (seconds of audio), ``seconds``
(wall time), ``model``, ``model_sha256`` (of the model's files),
``options_sha256`` (of the separation and output options), ``tfsep``
(version), ``error`` (one line, for ``error`` rows), ``notes``.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import tempfile

from .. import __version__
from ..audio.partials import process_alive
from ..console.interrupts import track_temp, untrack_temp
from ..errors import OutputError, TfsepError, error_gist, internal_error
from .inputs import is_remote, local_path

STATE_DIR = ".tfsep-catalogue"
MANIFEST_NAME = "manifest.jsonl"


def join(root: str, *parts: str) -> str:
    if is_remote(root):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.join(root, *parts)
    return os.path.join(local_path(root), *parts)


def row_uri(output_root: str, item_id: str) -> str:
    key = hashlib.sha1(item_id.encode("utf-8")).hexdigest()[:20]
    return join(output_root, STATE_DIR, "rows", key + ".json")


def exists(uri: str) -> bool:
    if is_remote(uri):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(uri)
    return os.path.isfile(local_path(uri))


def write_atomic(uri: str, data: bytes) -> None:
    """Write ``data`` so that readers see the old file or the whole new one, never a part."""
    if is_remote(uri):  # object stores publish an object only when its upload completes
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(uri) as f:
            f.write(data)
        return
    path = local_path(uri)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.tmp-{os.getpid()}-", dir=folder)
    track_temp(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    finally:
        untrack_temp(tmp)


def read_json(uri: str):
    """A JSON file's value, or None when it is missing or unreadable (a row of a killed run, say)."""
    try:
        if is_remote(uri):
            from apache_beam.io.filesystems import FileSystems

            with FileSystems.open(uri) as f:
                return json.loads(f.read().decode("utf-8"))
        with open(local_path(uri), encoding="utf-8") as f:
            return json.load(f)
    except Exception:
        return None


def sweep_row_temps(output_root: str) -> int:
    """Remove row and manifest temps that runs killed mid-write left (local outputs); returns how many."""
    if is_remote(output_root):
        return 0
    removed = 0
    for folder in (local_path(output_root), os.path.join(local_path(output_root), STATE_DIR, "rows")):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            m = re.search(r"\.tmp-(\d+)-", name)
            if m and name.startswith(".") and int(m.group(1)) != os.getpid() and not process_alive(int(m.group(1))):
                try:
                    os.remove(os.path.join(folder, name))
                    removed += 1
                except OSError:
                    pass
    return removed


def digest_tree(uri: str) -> str:
    """sha256 over a file's bytes, or a folder's relative paths and bytes (any Beam filesystem)."""
    h = hashlib.sha256()
    if is_remote(uri):
        from apache_beam.io.filesystems import FileSystems

        base = uri.rstrip("/")
        files = sorted(
            (m.path[len(base) :].lstrip("/"), m.path)
            for r in FileSystems.match([base + "/**"])
            for m in r.metadata_list
        )

        def open_file(p):
            return FileSystems.open(p)
    else:
        path = local_path(uri)
        if os.path.isfile(path):
            files = [("", path)]
        else:
            files = sorted(
                (os.path.relpath(os.path.join(root, f), path), os.path.join(root, f))
                for root, _, names in os.walk(path)
                for f in names
            )

        def open_file(p):
            return open(p, "rb")

    for rel, p in files:
        h.update(rel.encode("utf-8") + b"\0")
        with open_file(p) as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def digest_options(options: dict) -> str:
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def stem_uris(input_uri: str, output_root: str, stems, template: str, codec: str) -> dict[str, str]:
    """Stem -> output URI, exactly as ``tfsep separate`` names the stems of a local file with that name.

    Raises:
        OutputError: the template leaves the output folder, or names the same file twice.
    """
    from ..separation.outputs import output_paths

    name = posixpath.basename(input_uri.rstrip("/"))
    folder = posixpath.basename(posixpath.dirname(input_uri.rstrip("/")))
    if not is_remote(input_uri) and not is_remote(output_root):
        root = local_path(output_root)
        paths = output_paths(local_path(input_uri), root, stems, template, codec)
        # As -o was given (relative stays relative, as the manifest's inputs do): docs/catalogue.md's rows.
        return {s: os.path.join(root, os.path.relpath(p, os.path.abspath(root))) for s, p in paths.items()}
    # Name the stems of a stand-in local path with the same file and folder names, then move them under the root.
    stand_in = posixpath.join("/in", folder or "_", name)
    paths = output_paths(stand_in, "/out", stems, template, codec)
    return {s: join(output_root, *posixpath.relpath(str(p), "/out").split("/")) for s, p in paths.items()}


def base_row(item, job) -> dict:
    return {
        "id": item.id,
        "input": item.uri,
        "status": None,
        "outputs": {},
        "duration": None,
        "seconds": None,
        "model": job.model_name,
        "model_sha256": job.model_sha256,
        "options_sha256": job.options_sha256,
        "tfsep": __version__,
        "error": None,
        "notes": [],
    }


def error_row(item, job, message: str, seconds=None) -> dict:
    return {**base_row(item, job), "status": "error", "error": " ".join(str(message).split()), "seconds": seconds}


def error_text(exc, uri: str) -> str:
    """An exception as a manifest's one-line error: tfsep's own message, or what kind of failure it was.

    ``exc`` is the exception, or what Beam's dead-letter output carries from a
    worker process instead: ``(class, repr, traceback lines)``.
    """
    if isinstance(exc, tuple) and len(exc) == 3 and isinstance(exc[0], type):
        cls, text, lines = exc
        last = str(lines[-1]).strip() if lines else str(text)
        for prefix in (f"{cls.__module__}.{cls.__qualname__}: ", f"{cls.__qualname__}: "):
            if last.startswith(prefix):
                last = last[len(prefix) :]
                break
        if issubclass(cls, TfsepError):
            return last
        return f"{uri}: internal error: {cls.__name__}: {error_gist(last)}"
    if isinstance(exc, TfsepError):
        return str(exc)
    return internal_error(uri, exc)


def is_complete(row, job, outputs: dict) -> bool:
    """True when ``row`` records this input done, by this model and options, with every stem file present."""
    return (
        isinstance(row, dict)
        and row.get("status") == "done"
        and row.get("model_sha256") == job.model_sha256
        and row.get("options_sha256") == job.options_sha256
        and row.get("outputs") == outputs
        and all(exists(u) for u in outputs.values())
    )


def write_manifest(rows, uri: str) -> int:
    """Write the manifest: the rows in input order (``_index``), one JSON object per line; returns the count."""
    ordered = sorted(rows, key=lambda r: r["_index"])
    lines = [json.dumps({k: v for k, v in r.items() if k != "_index"}, sort_keys=False) for r in ordered]
    write_atomic(uri, ("\n".join(lines) + "\n" if lines else "").encode("utf-8"))
    return len(lines)


# Less free space than this under -o is a full disk: not one stem file would fit.
MIN_FREE_BYTES = 16 << 20


def _writable_folder(path: str, what: str, folder: str | None = None):
    """:func:`~tfsep.separation.outputs.writable_folder` of ``folder`` (default ``path``), its refusal naming
    the option ``what`` and its value ``path``."""
    from ..separation.outputs import writable_folder

    try:
        return writable_folder(path if folder is None else folder)
    except OutputError as exc:
        raise OutputError(f"{what} {path}: {exc}") from None


def check_output_place(uri: str) -> None:
    """Refuse an output folder that is a file, unwritable, read-only or on a full disk (local outputs)."""
    if is_remote(uri):
        return
    path = local_path(uri)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"-o {path}: is a file, not a folder")
    folder = _writable_folder(path, "-o")
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise OutputError(f"-o {path}: no space left on device ({free / (1 << 20):.1f} MB free under {folder})")


def check_manifest_target(uri: str) -> None:
    """Refuse a manifest that could not be written at the end of the run: say so before anything is separated."""
    if is_remote(uri):
        return
    path = local_path(uri)
    if os.path.isdir(path):
        raise OutputError(f"{path} is a directory: --manifest names a file")
    _writable_folder(path, "--manifest", folder=os.path.dirname(os.path.abspath(path)))
