"""``tfsep separate`` end to end on a tiny model: files, formats, options, and every bad input.

The CLI runs in this process through click's CliRunner (TensorFlow loads once);
one subprocess test checks the installed console script starts fast.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import SR, noise, write_wav

from tfsep.cli import main

STEMS = ("vocals", "accompaniment")


def run(args, model):
    """Invoke ``tfsep separate -q -m MODEL ARGS``; returns click's Result."""
    full = ["separate", "-q"] + (["-m", str(model)] if model is not None else []) + [str(a) for a in args]
    return CliRunner().invoke(main, full)


def files_under(root) -> list[str]:
    root = Path(root)
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_ok(result):
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.output


def assert_one_line_error(result, *needles):
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tfsep: error: "), lines[0]
    for needle in needles:
        assert str(needle) in lines[0], (needle, lines[0])
    return lines[0]


def assert_nothing_written(out):
    """No output file, no temp file, no empty folder left behind."""
    out = Path(out)
    if out.exists():
        leftovers = [str(p.relative_to(out)) for p in out.rglob("*")]
        assert leftovers == [], leftovers


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"


@pytest.fixture(autouse=True)
def _hermetic_model_places(hermetic_model_places):
    """Every test here looks models up in its own empty places (conftest)."""


# -- working runs ----------------------------------------------------------------


@pytest.mark.parametrize("codec", ["wav", "mp3"])  # flac: see test_filename_template
def test_separating_a_real_file_writes_each_stem(tiny_model_dir, falcon, out, codec):
    r = run([falcon, "-o", out, "-c", codec, "--offset", "1", "--duration", "1.5"], tiny_model_dir)
    assert_ok(r)
    track = "The Easton Ellises - Falcon 69"
    assert files_under(out) == sorted(f"{track}/{s}.{codec}" for s in STEMS)
    for stem in STEMS:
        info = sf.info(str(out / track / f"{stem}.{codec}"))
        assert info.samplerate == SR and info.channels == 2
        if codec == "mp3":  # encoder delay/padding: within one MP3 frame
            assert abs(info.frames - int(1.5 * SR)) <= 1152 + 529
        else:
            assert info.frames == int(1.5 * SR)
        x, _ = sf.read(str(out / track / f"{stem}.{codec}"))
        assert np.abs(x).max() > 1e-3  # music in, music out


def test_json_summary(tiny_model_dir, music_wav, out):
    r = run([music_wav, "-o", out, "--json"], tiny_model_dir)
    assert_ok(r)
    summary = json.loads(r.stdout)
    assert summary["stems"] == list(STEMS)
    (res,) = summary["results"]
    assert res["status"] == "ok" and res["input"] == str(music_wav)
    assert set(res["outputs"]) == set(STEMS)
    for path in res["outputs"].values():
        assert Path(path).is_file() and Path(path).is_relative_to(out)
    assert res["duration"] == pytest.approx(1.0, abs=1e-3)


def test_stems_option_writes_only_those(tiny_model_dir, music_wav, out):
    assert_ok(run([music_wav, "-o", out, "--stems", "vocals"], tiny_model_dir))
    assert files_under(out) == ["song/vocals.wav"]
    info = sf.info(str(out / "song" / "vocals.wav"))
    assert info.subtype == "PCM_16" and info.frames == SR  # the defaults: 16-bit, whole file


def test_unknown_stem_is_refused(tiny_model_dir, music_wav, out):
    r = run([music_wav, "-o", out, "--stems", "vocals,piano"], tiny_model_dir)
    assert_one_line_error(r, "piano", "accompaniment")
    assert_nothing_written(out)


def test_filename_template(tiny_model_dir, music_wav, out):
    assert_ok(run([music_wav, "-o", out, "-f", "{stem}/{track}.{codec}", "-c", "flac"], tiny_model_dir))
    assert files_under(out) == ["accompaniment/song.flac", "vocals/song.flac"]
    info = sf.info(str(out / "vocals" / "song.flac"))
    assert info.frames == SR and info.samplerate == SR


def test_offset_and_duration_past_the_end(tiny_model_dir, music_wav, out):
    # (--offset/--duration within the file: test_separating_a_real_file_writes_each_stem)
    assert_ok(run([music_wav, "-o", out, "--offset", "0.75", "--duration", "5"], tiny_model_dir))
    assert sf.info(str(out / "song" / "vocals.wav")).frames == int(0.25 * SR)


