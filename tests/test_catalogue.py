"""``tfsep catalogue``: the real Apache Beam pipeline on the local runner, on tiny audio and a tiny model.

What a catalogue user relies on: every input gets exactly one manifest row
(done or error), bad files never stop the job, stems are the bytes
``tfsep separate`` writes, a killed run finishes on ``--resume`` without
separating anything twice or leaving temp files, and nothing outside the
catalogue imports Beam.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SR, write_wav
from export_helpers import EXPORTED

from tfsep.catalogue.inputs import CatalogueInputError, parse_list, read_inputs
from tfsep.catalogue.manifest import error_text, row_uri
from tfsep.cli import main
from tfsep.errors import AudioError


def _songs(folder, n, seconds=1.0, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        x = (rng.standard_normal((int(SR * seconds), 2)) * 0.1).astype(np.float32)
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        paths.append(write_wav(sub / f"song{i}.wav", x, subtype="PCM_16"))
    return paths


def _bad_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.wav").write_bytes(b"")
    good = write_wav(folder / "whole.wav", np.zeros((SR, 2), np.float32) + 0.01, subtype="PCM_16")
    data = good.read_bytes()
    good.unlink()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])
    (folder / "text.wav").write_text("not audio at all\n")
    return sorted(str(p) for p in folder.iterdir())


def _manifest(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def _leftovers(root):
    return [
        os.path.join(d, f)
        for d, dirs, files in os.walk(root)
        for f in files + dirs
        if ".tfsep-partial" in f or ".tmp-" in f or ".pass1-" in f
    ]


def _cores() -> int:
    """The TensorFlow threads this process runs with (its default: the cores it may use)."""
    return len(os.sched_getaffinity(0))


@pytest.mark.cpu_sensitive
def test_catalogue_separates_good_files_and_records_bad_ones(tmp_path, tiny_model_dir):
    songs = _songs(tmp_path / "in", 4)
    bad = _bad_files(tmp_path / "in" / "bad")
    out = tmp_path / "out"
    args = ["catalogue", str(tmp_path / "in"), "-o", str(out), "-m", str(tiny_model_dir), "-c", "flac"]
    # Two worker processes with as many TensorFlow threads each as `tfsep separate` has here: the same sums
    # in the same order, so the same bytes (docs/catalogue.md: identity is promised at equal thread counts).
    result = CliRunner().invoke(main, [*args, "--workers", "2", "--threads", str(_cores())])
    assert result.exit_code == 1, result.output  # some inputs failed
    rows = _manifest(out)
    by_input = {r["input"]: r for r in rows}
    assert len(rows) == 7 and set(by_input) == {str(p) for p in songs} | set(bad)
    assert [r["input"] for r in rows] == sorted(by_input)  # manifest in input order (a folder: sorted)
    for path in bad:
        row = by_input[path]
        assert row["status"] == "error" and row["outputs"] == {}
        assert path in row["error"] and "\n" not in row["error"] and "Traceback" not in row["error"]
    truncated = by_input[str(tmp_path / "in" / "bad" / "truncated.wav")]["error"]
    assert "it is truncated or corrupt" in truncated and "declares" in truncated

    # Each good file's stems are the bytes `tfsep separate` writes with the same options.
    ref = tmp_path / "ref"
    for path in songs:
        row = by_input[str(path)]
        assert row["status"] == "done" and row["model"] == "tiny2" and row["duration"] == pytest.approx(1.0)
        assert len(row["model_sha256"]) == 64 and len(row["options_sha256"]) == 64
        single = CliRunner().invoke(
            main, ["separate", str(path), "-o", str(ref), "-m", str(tiny_model_dir), "-c", "flac"]
        )
        assert single.exit_code == 0, single.output
        for stem, uri in row["outputs"].items():
            assert uri.endswith(f"/{path.stem}/{stem}.flac")
            assert open(uri, "rb").read() == (ref / path.stem / f"{stem}.flac").read_bytes()
    assert _leftovers(out) == []


@pytest.mark.cpu_sensitive
def test_fewer_threads_per_worker_differ_by_at_most_one_step(tmp_path, tiny_model_dir):
    """With fewer threads than `tfsep separate` (the default with 2 workers), float32 sums may round
    otherwise (AVX2: 104 of 352,800 samples, one 16-bit step): never more than one step."""
    import soundfile as sf

    songs = _songs(tmp_path / "in", 2, seconds=2.0, seed=3)
    out, ref = tmp_path / "out", tmp_path / "ref"
    common = ["-m", str(tiny_model_dir), "-c", "flac"]
    args = ["catalogue", *map(str, songs), "-o", str(out), *common, "--workers", "2", "--threads", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for row in _manifest(out):
        single = CliRunner().invoke(main, ["separate", row["input"], "-o", str(ref), *common])
        assert single.exit_code == 0, single.output
        for stem, uri in row["outputs"].items():
            got, _ = sf.read(uri, dtype="int16")
            want, _ = sf.read(ref / os.path.basename(os.path.dirname(uri)) / f"{stem}.flac", dtype="int16")
            assert got.shape == want.shape
            assert np.abs(got.astype(np.int32) - want).max() <= 1


def test_resume_finishes_a_killed_run_without_separating_twice(tmp_path, tiny_model_dir):
    songs = _songs(tmp_path / "in", 10, seconds=20.0, seed=1)
    _bad_files(tmp_path / "in" / "bad")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "tfsep.cli", "catalogue", str(tmp_path / "in"), "-o", str(out)]
    cmd += ["-m", str(tiny_model_dir), "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rows_dir = out / ".tfsep-catalogue" / "rows"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if rows_dir.is_dir() and len([f for f in os.listdir(rows_dir) if f.endswith(".json")]) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed: give it more work"
    os.killpg(proc.pid, signal.SIGTERM)
    time.sleep(0.5)
    try:  # whatever SIGTERM left (worker processes included) dies now
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()
    before = {f: (rows_dir / f).read_text() for f in os.listdir(rows_dir) if f.endswith(".json")}
    finished_before = {json.loads(t)["id"] for t in before.values() if json.loads(t)["status"] == "done"}
    assert 0 < len(before) < 13 and not (out / "manifest.jsonl").exists()

    again = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 1, again.stderr  # the three bad files
    rows = _manifest(out)
    assert len(rows) == 13 and len({r["id"] for r in rows}) == 13
    done = [r for r in rows if r["status"] == "done"]
    assert {r["input"] for r in done} == {str(p) for p in songs}
    for row in done:
        if row["id"] in finished_before:  # kept as it was: not separated a second time
            assert json.loads(before[os.path.basename(row_uri(str(out), row["id"]))]) == row
        for uri in row["outputs"].values():
            assert os.path.getsize(uri) > SR * 2 * 2 * 19
    stem_files = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if f.endswith(".wav")]
    assert len(stem_files) == 2 * len(songs)
    assert _leftovers(out) == []


def test_resume_keeps_only_what_this_model_and_options_made(tmp_path, tiny_model_dir):
    songs = _songs(tmp_path / "in", 2)
    out = tmp_path / "out"
    base = ["catalogue", *map(str, songs), "-o", str(out), "-m", str(tiny_model_dir)]
    assert CliRunner().invoke(main, base).exit_code == 0
    first = _manifest(out)
    # Without --resume or --overwrite, existing stems are refused (error rows), never replaced.
    refused = CliRunner().invoke(main, base)
    assert refused.exit_code == 1
    assert all(r["status"] == "error" and "--resume" in r["error"] for r in _manifest(out))
    kept = CliRunner().invoke(main, [*base, "--resume"])
    assert kept.exit_code == 0 and _manifest(out) == first
    # Other options: the earlier stems are not what was asked for, so they are made again.
    redo = CliRunner().invoke(main, [*base, "--resume", "--stems", "vocals"])
    assert redo.exit_code == 0, redo.output
    rows = _manifest(out)
    assert all(set(r["outputs"]) == {"vocals"} for r in rows)
    assert rows[0]["options_sha256"] != first[0]["options_sha256"]


def test_catalogue_runs_an_exported_savedmodel(tmp_path, tiny_model):
    from tfsep.export import export_savedmodel
    from tfsep.separation import Separator

    version = export_savedmodel(tiny_model, tmp_path / "served")
    song = _songs(tmp_path / "in", 1)[0]
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["catalogue", str(song), "-o", str(out), "-m", str(version), "--bit-depth", "32"])
    assert result.exit_code == 0, result.output
    row = _manifest(out)[0]
    import soundfile as sf

    x, _ = sf.read(str(song), dtype="float32")
    want = Separator(tiny_model, **EXPORTED).separate(x, SR)  # what an export computes
    for stem, uri in row["outputs"].items():
        got, _ = sf.read(uri, dtype="float32")
        np.testing.assert_allclose(got, want[stem], atol=1e-4)
    # Options baked into the export cannot be changed per job: said at once, before any work.
    bad = CliRunner().invoke(
        main, ["catalogue", str(song), "-o", str(tmp_path / "o2"), "-m", str(version), "--wiener", "1"]
    )
    assert bad.exit_code == 1 and "only --overlap and --stems" in bad.output


def test_input_lists_text_csv_jsonl(tmp_path):
    (tmp_path / "music").mkdir()
    (tmp_path / "list.txt").write_text("# my songs\nmusic/a.mp3\n\n/abs/b.flac\ngs://bucket/c.wav\n")
    assert parse_list(str(tmp_path / "list.txt")) == [
        (str(tmp_path / "music" / "a.mp3"), None),
        ("/abs/b.flac", None),
        ("gs://bucket/c.wav", None),
    ]
    (tmp_path / "list.csv").write_text("id,uri\nt1,music/a.mp3\nt2,gs://bucket/c.wav\n")
    items = read_inputs(input_list=str(tmp_path / "list.csv"))
    assert [(i.index, i.id, i.uri) for i in items] == [
        (0, "t1", str(tmp_path / "music" / "a.mp3")),
        (1, "t2", "gs://bucket/c.wav"),
    ]
    (tmp_path / "list.jsonl").write_text('{"id": 7, "path": "x.wav"}\n{"uri": "y.wav"}\n')
    items = read_inputs(input_list=str(tmp_path / "list.jsonl"))
    assert [i.id for i in items] == ["7", str(tmp_path / "y.wav")]
    (tmp_path / "dup.csv").write_text("id,uri\nsame,a.wav\nsame,b.wav\n")
    with pytest.raises(CatalogueInputError, match="id 'same' names two inputs"):
        read_inputs(input_list=str(tmp_path / "dup.csv"))
    (tmp_path / "nouri.csv").write_text("id,file\n1,a.wav\n")
    with pytest.raises(CatalogueInputError, match="'uri' or 'path' column"):
        read_inputs(input_list=str(tmp_path / "nouri.csv"))
    with pytest.raises(CatalogueInputError, match="no file matches"):
        read_inputs([str(tmp_path / "music" / "*.wav")])


def test_catalogue_refuses_bad_requests_in_one_line(tmp_path, tiny_model_dir):
    song = _songs(tmp_path / "in", 1)[0]
    cases = [
        (["catalogue", "-o", str(tmp_path / "o")], "give input files"),
        (["catalogue", str(tmp_path / "nothing" / "*.wav")], "no file matches"),
        (["catalogue", str(song), "-m", str(tiny_model_dir), "--resume", "--overwrite"], "choose one"),
        (["catalogue", str(song), "-m", str(tiny_model_dir), "--stems", "drums"], "has no stem drums"),
        (["catalogue", str(song), "-m", str(tiny_model_dir), "-o", str(tmp_path), "-f", "{stem}.txt"], "not a format"),
        (["catalogue", str(song), "-m", str(tiny_model_dir), "--beam-options", "--runner"], "expected one argument"),
        (["catalogue", str(song), "-m", str(tiny_model_dir), "--beam-options", "'open"], "No closing quotation"),
        (["catalogue", str(song), "-m", str(tiny_model_dir), "--runner", "NoSuchRunner"], "Unexpected pipeline runner"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (1, 2) and message in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
    # Two inputs that would write the same stems: the second is an error row, the first is separated.
    other = _songs(tmp_path / "in2", 1)[0]
    os.rename(other, other.parent / song.name)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["catalogue", str(song), str(other.parent / song.name), "-o", str(out), "-m", str(tiny_model_dir)]
    )
    assert result.exit_code == 1
    rows = _manifest(out)
    assert [r["status"] for r in rows] == ["done", "error"] and "{folder}" in rows[1]["error"]


def test_error_text_from_a_worker_process():
    # What Beam's dead-letter output carries from another process: (class, repr, traceback lines).
    carried = (AudioError, "AudioError('x')", ["Traceback ...\n", "tfsep.errors.AudioError: a.wav: file is empty\n"])
    assert error_text(carried, "a.wav") == "a.wav: file is empty"
    other = (ValueError, "ValueError('boom')", ["Traceback ...\n", "ValueError: boom\n"])
    assert error_text(other, "a.wav") == "a.wav: internal error: ValueError: boom"


def test_core_commands_do_not_import_beam():
    code = "import sys, tfsep, tfsep.cli, tfsep.separation; print('apache_beam' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_catalogue_without_beam_says_what_to_install(tmp_path, monkeypatch, tiny_model_dir):
    song = _songs(tmp_path / "in", 1)[0]
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # import fails as if not installed
    result = CliRunner().invoke(main, ["catalogue", str(song), "-m", str(tiny_model_dir)])
    assert result.exit_code == 1 and "pip install 'tfsep[beam]'" in result.output


def _one_line(result):
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tfsep: error: "), result.output
    return lines[0]


def test_unusable_output_places_are_one_line_before_anything_runs(tmp_path, monkeypatch, tiny_model_dir):
    import shutil

    from tfsep.catalogue import manifest as manifest_mod

    song = _songs(tmp_path / "in", 1)[0]
    base = ["catalogue", str(song), "-m", str(tiny_model_dir)]
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (["-o", str(a_file)], "is a file, not a folder"),
        (["-o", str(a_file / "stems")], "it is a file, not a directory"),
        (["-o", str(tmp_path / "o1"), "--manifest", str(a_file / "m.jsonl")], "--manifest"),
    ]
    for args, says in cases:
        result = CliRunner().invoke(main, [*base, *args])
        assert result.exit_code == 1 and says in _one_line(result), (args, result.output)
    real_usage = shutil.disk_usage
    monkeypatch.setattr(manifest_mod.shutil, "disk_usage", lambda p: real_usage(p)._replace(free=4096))
    result = CliRunner().invoke(main, [*base, "-o", str(tmp_path / "full")])
    assert result.exit_code == 1 and "no space left on device" in _one_line(result)
    monkeypatch.setattr(manifest_mod.shutil, "disk_usage", real_usage)
    from tfsep.separation import outputs as outputs_mod

    monkeypatch.setattr(outputs_mod, "unwritable_reason", lambda folder: "read-only file system")
    monkeypatch.setattr(outputs_mod.os, "access", lambda path, mode: False)
    result = CliRunner().invoke(main, [*base, "-o", str(tmp_path / "ro")])
    assert result.exit_code == 1 and "read-only file system" in _one_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "in"]  # nothing separated, nothing made


def test_a_damaged_model_is_one_line_before_any_worker_starts(tmp_path, tiny_model_dir):
    import shutil

    model = tmp_path / "damaged"
    shutil.copytree(tiny_model_dir, model)
    weights = model / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    song = _songs(tmp_path / "in", 1)[0]
    start = time.monotonic()
    result = CliRunner().invoke(main, ["catalogue", str(song), "-o", str(tmp_path / "out"), "-m", str(model)])
    assert result.exit_code == 1 and "truncated or corrupt" in _one_line(result)
    assert time.monotonic() - start < 30  # not after a pipeline of failing workers
    assert not (tmp_path / "out").exists()


def test_quiet_hides_progress_never_errors(tmp_path, tiny_model_dir):
    song = _songs(tmp_path / "in", 1)[0]
    (tmp_path / "in" / "empty.wav").write_bytes(b"")
    args = ["catalogue", str(song), str(tmp_path / "in" / "empty.wav"), "-o", str(tmp_path / "out")]
    result = CliRunner().invoke(main, [*args, "-m", str(tiny_model_dir), "-q"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"tfsep: error: {tmp_path / 'in' / 'empty.wav'}: file is empty (0 bytes)"
    ]


def test_paths_with_glob_characters_twice_listed_files_and_manifest_style(tmp_path, tiny_model_dir, monkeypatch):
    folder = tmp_path / "Album [Remastered]"
    folder.mkdir()
    live = folder / "Song [Live].wav"
    os.rename(_songs(tmp_path / "in", 1)[0], live)
    (tmp_path / "list.csv").write_text(f"id,uri\nfirst,{live}\nsecond,{live}\n")
    monkeypatch.chdir(tmp_path)
    # An existing path is taken as it is, brackets and all; -o relative: the rows say it as given.
    result = CliRunner().invoke(main, ["catalogue", str(live), "-o", "stems", "-m", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    row = _manifest(tmp_path / "stems")[0]
    assert row["outputs"] == {s: f"stems/Song [Live]/{s}.wav" for s in ("vocals", "accompaniment")}
    assert all(os.path.isfile(p) for p in row["outputs"].values())
    # A folder with brackets in its name is a folder, not a pattern.
    result = CliRunner().invoke(main, ["catalogue", str(folder), "-o", "stems2", "-m", str(tiny_model_dir)])
    assert result.exit_code == 0 and len(_manifest(tmp_path / "stems2")) == 1, result.output
    # One file under two ids: separated once, and the second row says exactly why it was not.
    result = CliRunner().invoke(main, ["catalogue", "-i", "list.csv", "-o", "stems3", "-m", str(tiny_model_dir)])
    assert result.exit_code == 1
    first, second = _manifest(tmp_path / "stems3")
    assert first["status"] == "done" and second["status"] == "error"
    assert (
        second["error"]
        == f"{live} is listed twice, as id 'first' and as id 'second': it is separated once, under id 'first'"
    )


def test_quality_with_an_exported_savedmodel_is_refused_not_ignored(tmp_path, tiny_model, monkeypatch):
    from tfsep.export import export_savedmodel
    from tfsep.separation import precision

    # As on an AVX2 CPU, where --precision bfloat16 also earns a note: a refused request is still one line.
    monkeypatch.setattr(precision, "cpu_features", lambda: {"avx2", "fma"})
    version = export_savedmodel(tiny_model, tmp_path / "served")
    song = _songs(tmp_path / "in", 1)[0]
    for option in (["--quality", "best"], ["--quality", "default"], ["--precision", "bfloat16"]):
        result = CliRunner().invoke(
            main, ["catalogue", str(song), "-o", str(tmp_path / "o"), "-m", str(version), *option]
        )
        assert result.exit_code == 1 and f"{option[0]} cannot change that" in _one_line(result), result.output
    assert not (tmp_path / "o").exists()


def _live(pgid: int) -> list[str]:
    """Processes of the group that still run (zombies of a container without init do not), from /proc."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[-1].split()  # state ppid pgrp ...
        except (OSError, ValueError):
            continue
        if name.isdigit() and len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            found.append(name)
    return found


