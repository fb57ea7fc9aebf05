"""``tfsep live``: files, standard input, growing stem files, a (fake) sound card, remix, one-line errors."""

from __future__ import annotations

import _thread
import io
import signal
import subprocess
import sys
import threading
import time
import types

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import SR, noise, write_wav

from tfsep.audio.growing import GrowingWav
from tfsep.cli import main
from tfsep.errors import OutputError
from tfsep.separation import Separator


def _live(args, **kw):
    return CliRunner().invoke(main, ["live", *map(str, args)], **kw)


def _api_stems(model_dir, x, latency):
    """What the Python API gives for the stream the CLI runs (as fast as possible: no compute buffer)."""
    stream = Separator(str(model_dir)).stream(latency=latency - 1024 / SR)
    outs = [stream.process(x[i : i + 1024]) for i in range(0, len(x), 1024)] + [stream.flush()]
    return {k: np.concatenate([o[k] for o in outs]) for k in stream.stems}, stream.latency_samples


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    x = noise(2 * SR + 333, seed=11)
    return write_wav(tmp_path_factory.mktemp("live") / "song.wav", x), x


def test_a_file_as_fast_as_possible_gives_the_api_stems_in_growing_files(tmp_path, song, tiny_model_dir):
    path, x = song
    out = tmp_path / "stems"
    args = [path, "-m", tiny_model_dir, "--as-fast-as-possible", "-o", out, "--bit-depth", "32", "--latency", 0.3]
    result = _live(args)
    assert result.exit_code == 0, result.output
    expected, latency = _api_stems(tiny_model_dir, x, 0.3)
    for stem, y in expected.items():
        got, rate = sf.read(out / f"{stem}.wav", dtype="float32")
        assert rate == SR and len(got) == len(x) + latency
        np.testing.assert_array_equal(got, y)
    again = _live(args)
    assert again.exit_code == 1 and "exists (use --overwrite" in again.output


def test_standard_input_wav_to_standard_output_karaoke(tmp_path, song, tiny_model_dir):
    path, x = song
    data = path.read_bytes()
    # A pipe is a live source: its compute buffer would be measured; 0 makes the stream's latency known.
    result = _live(["-", "-m", tiny_model_dir, "--stdout", "--mute", "vocals", "--buffer", 0, "-q"], input=data)
    assert result.exit_code == 0, result.stderr if hasattr(result, "stderr") else result.output
    remix, rate = sf.read(io.BytesIO(result.stdout_bytes), dtype="float32")
    expected, latency = _api_stems(tiny_model_dir, x, 0.5)
    assert rate == SR and len(remix) == len(x) + latency
    np.testing.assert_allclose(remix, expected["accompaniment"], atol=1.5 / 32768)  # 16-bit WAV on stdout


def test_raw_pcm_on_standard_input(tiny_model_dir):
    x = noise(SR, seed=12)
    raw = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    args = ["-", "-m", tiny_model_dir, "--format", "s16le", "--rate", SR, "--channels", 2, "--buffer", 0]
    result = _live([*args, "--stdout", "--stdout-format", "f32le", "-q"], input=raw)
    assert result.exit_code == 0, result.output
    y = np.frombuffer(result.stdout_bytes, "<f4").reshape(-1, 2)
    latency = round(0.5 * SR) - 1024
    assert len(y) == len(x) + latency
    # Every stem, unmuted: the remix is the input (the residual makes the stems sum to it), 16-bit rounded.
    np.testing.assert_allclose(y[latency:], np.round(x * 32767) / 32768, atol=1e-4)
    missing = _live(["-", "-m", tiny_model_dir, "--format", "s16le", "--stdout"], input=raw)
    assert missing.exit_code == 1 and "needs --rate and --channels" in missing.output