def test_offset_at_the_end_is_an_error(tiny_model_dir, music_wav, out):
    r = run([music_wav, "-o", out, "--offset", "3"], tiny_model_dir)
    assert_one_line_error(r, "offset")
    assert_nothing_written(out)


def test_bit_depth(tiny_model_dir, music_wav, out):
    """24-bit output holds 24-bit samples (finer than 16-bit steps), equal to the float stems to 24-bit precision."""
    assert_ok(run([music_wav, "-o", out / "24", "--bit-depth", "24", "--clip", "none"], tiny_model_dir))
    assert_ok(run([music_wav, "-o", out / "32", "--bit-depth", "32"], tiny_model_dir))
    path = out / "24" / "song" / "vocals.wav"
    assert sf.info(str(path)).subtype == "PCM_24"
    ints, _ = sf.read(str(path), dtype="int32")  # libsndfile puts 24-bit samples in the top 24 bits
    assert np.all(ints % 256 == 0) and np.any(ints % 65536 != 0)  # not 16-bit samples in a 24-bit label
    y24, _ = sf.read(str(path), dtype="float32")
    y32, _ = sf.read(str(out / "32" / "song" / "vocals.wav"), dtype="float32")
    assert np.abs(y32).max() < 1  # nothing was clipped, so the two differ only by quantization
    np.testing.assert_allclose(y24, y32, atol=2.0**-23 * 1.01)


def test_clip_rescale_keeps_peak_at_most_one_with_one_gain(tiny_model_dir, tmp_path, out):
    loud = write_wav(tmp_path / "loud.wav", noise(20000, amp=1.5))  # float WAV beyond full scale
    assert_ok(run([loud, "-o", out / "none", "--clip", "none", "--bit-depth", "32"], tiny_model_dir))
    # Integer output must be rescaled; 32-bit float keeps the gain (tests/test_inference_options.py).
    assert_ok(run([loud, "-o", out / "rescale", "--clip", "rescale", "--bit-depth", "24"], tiny_model_dir))
    raw = {s: sf.read(str(out / "none" / "loud" / f"{s}.wav"), dtype="float32")[0] for s in STEMS}
    scaled = {s: sf.read(str(out / "rescale" / "loud" / f"{s}.wav"), dtype="float32")[0] for s in STEMS}
    peak = max(np.abs(x).max() for x in raw.values())
    assert peak > 1.0  # otherwise this test would prove nothing
    assert max(np.abs(x).max() for x in scaled.values()) <= 1.0
    for s in STEMS:  # one gain for every stem keeps their sum the (scaled) mixture
        np.testing.assert_allclose(scaled[s], raw[s] / peak, atol=1e-6 + 2**-23)


def test_existing_outputs_are_refused_without_overwrite(tiny_model_dir, music_wav, out):
    assert_ok(run([music_wav, "-o", out], tiny_model_dir))
    vocals = out / "song" / "vocals.wav"
    vocals.write_bytes(b"precious")
    before = (out / "song" / "accompaniment.wav").read_bytes()
    r = run([music_wav, "-o", out], tiny_model_dir)
    assert_one_line_error(r, "exists", "--overwrite")
    assert vocals.read_bytes() == b"precious"
    assert (out / "song" / "accompaniment.wav").read_bytes() == before
    assert files_under(out) == ["song/accompaniment.wav", "song/vocals.wav"]  # no temp files
    assert_ok(run([music_wav, "-o", out, "--overwrite"], tiny_model_dir))
    assert sf.info(str(vocals)).frames == SR


def test_four_stem_model(tiny4_model_dir, music_wav, out):
    assert_ok(run([music_wav, "-o", out], tiny4_model_dir))
    assert files_under(out) == sorted(f"song/{s}.wav" for s in ("vocals", "drums", "bass", "other"))


# -- unusual but valid input -------------------------------------------------------


def test_silent_input_gives_silent_stems(tiny_model_dir, tmp_path, out):
    path = write_wav(tmp_path / "silence.wav", np.zeros((20000, 2)))
    assert_ok(run([path, "-o", out], tiny_model_dir))
    for stem in STEMS:
        x, sr = sf.read(str(out / "silence" / f"{stem}.wav"))
        assert x.shape == (20000, 2) and sr == SR
        assert np.all(np.isfinite(x)) and np.abs(x).max() == 0


def test_one_sample_input(tiny_model_dir, tmp_path, out):
    path = write_wav(tmp_path / "one.wav", noise(1))
    assert_ok(run([path, "-o", out], tiny_model_dir))
    for stem in STEMS:
        assert sf.info(str(out / "one" / f"{stem}.wav")).frames == 1