def _start_catalogue(tmp_path, tiny_model_dir):
    _songs(tmp_path / "in", 8, seconds=20.0, seed=5)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "tfsep.cli", "catalogue", str(tmp_path / "in"), "-o", str(out)]
    proc = subprocess.Popen(
        [*cmd, "-m", str(tiny_model_dir), "--workers", "2"], start_new_session=True, stderr=subprocess.PIPE, text=True
    )
    rows = out / ".tfsep-catalogue" / "rows"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if rows.is_dir() and any(f.endswith(".json") for f in os.listdir(rows)):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be stopped: give it more work"
    return proc, out


def _stems_have_rows(out):
    rows = [
        json.loads((out / ".tfsep-catalogue" / "rows" / f).read_text())
        for f in os.listdir(out / ".tfsep-catalogue" / "rows")
    ]
    recorded = {os.path.abspath(p) for r in rows if r["status"] == "done" for p in r["outputs"].values()}
    stems = {os.path.abspath(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs if f.endswith(".wav")}
    assert stems == recorded and 0 < len(rows) < 8
    assert _leftovers(out) == []


def test_sigterm_stops_the_catalogue_and_its_workers_and_keeps_finished_rows(tmp_path, tiny_model_dir):
    proc, out = _start_catalogue(tmp_path, tiny_model_dir)
    proc.send_signal(signal.SIGTERM)
    try:
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "tfsep: error: interrupted (SIGTERM)" and "Traceback" not in err, err
    time.sleep(0.5)
    assert _live(proc.pid) == []  # no worker process left running
    _stems_have_rows(out)


def test_workers_of_a_killed_launcher_publish_nothing_without_its_row(tmp_path, tiny_model_dir):
    proc, out = _start_catalogue(tmp_path, tiny_model_dir)
    proc.send_signal(signal.SIGKILL)  # the launcher only: its workers are on their own now
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline and _live(proc.pid):
        time.sleep(0.1)
    try:
        assert _live(proc.pid) == []  # the workers noticed and stopped
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    _stems_have_rows(out)


def test_no_more_worker_processes_than_inputs(tmp_path, tiny_model_dir):
    """--workers 256 for one song: one worker (each loads the model: 256 would be 256 TensorFlows)."""
    song = _songs(tmp_path / "in", 1)[0]
    args = ["catalogue", str(song), "-o", str(tmp_path / "out"), "-m", str(tiny_model_dir), "--workers", "256"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "DirectRunner with 1 worker\n" in result.output
    assert _manifest(tmp_path / "out")[0]["status"] == "done"
