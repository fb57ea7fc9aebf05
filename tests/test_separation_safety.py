"""``tfsep separate`` loses nothing: never writes over its input, commits a track's stems together,
cleans up on SIGTERM as on Ctrl-C, keeps the input's channel layout, names files by what they hold,
and says what it is doing without filling a log with progress redraws.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import SR, _build_model_dir, noise, tiny_config, write_wav

from tfsep.cli import main
from tfsep.errors import OutputError

STEMS = ("vocals", "accompaniment")


def run(*args):
    return CliRunner().invoke(main, ["separate", *[str(a) for a in args]])


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


@pytest.fixture(autouse=True)
def _hermetic_model_places(tmp_path, monkeypatch):
    monkeypatch.setenv("TFSEP_MODEL_HOME", str(tmp_path / "model_home"))
    monkeypatch.setenv("TFSEP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFSEP_NO_PIP", "1")


@pytest.fixture
def song(tmp_path, music):
    """One second of music in its own folder, ``in/song.wav``."""
    (tmp_path / "in").mkdir()
    return write_wav(tmp_path / "in" / "song.wav", music[:SR])


# -- 5. an output is never an input -----------------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("how", ["same-path", "symlinked-dir", "hard-link"])
def test_an_output_that_is_an_input_is_refused(tiny_model_dir, song, tmp_path, how, overwrite):
    original = song.read_bytes()
    template, out = "{track}.wav", song.parent
    if how == "symlinked-dir":
        out = tmp_path / "link"
        out.symlink_to(song.parent, target_is_directory=True)
    elif how == "hard-link":
        out = tmp_path / "out"
        out.mkdir()
        os.link(song, out / "song.wav")
    args = [song, "-q", "-m", tiny_model_dir, "-o", out, "-f", template, "--stems", "vocals"]
    r = run(*args, *(["--overwrite"] if overwrite else []))
    assert r.exit_code == 1, r.stderr
    assert r.stderr.startswith("tfsep: error: ") and "is the input file" in r.stderr, r.stderr
    assert song.read_bytes() == original
    assert sorted(p.name for p in song.parent.iterdir()) == ["song.wav"]


def test_a_batch_never_writes_over_another_input(tiny_model_dir, song, tmp_path):
    # -f '{stem}.wav' in the inputs' folder: song.wav's vocals would replace the input vocals.wav.
    inputs = song.parent
    vocals_input = write_wav(inputs / "vocals.wav", noise(4000))
    before = vocals_input.read_bytes()
    r = run(song, vocals_input, "-q", "-m", tiny_model_dir, "-o", inputs, "-f", "{stem}.wav", "--overwrite")
    assert r.exit_code == 1
    assert "is the input file" in r.stderr
    assert vocals_input.read_bytes() == before


# -- 6. a track's stems are committed together ------------------------------------------------


@pytest.mark.parametrize("clip", ["none", "rescale"], ids=["one-pass", "two-pass"])
def test_a_failing_later_stem_leaves_every_old_file_untouched(separator, music, tmp_path, monkeypatch, clip):
    from tfsep.separation.stemfiles import separate_file

    src = write_wav(tmp_path / "song.wav", music[:SR])
    out = tmp_path / "out"
    (out / "song").mkdir(parents=True)
    old = {s: f"the user's old {s}".encode() for s in STEMS}
    for stem, data in old.items():
        (out / "song" / f"{stem}.wav").write_bytes(data)

    real = sf.SoundFile

    class DiskFullOnLastStem(real):
        """Encoding of the last stem (accompaniment) fails when its file is closed: the disk was full."""

        def close(self):
            failing = (
                not self.closed and "w" in self.mode and Path(self.name).name.startswith(".accompaniment.wav.tmp-")
            )
            super().close()
            if failing:
                raise RuntimeError("No space left on device")

    monkeypatch.setattr(sf, "SoundFile", DiskFullOnLastStem)
    with pytest.raises(OutputError, match="accompaniment.wav"):
        separate_file(separator, src, out, overwrite=True, clip=clip)
    monkeypatch.undo()
    assert {s: (out / "song" / f"{s}.wav").read_bytes() for s in STEMS} == old
    assert files_under(out) == ["song", "song/accompaniment.wav", "song/vocals.wav"]  # no temp file either


@pytest.mark.parametrize("which", ["vocals", "accompaniment"])
def test_a_stem_written_meanwhile_by_another_run_is_never_replaced(separator, music, tmp_path, monkeypatch, which):
    """Two runs, one output folder, no --overwrite: the later one fails and takes back its own stems."""
    from tfsep.audio.writer import AudioWriter
    from tfsep.separation.stemfiles import separate_file

    src = write_wav(tmp_path / "song.wav", music[:SR])
    out = tmp_path / "out"
    real_finish = AudioWriter.finish

    def finish_while_another_run_publishes(self):
        real_finish(self)
        if Path(self.path).name == f"{which}.wav":  # the other run got there between our check and our publish
            Path(self.path).write_bytes(b"the other run's stem")

    monkeypatch.setattr(AudioWriter, "finish", finish_while_another_run_publishes)
    with pytest.raises(OutputError, match=f"{which}.wav was created by something else"):
        separate_file(separator, src, out)
    monkeypatch.undo()
    assert (out / "song" / f"{which}.wav").read_bytes() == b"the other run's stem"
    assert files_under(out) == ["song", f"song/{which}.wav"]  # ours all gone, no temp file left
    # With --overwrite, replacing is what the user asked for.
    separate_file(separator, src, out, overwrite=True)
    assert sf.info(str(out / "song" / f"{which}.wav")).frames == SR


def test_writer_publishes_only_after_finish(tmp_path):
    from tfsep.audio.writer import AudioWriter

    target = tmp_path / "x.wav"
    target.write_bytes(b"old")
    w = AudioWriter(target, SR, 2)
    w.write(noise(1000))
    w.finish()
    assert target.read_bytes() == b"old"  # finished, not yet published
    w.publish()
    assert sf.info(str(target)).frames == 1000
    assert files_under(tmp_path) == ["x.wav"]


# -- 7. SIGTERM cleans up like Ctrl-C, and both exit 130 ---------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_separation_leaves_nothing_and_exits_130(tiny_model_dir, tmp_path, signum):
    """A real signal to ``python -m tfsep.cli separate`` while its hidden temp files exist."""
    long_song = tmp_path / "long.wav"
    sf.write(str(long_song), noise(60 * SR), SR, subtype="PCM_16")  # ~7 s of work for the tiny model
    out = tmp_path / "out"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "tfsep.cli", "separate", str(long_song), "-m", str(tiny_model_dir), "-o", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("long/.tfsep-partial/.vocals.wav.*")):
            assert proc.poll() is None, "separate ended before writing:\n" + proc.communicate()[1]
            assert time.monotonic() < deadline, "no temp file in time"
            time.sleep(0.01)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("tfsep: error: interrupted"), stderr
    assert not out.exists() or files_under(out) == [], files_under(out)  # no stem, no temp file, no folder


def test_sigterm_becomes_keyboard_interrupt_only_inside_the_cli():
    from tfsep.cli.common import Terminated, sigterm_as_interrupt

    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))  # never kill pytest
    try:
        with pytest.raises(KeyboardInterrupt) as info, sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        assert isinstance(info.value, Terminated) and seen == []
        os.kill(os.getpid(), signal.SIGTERM)  # outside: the handler from before is back
        time.sleep(0.05)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- 8. mono models keep the input's layout ----------------------------------------------------


@pytest.fixture(scope="module")
def mono_model_dir(tmp_path_factory):
    return _build_model_dir(tiny_config(name="tinymono", n_channels=1), tmp_path_factory.mktemp("mono") / "tinymono")


def test_a_mono_model_returns_the_inputs_channel_layout(mono_model_dir, music, tmp_path):
    from tfsep.separation import Separator

    sep = Separator(str(mono_model_dir))
    assert sep.channels == 1
    stereo = music[: SR // 2]
    stems = sep.separate(stereo, SR)
    for y in stems.values():
        assert y.shape == stereo.shape
        np.testing.assert_array_equal(y[:, 0], y[:, 1])  # the model's one channel, duplicated
    assert sep.separate(stereo[:, 0], SR)["vocals"].shape == (SR // 2,)
    assert sep.separate(stereo[:, :1], SR)["vocals"].shape == (SR // 2, 1)

    src = write_wav(tmp_path / "song.wav", stereo)
    summary = sep.separate_file(src, tmp_path / "out")
    assert summary["channels"] == 2
    for path in summary["outputs"].values():
        assert sf.info(path).channels == 2


def test_restore_channels_rule():
    from tfsep.audio.channels import restore_channels

    mono, stereo = np.ones((4, 1), np.float32), np.ones((4, 2), np.float32)
    assert restore_channels(mono, 2).shape == (4, 2) and restore_channels(mono, 6).shape == (4, 2)
    assert restore_channels(stereo, 1).shape == (4, 1) and restore_channels(stereo, 6).shape == (4, 2)
    assert restore_channels(mono, 1) is mono and restore_channels(stereo, 2) is stereo


# -- 11. a file's extension says what it holds -------------------------------------------------


def test_the_codec_follows_the_templates_extension(tiny_model_dir, song, tmp_path):
    out = tmp_path / "out"
    r = run(song, "-q", "-m", tiny_model_dir, "-o", out, "-f", "{track}/{stem}.mp3")
    assert r.exit_code == 0, r.stderr
    for stem in STEMS:
        path = out / "song" / f"{stem}.mp3"
        assert sf.info(str(path)).format == "MP3"  # MPEG audio, not RIFF/WAVE under an .mp3 name
    r = run(song, "-q", "-m", tiny_model_dir, "-o", tmp_path / "o2", "-f", "{stem}.FLAC", "--bit-depth", "24")
    assert r.exit_code == 0, r.stderr
    assert sf.info(str(tmp_path / "o2" / "vocals.FLAC")).format == "FLAC"


@pytest.mark.parametrize(
    "template, codec, needle",
    [("{stem}.mp3", "flac", "-c mp3"), ("{stem}.wav", "mp3", "-c wav"), ("{stem}.txt", None, ".txt")],
)
def test_a_contradicting_extension_is_refused(tiny_model_dir, song, tmp_path, template, codec, needle):
    r = run(song, "-q", "-m", tiny_model_dir, "-o", tmp_path / "out", "-f", template, *(["-c", codec] if codec else []))
    assert r.exit_code == 1
    assert r.stderr.startswith("tfsep: error: ") and needle in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_template_codec():
    from tfsep.separation.outputs import template_codec

    assert template_codec("{track}/{stem}.{codec}") == "wav"
    assert template_codec("{track}/{stem}.{codec}", "ogg") == "ogg"
    assert template_codec("{stem}.m4a") == "m4a" and template_codec("{stem}.Ogg", "ogg") == "ogg"
    assert template_codec("x.y/{stem}") == "wav"  # no extension in the file name itself


# -- 12. say what is happening; no carriage returns in a log -----------------------------------


def test_a_log_gets_plain_lines_and_a_loading_note(tiny_model_dir, song, tmp_path):
    r = run(song, "-m", tiny_model_dir, "-o", tmp_path / "out")  # CliRunner's stderr is not a terminal
    assert r.exit_code == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == f"tfsep: loading model {tiny_model_dir}...", lines
    assert any(line.startswith("tfsep: separating ") for line in lines)
    assert "\r" not in r.stderr and "\x1b" not in r.stderr, repr(r.stderr)
    quiet = run(song, "-q", "-m", tiny_model_dir, "-o", tmp_path / "out2")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    as_json = run(song, "--json", "-m", tiny_model_dir, "-o", tmp_path / "out3")
    assert as_json.exit_code == 0 and as_json.stderr == ""
    assert json.loads(as_json.stdout)["results"][0]["status"] == "ok"


def test_a_terminal_gets_the_bar(monkeypatch):
    import sys

    from tfsep.separation import stemfiles

    class Tty:
        def isatty(self):
            return True

        def write(self, text):
            pass

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stderr", Tty())
    bar = stemfiles._progress_bar(True, SR, SR, "song")
    assert bar is not None
    bar.close()
    monkeypatch.undo()
    assert stemfiles._progress_bar(True, SR, SR, "song") is None  # pytest's stderr is no terminal


def test_temps_of_a_killed_run_are_swept_by_the_next(tiny_model_dir, song, tmp_path):
    """SIGKILL leaves temps in OUT/<track>/.tfsep-partial; the next run there removes them, not live runs' temps."""
    out = tmp_path / "out"
    script = (
        "import os, signal, sys\n"
        "from tfsep.audio.writer import AudioWriter\n"
        "import numpy as np\n"
        f"w = AudioWriter({str(out / 'song' / 'vocals.wav')!r}, 44100, 2)\n"
        "w.write(np.zeros((44100, 2), np.float32))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    partial = out / "song" / ".tfsep-partial"
    assert len(list(partial.iterdir())) == 1  # left behind: nothing could remove it
    live = partial / f".accompaniment.wav.tmp-{os.getppid()}-another-run"  # a run still writing: kept
    live.write_bytes(b"x")
    r = run(str(song), "-m", str(tiny_model_dir), "-o", str(out), "-q")
    assert r.exit_code == 0, r.output
    assert [p.name for p in partial.iterdir()] == [live.name]
    live.unlink()
    r = run(str(song), "-m", str(tiny_model_dir), "-o", str(out), "-q", "--overwrite")
    assert r.exit_code == 0, r.output
    assert files_under(out) == ["song", "song/accompaniment.wav", "song/vocals.wav"]


def test_a_full_disk_is_named_as_such(separator, music, tmp_path, monkeypatch):
    """libsndfile's "System error." on a full disk becomes "no space left on device while writing X"."""
    import shutil as shutil_mod

    from tfsep.separation.stemfiles import separate_file

    src = write_wav(tmp_path / "song.wav", music[:SR])
    real_write = sf.SoundFile.write
    usage = shutil_mod.disk_usage

    written = []

    def full_after_a_while(self, data):
        written.append(len(data))
        if len(written) > 2:
            monkeypatch.setattr(shutil_mod, "disk_usage", lambda p: usage(p)._replace(free=0))
            raise RuntimeError("System error.")
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", full_after_a_while)
    with pytest.raises(OutputError, match=r"^no space left on device while writing .*\.wav$"):
        separate_file(separator, src, tmp_path / "out", clip="rescale")
    monkeypatch.undo()
    assert files_under(tmp_path / "out") == []


def test_a_track_that_cannot_fit_is_refused_before_separating(separator, music, tmp_path, monkeypatch):
    import shutil as shutil_mod

    from tfsep.separation.stemfiles import separate_file

    src = write_wav(tmp_path / "song.wav", music[: 5 * SR])
    usage = shutil_mod.disk_usage
    monkeypatch.setattr(shutil_mod, "disk_usage", lambda p: usage(p)._replace(free=200_000))
    calls = []
    monkeypatch.setattr(separator, "iter_separate", lambda *a, **k: calls.append(1) or iter(()))
    with pytest.raises(OutputError, match=r"need about \d+ MB .* only 0 MB free"):
        separate_file(separator, src, tmp_path / "out")
    assert calls == [] and not (tmp_path / "out").exists()


@pytest.mark.parametrize("bit_depth, compact", [(16, True), (24, False)])
def test_rescale_temps_are_compact_where_the_output_keeps_less(tmp_path, bit_depth, compact):
    """16-bit and lossy outputs: a 24-bit WAV temp with 24 dB headroom (finer than the output); 24-bit: float."""
    from tfsep.separation.stem_sink import TEMP_HEADROOM, _StemTemp

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((SR, 2)) * 0.8).astype(np.float32)
    x[:10] = 3.0  # stems may exceed full scale: that is why they are rescaled
    x[10] = 20.0  # beyond the headroom
    temp = _StemTemp(tmp_path / "out" / "vocals.wav", SR, 2, compact=bit_depth != 24)
    temp.write(x[: SR // 2])
    temp.write(x[SR // 2 :])
    assert temp.path.parent.name == ".tfsep-partial" and temp.compact == compact
    y = np.concatenate(list(temp.blocks()))
    size = temp.path.stat().st_size
    temp.remove()
    assert not (tmp_path / "out" / ".tfsep-partial").exists()
    if compact:
        assert size < 0.8 * x.size * 4  # less than the float32 WAV it replaces
        np.testing.assert_allclose(y[11:], x[11:], atol=TEMP_HEADROOM * 2.0**-23 * 1.01)
        assert y[10, 0] == pytest.approx(TEMP_HEADROOM, rel=1e-5) and temp.beyond_headroom == 2
        assert np.abs(y[11:] - x[11:]).max() < 2.0**-16  # finer than a 16-bit output's step
    else:
        np.testing.assert_array_equal(y, x)


def test_a_hard_stop_removes_a_temp_made_but_not_yet_registered(tmp_path):
    """A worker stopped between creating a temp and registering it (or after the first sweep) leaves nothing."""
    child = f"""
import os
from tfsep.audio import partials
from tfsep.console import interrupts
partials.track_temp = lambda *a, **k: None  # as if the stop came before the temp was registered
made = partials.partial_file({str(tmp_path / "out" / "vocals.wav")!r}, ".pass1-")
assert os.path.exists(made)
open({str(tmp_path / "out" / "vocals.wav.keep-me")!r}, "w").close()  # not a temp of ours
interrupts.hard_stop("stopped", 1)
"""
    (tmp_path / "out").mkdir()
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["vocals.wav.keep-me"]  # temp and .tfsep-partial gone