def test_stem_files_are_playable_while_they_grow_and_after_a_kill(tmp_path, tiny_model_dir):
    song = write_wav(tmp_path / "long.wav", noise(8 * SR, seed=13))
    out = tmp_path / "stems"
    cmd = [sys.executable, "-m", "tfsep.cli", "live", str(song), "-m", str(tiny_model_dir), "-o", str(out), "-q"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    try:
        seen = []
        deadline = time.time() + 120
        while time.time() < deadline and len(seen) < 3:  # at the file's own pace: it grows for 8 s
            time.sleep(0.5)
            if (out / "vocals.wav").exists():
                with sf.SoundFile(out / "vocals.wav") as growing:  # one open: the header, then its frames
                    frames, data = growing.frames, growing.read()
                if frames and (not seen or frames > seen[-1]):
                    seen.append(frames)
                    assert len(data) == frames  # every frame the header counts is there to read
        assert len(seen) == 3, "the stems did not grow while the file played"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    for stem in ("vocals", "accompaniment"):
        y, rate = sf.read(out / f"{stem}.wav")
        assert rate == SR and seen[-1] <= len(y) < 8 * SR


def _fake_sounddevice(recording, played, stop_after):
    """A stand-in for ``sounddevice``: an input that plays ``recording`` in real-time blocks, then Ctrl-C."""
    module = types.ModuleType("sounddevice")

    def query_devices(device=None, kind=None):
        if device not in (None, "fake"):
            raise ValueError(f"No {kind} device matching {device!r}")
        return {"name": "fake card", "default_samplerate": SR, "max_input_channels": 2} if kind else "0 fake card"

    module.query_devices = query_devices

    class Status:
        input_overflow = False

    class InputStream:
        def __init__(self, device, samplerate, channels, blocksize, dtype, callback):
            self.callback, self.block = callback, blocksize

        def start(self):
            def feed():
                for i in range(0, len(recording), self.block):
                    time.sleep(self.block / SR)
                    self.callback(recording[i : i + self.block], self.block, None, Status())
                time.sleep(stop_after)
                _thread.interrupt_main()  # the user presses Ctrl-C

            threading.Thread(target=feed, daemon=True).start()

        def stop(self):
            pass

        def close(self):
            pass

    class OutputStream:
        def __init__(self, device, samplerate, channels, dtype, callback):
            self.callback, self.channels, self.running = callback, channels, False

        def start(self):
            self.running = True

            def pull():
                while self.running:
                    buf = np.zeros((512, self.channels), np.float32)
                    self.callback(buf, 512, None, Status())
                    played.append(buf)
                    time.sleep(512 / SR)

            threading.Thread(target=pull, daemon=True).start()

        def stop(self):
            self.running = False

        def close(self):
            pass

    module.InputStream, module.OutputStream = InputStream, OutputStream
    return module


def test_sound_card_in_and_out_with_a_fake_sounddevice(tmp_path, monkeypatch, tiny_model_dir):
    x = noise(2 * SR, seed=14)
    played = []
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(x, played, stop_after=1.0))
    out = tmp_path / "stems"
    args = ["--input-device", "fake", "--output-device", "default", "-m", tiny_model_dir, "-o", out]
    # A second of buffer: a loaded test machine never lets this card run dry (a gap would shift what it played).
    result = _live([*args, "--solo", "vocals", "--bit-depth", "32", "--buffer", 1.0, "--latency", 1.5])
    assert result.exit_code == 0, result.output  # Ctrl-C ends a live session: files complete, no error
    assert "late blocks" in result.output.splitlines()[-2]  # the summary (how many: the machine's load says)
    vocals, _ = sf.read(out / "vocals.wav", dtype="float32")
    accompaniment, _ = sf.read(out / "accompaniment.wav", dtype="float32")
    n = len(vocals)
    assert n == len(accompaniment) >= len(x)
    latency = n - len(x)
    np.testing.assert_allclose((vocals + accompaniment)[latency:], x, atol=1e-5)
    # The card played the soloed vocals, behind its buffer of silence.
    heard = np.concatenate(played)
    start = np.flatnonzero(np.abs(heard).sum(axis=1))[0]
    first = np.flatnonzero(np.abs(vocals).sum(axis=1))[0]
    k = min(len(heard) - start, n - first)
    np.testing.assert_allclose(heard[start : start + k], vocals[first : first + k], atol=1e-6)


def test_an_unknown_sound_card_is_one_line(monkeypatch, tiny_model_dir):
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(np.zeros((1, 2)), [], 0))
    result = _live(["--input-device", "nope", "-m", tiny_model_dir, "--stdout"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "tfsep: error: no sound card input 'nope' (No input device matching 'nope'): see tfsep live --list-devices"
    )


def test_list_devices_and_a_missing_sounddevice(monkeypatch, tiny_model_dir):
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(np.zeros((1, 2)), [], 0))
    result = _live(["--list-devices"])
    assert result.exit_code == 0 and "fake card" in result.output
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails
    result = _live(["--input-device", "1", "-m", tiny_model_dir, "-o", "x"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "tfsep: error: sound card input and output need the 'live' extra: pip install 'tfsep[live]' (sounddevice)"
    )


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "give one source"),
        (["SONG", "--input-device", "0", "--stdout"], "give one source"),
        (["SONG"], "nothing to output"),
        (["SONG", "--stdout", "--mute", "drums"], "no stem drums in this model (its stems: vocals, accompaniment)"),
        (["SONG", "--stdout", "--gain", "vocals=loud"], "--gain takes STEM=DB"),
        (["SONG", "--stdout", "--format", "s16le"], "--format is for standard input"),
        (["SONG", "--stdout", "--latency", "0.06"], "--latency 0.06 s leaves"),
        (["missing.wav", "--stdout"], "missing.wav"),
    ],
)
def test_bad_requests_get_one_line(args, message, song, tiny_model_dir):
    path, _ = song
    args = [str(path) if a == "SONG" else a for a in args]
    result = _live([*args, "-m", tiny_model_dir])
    assert result.exit_code in (1, 2)
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("tfsep: error: ") and message in lines[-1], result.output


def test_growing_wav_header_is_true_after_every_write(tmp_path):
    path = tmp_path / "g.wav"
    x = noise(3000, seed=15)
    for subtype, atol in (("PCM_16", 1 / 32767), ("PCM_24", 1 / 8388607), ("FLOAT", 0)):
        with GrowingWav(path, SR, 2, subtype) as wav:
            for i in range(0, 3000, 1000):
                wav.write(x[i : i + 1000])
                y, rate = sf.read(path, dtype="float32")
                assert rate == SR and len(y) == i + 1000
        np.testing.assert_allclose(y, x, atol=atol)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OutputError, match="cannot write .*a-file/no.wav: Not a directory"):
        GrowingWav(tmp_path / "a-file" / "no.wav", SR, 2)