@pytest.mark.parametrize("rate,channels", [(8000, 1), (96000, 2)])
def test_other_sample_rates(tiny_model_dir, tmp_path, out, rate, channels):
    path = write_wav(tmp_path / "odd.wav", noise(rate // 2, channels=channels), sr=rate, subtype="PCM_16")
    assert_ok(run([path, "-o", out], tiny_model_dir))
    for stem in STEMS:
        info = sf.info(str(out / "odd" / f"{stem}.wav"))
        # Stems come at the input's rate and channels, as long as the input (the model runs at 44.1 kHz inside).
        assert info.samplerate == rate and info.channels == channels
        assert info.frames == rate // 2


def test_six_channels_are_downmixed_with_a_warning(tiny_model_dir, tmp_path, out):
    path = write_wav(tmp_path / "surround.wav", noise(10000, channels=6))
    r = run([path, "-o", out], tiny_model_dir)
    assert_ok(r)
    assert "6 channels" in r.stderr and "warning" in r.stderr
    for stem in STEMS:
        info = sf.info(str(out / "surround" / f"{stem}.wav"))
        assert info.channels == 2 and info.frames == 10000


# -- bad input: one line, non-zero exit, nothing written -----------------------------------


def _bad_input(kind, tmp_path, music_wav):
    """Create the bad input ``kind``; returns (path, words the error must contain)."""
    if kind == "missing":
        return tmp_path / "nope.wav", ["nope.wav"]
    if kind == "directory":
        d = tmp_path / "adir.wav"
        d.mkdir()
        return d, ["adir.wav", "directory"]
    if kind == "zero_bytes":
        p = tmp_path / "empty.wav"
        p.write_bytes(b"")
        return p, ["empty.wav", "empty"]
    if kind == "truncated_header":
        p = tmp_path / "cut.wav"
        p.write_bytes(Path(music_wav).read_bytes()[:30])
        return p, ["cut.wav"]
    if kind == "truncated_mp4":
        from conftest import falcon_path

        p = tmp_path / "cut.stem.mp4"
        p.write_bytes(Path(falcon_path()).read_bytes()[:5000])
        return p, ["cut.stem.mp4"]
    if kind == "garbage":
        p = tmp_path / "noise.wav"
        p.write_bytes(b"RIFF" + np.random.default_rng(0).bytes(5000))
        return p, ["noise.wav"]
    if kind == "text_as_mp3":
        p = tmp_path / "notes.mp3"
        p.write_text("these are my lyrics, not audio\n" * 50)
        return p, ["notes.mp3"]
    if kind == "nan":
        x = noise(20000)
        x[15000, 1] = np.nan
        return write_wav(tmp_path / "nan.wav", x), ["nan.wav", "NaN"]
    if kind == "inf":
        x = noise(20000)
        x[3, 0] = np.inf
        return write_wav(tmp_path / "inf.wav", x), ["inf.wav"]
    raise AssertionError(kind)


BAD_INPUTS = [
    "missing",
    "directory",
    "zero_bytes",
    "truncated_header",
    "truncated_mp4",
    "garbage",
    "text_as_mp3",
    "nan",
    "inf",
]


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_input_file(tiny_model_dir, tmp_path, music_wav, out, kind):
    path, needles = _bad_input(kind, tmp_path, music_wav)
    r = run([path, "-o", out], tiny_model_dir)
    assert_one_line_error(r, *needles)
    assert_nothing_written(out)


def test_unwritable_output(tiny_model_dir, music_wav, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        target = locked / "out"
        if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a file
            blocker = tmp_path / "some_file.txt"
            blocker.write_text("not a directory")
            target = blocker / "sub"
        r = run([music_wav, "-o", target], tiny_model_dir)
        assert_one_line_error(r)
        assert not target.exists()
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("template", ["../{stem}.{codec}", "{track}/../../{stem}.{codec}", "ABS"])
def test_template_escaping_outdir_is_refused(tiny_model_dir, music_wav, tmp_path, out, template):
    if template == "ABS":
        template = str(tmp_path / "elsewhere" / "{stem}.{codec}")
    r = run([music_wav, "-o", out, "-f", template], tiny_model_dir)
    assert_one_line_error(r, "outside the output directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written anywhere


@pytest.mark.parametrize(
    "template,needle", [("{track}/{instrument}.{codec}", "{instrument}"), ("{track}.{codec}", "{stem}")]
)
def test_bad_templates_are_refused(tiny_model_dir, music_wav, out, template, needle):
    r = run([music_wav, "-o", out, "-f", template], tiny_model_dir)
    assert_one_line_error(r, needle)
    assert_nothing_written(out)


def test_invalid_model_config(tiny_model_dir, music_wav, tmp_path, out):
    model = tmp_path / "broken_model"
    shutil.copytree(tiny_model_dir, model)
    cfg = json.loads((model / "config.json").read_text())
    cfg["separation"]["ovelrap"] = 0.5
    (model / "config.json").write_text(json.dumps(cfg))
    r = run([music_wav, "-o", out], model)
    assert_one_line_error(r, "separation.ovelrap", model / "config.json")
    assert_nothing_written(out)


@pytest.mark.parametrize("model,needle", [("nosuchmodel", "nosuchmodel"), ("./no/such/dir", "does not exist")])
def test_unknown_model(music_wav, out, model, needle):
    r = run([music_wav, "-o", out], model)
    assert_one_line_error(r, needle)
    assert_nothing_written(out)


@pytest.mark.parametrize("args,needle", [(["--segment", "100"], "segment"), (["--overlap", "0.9"], "overlap")])
def test_bad_separation_options(tiny_model_dir, music_wav, out, args, needle):
    r = run([music_wav, "-o", out] + args, tiny_model_dir)
    assert_one_line_error(r, needle)
    assert_nothing_written(out)


def test_one_bad_file_in_a_batch(tiny_model_dir, tmp_path, music_wav, out):
    first = write_wav(tmp_path / "first.wav", noise(8000))
    bad, _ = _bad_input("text_as_mp3", tmp_path, music_wav)
    r = run([first, bad, music_wav, "-o", out], tiny_model_dir)
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    lines = r.stderr.strip().splitlines()
    assert all(line.startswith("tfsep: error: ") for line in lines)
    assert any(str(bad) in line for line in lines)
    assert not any(str(first) in line or str(music_wav) in line for line in lines)
    assert files_under(out) == sorted(f"{t}/{s}.wav" for t in ("first", "song") for s in STEMS)


def test_batch_json_reports_each_file(tiny_model_dir, tmp_path, music_wav, out):
    bad = tmp_path / "missing.wav"
    r = run([music_wav, bad, "-o", out, "--json"], tiny_model_dir)
    assert r.exit_code == 1
    results = json.loads(r.stdout)["results"]
    assert [x["status"] for x in results] == ["ok", "failed"]
    assert str(bad) in results[1]["error"]


# -- start-up -----------------------------------------------------------------------


def test_console_script_help_is_fast_and_does_not_import_tensorflow():
    script = Path(sys.executable).parent / "tfsep"
    if not script.exists():
        pytest.skip("console script not installed next to this Python")
    t0 = time.perf_counter()
    res = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - t0
    print(f"tfsep --help: {seconds:.2f} s")
    assert res.returncode == 0, res.stderr
    assert "separate" in res.stdout
    assert seconds < 5  # generous guard; it takes well under 2 s
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), "separate", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in probe.stderr.splitlines() if "|" in line}
    assert "click" in imported  # the probe sees imports at all
    assert "tensorflow" not in imported and "keras" not in imported


def test_startup_shows_only_tfsep_lines(tiny_model_dir, music_wav, tmp_path):
    """TensorFlow's start-up notes (absl, oneDNN, CPU features) stay off stderr; ``--verbose`` shows them."""
    script = Path(sys.executable).parent / "tfsep"
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TFSEP_VERBOSE")}
    args = [str(script), "separate", str(music_wav), "-m", str(tiny_model_dir), "-o", str(tmp_path / "a"), "-q"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr
    assert [line for line in res.stderr.splitlines() if line.strip()] == [], res.stderr
    loud = subprocess.run(
        [str(script), "--verbose", *args[1:-3], "-o", str(tmp_path / "b"), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert loud.returncode == 0, loud.stderr
    assert "oneDNN" in loud.stderr or "absl" in loud.stderr  # the filter, not TensorFlow, made the difference
    # The Python API is as quiet, and a real message written while TensorFlow imports still gets through.
    code = "import os, tfsep, tensorflow; print('ok')"
    api = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert api.stdout.strip() == "ok" and api.stderr.strip() == "", api.stderr


def test_filtered_stderr_keeps_real_messages(capfd):
    from tfsep.console.quiet import filtered_stderr

    with filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"something real went wrong\n")
    assert capfd.readouterr().err == "something real went wrong\n"
