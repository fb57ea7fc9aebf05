"""Audio I/O: roundtrips, slicing, resampling, channel mapping, errors, atomic writes."""

import os
import shutil
import subprocess
import warnings

import numpy as np
import pytest
import soundfile as sf

from tfsep.audio import codecs, io
from tfsep.audio import writer as audio_writer
from tfsep.audio.probe import audio_info
from tfsep.audio.resampling import resample
from tfsep.errors import AudioError, OutputError, TfsepError


def _falcon_path():
    import stempeg

    getter = getattr(stempeg, "example_stem_path", None)
    if getter is not None:
        return getter()
    return os.path.join(os.path.dirname(stempeg.__file__), "data", "The Easton Ellises - Falcon 69.stem.mp4")


FALCON = _falcon_path()


def _sine(freq, rate, seconds, channels=2, amp=0.5):
    t = np.arange(int(rate * seconds)) / rate
    x = amp * np.sin(2 * np.pi * freq * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def music():
    """Two seconds of real stereo music (the Falcon 69 mixture) at 44.1 kHz."""
    x, sr = io.load(FALCON, offset=1.0, duration=2.0)
    return x, sr


def _assert_one_line_error(excinfo, path):
    msg = str(excinfo.value)
    assert str(path) in msg
    assert "\n" not in msg
    assert isinstance(excinfo.value, TfsepError)


# ------------------------------------------------------------------ roundtrips


@pytest.mark.parametrize("bit_depth,tol", [(16, 1 / 2**15), (24, 1 / 2**23), (32, 0.0)])
def test_wav_roundtrip_within_quantization(tmp_path, music, bit_depth, tol):
    x, sr = music
    path = tmp_path / "out.wav"
    audio_writer.save(path, x, sr, bit_depth=bit_depth)
    assert sf.info(str(path)).subtype == {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}[bit_depth]
    y, sr2 = io.load(path)
    assert sr2 == sr and y.dtype == np.float32 and y.shape == x.shape
    assert np.abs(y - x).max() <= tol + 1e-7


@pytest.mark.parametrize("bit_depth", [16, 24])
def test_flac_roundtrip(tmp_path, music, bit_depth):
    x, sr = music
    path = tmp_path / "out.flac"
    audio_writer.save(path, x, sr, bit_depth=bit_depth)
    y, _ = io.load(path)
    assert y.shape == x.shape
    assert np.abs(y - x).max() <= 1 / 2 ** (bit_depth - 1) + 1e-7


@pytest.mark.parametrize("codec", ["mp3", "ogg", "m4a"])
def test_lossy_roundtrip_keeps_length_and_content(tmp_path, music, codec):
    x, sr = music
    path = tmp_path / f"out.{codec}"
    audio_writer.save(path, x, sr)
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]
    info = audio_info(path)
    assert info.sample_rate == sr and info.channels == 2
    y, sr2 = io.load(path)
    assert sr2 == sr and y.shape[1] == 2
    assert abs(len(y) - len(x)) <= 2112  # encoder delay/padding at most
    n = min(len(x), len(y))
    corr = np.corrcoef(x[:n].ravel(), y[:n].ravel())[0, 1]
    assert corr > 0.9


def test_one_sample_file_loads(tmp_path):
    path = tmp_path / "one.wav"
    sf.write(str(path), np.array([[0.25, -0.25]], np.float32), 44100, subtype="FLOAT")
    y, sr = io.load(path)
    assert y.shape == (1, 2) and sr == 44100
    np.testing.assert_allclose(y, [[0.25, -0.25]])


def test_silent_audio_is_valid(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(str(path), np.zeros((1000, 2), np.float32), 22050)
    y, _ = io.load(path)
    assert y.shape == (1000, 2) and not y.any()


# ---------------------------------------------------------- offset / duration


def test_offset_duration_reads_the_right_slice_wav(tmp_path, music):
    x, sr = music
    path = tmp_path / "in.wav"
    sf.write(str(path), x, sr, subtype="FLOAT")
    full, _ = io.load(path)
    with io.open_audio(path, offset=0.5, duration=0.25) as reader:
        assert reader.frames == int(0.25 * sr)
        part = np.concatenate(list(reader.blocks(4096)))
    np.testing.assert_array_equal(part, full[int(0.5 * sr) : int(0.75 * sr)])
    tail, _ = io.load(path, offset=1.5)  # duration None: to the end
    np.testing.assert_array_equal(tail, full[int(1.5 * sr) :])


def test_offset_duration_reads_the_right_slice_ffmpeg():
    full, sr = io.load(FALCON)
    for offset in (0.01, 2.3, 5.5):
        part, _ = io.load(FALCON, offset=offset, duration=0.5)
        start = round(offset * sr)
        assert part.shape == (int(0.5 * sr), 2)
        # exact, including the first samples after the seek (decoder pre-roll)
        np.testing.assert_allclose(part, full[start : start + len(part)], atol=1e-6)


# ------------------------------------------------------ resampling, channels


def test_8khz_mono_to_44khz_stereo(tmp_path):
    path = tmp_path / "phone.wav"
    sf.write(str(path), _sine(440, 8000, 1.0, channels=1), 8000)
    with io.open_audio(path, sample_rate=44100) as reader:
        assert (reader.source_sample_rate, reader.source_channels) == (8000, 1)
        assert (reader.sample_rate, reader.channels) == (44100, 2)
        y = np.concatenate(list(reader.blocks(10000)))
        assert reader.frames == len(y) == 44100
    np.testing.assert_array_equal(y[:, 0], y[:, 1])
    spectrum = np.abs(np.fft.rfft(y[:, 0]))
    assert abs(np.argmax(spectrum) * 44100 / len(y) - 440) < 2


def test_96khz_native_and_resampled(tmp_path):
    path = tmp_path / "hires.flac"
    x = _sine(1000, 96000, 0.5)
    sf.write(str(path), x, 96000, subtype="PCM_24")
    y, sr = io.load(path)
    assert sr == 96000 and y.shape == x.shape
    z, sr = io.load(path, sample_rate=44100)
    assert sr == 44100 and z.shape == (22050, 2)
    np.testing.assert_allclose(z[1000:-1000], _sine(1000, 44100, 0.5)[1000:-1000], atol=1e-3)


def test_six_channels_downmix_with_one_warning(tmp_path):
    path = tmp_path / "surround.wav"
    levels = np.array([0.1, 0.2, 0.3, 0.9, 0.05, 0.15], np.float32)  # FL FR FC LFE BL BR
    sf.write(str(path), np.tile(levels, (5000, 1)), 48000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="downmix") as record:
        y, _ = io.load(path)
    assert len([w for w in record if issubclass(w.category, UserWarning)]) == 1
    k = 0.70710677
    left = (0.1 + k * 0.3 + k * 0.05) / (1 + 2 * k)
    right = (0.2 + k * 0.3 + k * 0.15) / (1 + 2 * k)  # LFE (0.9) is dropped
    assert y.shape == (5000, 2)
    np.testing.assert_allclose(y[0], [left, right], rtol=1e-5)
    with pytest.warns(UserWarning):
        mono, _ = io.load(path, channels=1)
    np.testing.assert_allclose(mono[0], [(left + right) / 2], rtol=1e-5)


# ffmpeg's default layout for each channel count and its speakers in file order, written out from
# `ffmpeg -layouts` (not read from tfsep.audio.channels.LAYOUTS, the code under test).
FFMPEG_DEFAULT_LAYOUTS = {
    3: ("2.1", "FL FR LFE"),
    4: ("4.0", "FL FR FC BC"),
    5: ("5.0", "FL FR FC BL BR"),
    6: ("5.1", "FL FR FC LFE BL BR"),
    7: ("6.1", "FL FR FC LFE BC SL SR"),
    8: ("7.1", "FL FR FC LFE BL BR SL SR"),
}


def test_the_written_out_layouts_are_ffmpegs():
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    table = subprocess.run(["ffmpeg", "-hide_banner", "-layouts"], capture_output=True, text=True).stdout
    known = dict(line.split()[:2] for line in table.splitlines() if len(line.split()) == 2)
    for name, speakers in FFMPEG_DEFAULT_LAYOUTS.values():
        assert known[name] == speakers.replace(" ", "+"), name


@pytest.mark.parametrize("n", [3, 4, 5, 7, 8])
def test_other_surround_layouts_fold_down_by_speaker(tmp_path, n):
    """The centre reaches both sides equally, the LFE neither, a left speaker only the left (7.1 and others)."""
    name, speakers = FFMPEG_DEFAULT_LAYOUTS[n]
    speakers = speakers.split()
    path = tmp_path / f"{name}.wav"
    for speaker in speakers:
        x = np.zeros((2000, n), np.float32)
        x[:, speakers.index(speaker)] = 0.5
        sf.write(str(path), x, 48000, subtype="FLOAT")
        with pytest.warns(UserWarning, match=f"taken as {name}"):
            y, _ = io.load(path)
        left, right = y[0]
        if speaker == "LFE":
            assert left == right == 0
        elif speaker in ("FC", "BC"):
            assert left == pytest.approx(right) and left > 0
        elif speaker in ("FL", "BL", "SL"):
            assert left > 0 and right == 0
        else:
            assert right > 0 and left == 0
    # Every speaker at full scale, but the LFE, stays within full scale.
    sf.write(str(path), np.full((2000, n), 0.999, np.float32), 48000, subtype="FLOAT")
    with pytest.warns(UserWarning):
        y, _ = io.load(path)
    np.testing.assert_allclose(y[0], [0.999, 0.999], rtol=1e-5)


def test_more_than_eight_channels_say_what_was_assumed(tmp_path):
    path = tmp_path / "ten.wav"
    sf.write(str(path), np.tile(np.arange(10, dtype=np.float32) / 20, (1000, 1)), 48000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="no known layout: even-numbered channels to the left"):
        y, _ = io.load(path)
    np.testing.assert_allclose(y[0], [np.mean([0, 2, 4, 6, 8]) / 20, np.mean([1, 3, 5, 7, 9]) / 20], rtol=1e-6)


def test_stereo_to_mono_is_the_mean(tmp_path):
    path = tmp_path / "st.wav"
    x = np.stack([np.full(100, 0.5), np.full(100, -0.25)], 1).astype(np.float32)
    sf.write(str(path), x, 44100, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no downmix warning for plain stereo
        y, _ = io.load(path, channels=1)
    assert y.shape == (100, 1)
    np.testing.assert_allclose(y[:, 0], 0.125)


def test_streaming_resample_is_seamless(tmp_path):
    path = tmp_path / "sine.wav"
    x = _sine(997, 44100, 1.0)
    sf.write(str(path), x, 44100, subtype="FLOAT")
    with io.open_audio(path, sample_rate=48000) as reader:
        blocks = list(reader.blocks(777))
    assert all(len(b) == 777 for b in blocks[:-1]) and 0 < len(blocks[-1]) <= 777
    streamed = np.concatenate(blocks)
    oneshot = resample(x, 44100, 48000)
    assert streamed.shape == oneshot.shape == (48000, 2)
    assert np.abs(streamed - oneshot).max() < 1e-4


def test_resample_one_shot_shape_and_identity():
    x = _sine(440, 44100, 0.1)
    np.testing.assert_array_equal(resample(x, 44100, 44100), x)
    y = resample(x, 44100, 22050)
    assert y.shape == (2205, 2) and y.dtype == np.float32


# ------------------------------------------------------------------ stems


def test_load_stems_falcon():
    stems, sr = io.load_stems(FALCON)
    assert list(stems) == ["mixture", "drums", "bass", "other", "vocals"]
    assert sr == 44100
    lengths = {len(w) for w in stems.values()}
    assert len(lengths) == 1
    assert 5.5 * sr < lengths.pop() < 6.5 * sr
    assert all(w.shape[1] == 2 and w.dtype == np.float32 for w in stems.values())
    mix = stems["mixture"]
    total = sum(stems[k] for k in ("drums", "bass", "other", "vocals"))
    residual = np.sum((mix - total) ** 2)
    assert residual > 0  # mixture is mastered, not a plain sum
    assert 10 * np.log10(np.sum(mix**2) / residual) > 5
    # open_audio on a stems file gives the mixture stream
    mixture, _ = io.load(FALCON)
    np.testing.assert_array_equal(mixture[: len(mix)], mix)


def test_load_stems_rejects_plain_audio(tmp_path):
    path = tmp_path / "plain.wav"
    sf.write(str(path), np.zeros((100, 2), np.float32), 44100)
    with pytest.raises(AudioError) as e:
        io.load_stems(path)
    _assert_one_line_error(e, path)


def test_audio_info(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(str(path), np.zeros((48000, 1), np.float32), 48000)
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.frames, info.backend) == (48000, 1, 48000, "soundfile")
    assert info.duration == pytest.approx(1.0)
    info = audio_info(FALCON)
    assert info.backend == "ffmpeg" and info.sample_rate == 44100 and info.channels == 2
    assert info.streams == 5 and info.duration == pytest.approx(6.08, abs=0.05)


# ------------------------------------------------------------------ bad input


def _bad_inputs(tmp_path):
    cases = {}
    cases["missing"] = tmp_path / "missing.wav"
    cases["directory"] = tmp_path / "adir.wav"
    cases["directory"].mkdir()
    cases["zero_bytes"] = tmp_path / "empty.wav"
    cases["zero_bytes"].write_bytes(b"")
    corrupt = tmp_path / "corrupt.wav"
    sf.write(str(corrupt), _sine(440, 44100, 0.5), 44100)
    data = bytearray(corrupt.read_bytes()[:5000])
    data[:16] = b"\xde\xad\xbe\xef" * 4
    corrupt.write_bytes(bytes(data))
    cases["corrupt_wav"] = corrupt
    header_only = tmp_path / "header_only.wav"
    sf.write(str(header_only), _sine(440, 44100, 0.5), 44100)
    header_only.write_bytes(header_only.read_bytes()[:44])
    cases["header_only_wav"] = header_only
    text = tmp_path / "notes.mp3"
    text.write_text("these are my lyrics, not an mp3\n" * 20)
    cases["text_as_mp3"] = text
    return cases


@pytest.mark.parametrize(
    "case", ["missing", "directory", "zero_bytes", "corrupt_wav", "header_only_wav", "text_as_mp3"]
)
def test_bad_input_raises_one_line_audio_error(tmp_path, case):
    path = _bad_inputs(tmp_path)[case]
    with pytest.raises(AudioError) as e:
        io.load(path)
    _assert_one_line_error(e, path)


def test_offset_past_end_raises(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(str(path), _sine(440, 44100, 1.0), 44100)
    with pytest.raises(AudioError, match="past the end") as e:
        io.open_audio(path, offset=2.0)
    _assert_one_line_error(e, path)
    with pytest.raises(AudioError, match="past the end") as e:
        io.open_audio(FALCON, offset=60.0)
    _assert_one_line_error(e, FALCON)


def test_nan_samples_are_rejected_with_their_time(tmp_path):
    path = tmp_path / "nan.wav"
    x = _sine(440, 8000, 2.0)
    x[12000, 1] = np.nan
    sf.write(str(path), x, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match="non-finite") as e:
        io.load(path)
    _assert_one_line_error(e, path)
    assert "1.500 s" in str(e.value)
    ok, _ = io.load(path, duration=1.0)  # the part before the NaN is fine
    assert ok.shape == (8000, 2)


def test_ffmpeg_missing_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(codecs.shutil, "which", lambda name: None)
    with pytest.raises(AudioError, match="ffmpeg not found: install it") as e:
        audio_writer.AudioWriter(tmp_path / "x.mp3", 44100, 2)
    _assert_one_line_error(e, tmp_path / "x.mp3")
    with pytest.raises(AudioError, match="not found") as e:
        io.load(FALCON)
    _assert_one_line_error(e, FALCON)


# ------------------------------------------------------------ reader process


def test_reader_close_kills_and_reaps_ffmpeg():
    reader = io.open_audio(FALCON)
    assert reader.backend == "ffmpeg"
    blocks = reader.blocks(1024)
    assert next(blocks).shape == (1024, 2)
    proc = reader._proc
    assert proc is not None and proc.poll() is None  # still decoding
    reader.close()
    assert proc.returncode is not None
    with pytest.raises(ChildProcessError):  # already reaped: no zombie left
        os.waitpid(proc.pid, os.WNOHANG)


# ------------------------------------------------------------------- writer


@pytest.mark.parametrize("codec", ["wav", "mp3"])
def test_writer_error_leaves_no_file_and_keeps_existing(tmp_path, codec):
    path = tmp_path / f"song.{codec}"
    path.write_bytes(b"previous result")
    with pytest.raises(RuntimeError, match="boom"):
        with audio_writer.AudioWriter(path, 44100, 2) as writer:
            writer.write(_sine(440, 44100, 0.1))
            partial = tmp_path / ".tfsep-partial"
            temps = [p for p in os.listdir(partial) if p.startswith(f".song.{codec}.tmp-{os.getpid()}-")]
            assert len(temps) == 1  # writing goes to a temp file in a hidden folder beside the target
            raise RuntimeError("boom")
    assert path.read_bytes() == b"previous result"
    assert sorted(os.listdir(tmp_path)) == [f"song.{codec}"]
    fresh = tmp_path / f"fresh.{codec}"
    with pytest.raises(RuntimeError):
        with audio_writer.AudioWriter(fresh, 44100, 2) as writer:
            writer.write(_sine(440, 44100, 0.1))
            raise RuntimeError("boom")
    assert not fresh.exists()
    assert sorted(os.listdir(tmp_path)) == [f"song.{codec}"]


def test_writer_commit_replaces_existing_and_abort_removes_temp(tmp_path):
    path = tmp_path / "out.wav"
    path.write_bytes(b"old")
    writer = audio_writer.AudioWriter(path, 8000, 1)
    writer.write(np.zeros(800, np.float32))
    assert path.read_bytes() == b"old"  # replaced only at commit
    writer.commit()
    assert sf.info(str(path)).frames == 800
    writer = audio_writer.AudioWriter(tmp_path / "other.wav", 8000, 1)
    writer.write(np.zeros(800, np.float32))
    writer.abort()
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]


def test_writer_rejects_bad_requests(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    bad_dir_target = blocker / "out.wav"  # parent is a file: unwritable
    with pytest.raises(OutputError) as e:
        audio_writer.AudioWriter(bad_dir_target, 44100, 2)
    _assert_one_line_error(e, bad_dir_target)
    for path, kwargs in [
        (tmp_path / "x.xyz", {}),
        (tmp_path / "x.flac", {"bit_depth": 32}),
        (tmp_path / "x.wav", {"bit_depth": 12}),
    ]:
        with pytest.raises(AudioError) as e:
            audio_writer.AudioWriter(path, 44100, 2, **kwargs)
        _assert_one_line_error(e, path)
    with audio_writer.AudioWriter(tmp_path / "y.wav", 44100, 2) as writer:
        with pytest.raises(AudioError, match="non-finite"):
            writer.write(np.full((10, 2), np.nan, np.float32))
        with pytest.raises(AudioError, match="does not match"):
            writer.write(np.zeros((10, 3), np.float32))
        writer.write(np.zeros((10, 2), np.float32))
    assert sorted(os.listdir(tmp_path)) == ["file.txt", "y.wav"]


# ------------------------------------------------------------------ clipping


def test_apply_clip_modes():
    x = np.array([[2.0, -3.0], [0.5, 0.25]], np.float32)
    np.testing.assert_array_equal(audio_writer.apply_clip(x, "clamp"), [[1.0, -1.0], [0.5, 0.25]])
    np.testing.assert_allclose(audio_writer.apply_clip(x, "rescale", 1 / 3), x / 3)
    np.testing.assert_array_equal(audio_writer.apply_clip(x, "none"), x)
    with pytest.raises(AudioError, match="clip mode"):
        audio_writer.apply_clip(x, "soft")


def test_save_rescale_keeps_shape_and_peak_below_one(tmp_path):
    x = _sine(440, 8000, 0.5, amp=2.0)
    path = tmp_path / "loud.wav"
    audio_writer.save(path, x, 8000, bit_depth=32, clip="rescale")
    y, _ = io.load(path)
    assert y.shape == x.shape
    assert np.abs(y).max() <= 1.0
    np.testing.assert_allclose(y, x / np.abs(x).max(), atol=1e-6)  # same shape of wave, scaled
    audio_writer.save(path, x, 8000, bit_depth=32, clip="clamp")
    y, _ = io.load(path)
    np.testing.assert_allclose(y, np.clip(x, -1, 1), atol=1e-7)
    audio_writer.save(path, x, 8000, bit_depth=32, clip="none")
    y, _ = io.load(path)
    np.testing.assert_allclose(y, x, atol=1e-7)  # float WAV keeps out-of-range values
    quiet = _sine(440, 8000, 0.5, amp=0.3)
    audio_writer.save(path, quiet, 8000, bit_depth=32, clip="rescale")
    y, _ = io.load(path)
    np.testing.assert_allclose(y, quiet, atol=1e-7)  # never boosted


def test_half_truncated_files_are_refused_not_silently_shortened(tmp_path):
    """Decoders stop quietly at the end of a cut file; separating half a song without a word would lose the rest."""
    m4a = tmp_path / "cut.stem.mp4"
    data = FALCON.read_bytes() if hasattr(FALCON, "read_bytes") else open(FALCON, "rb").read()
    m4a.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated") as e:
        io.load(m4a)
    _assert_one_line_error(e, m4a)

    full = tmp_path / "full.wav"
    sf.write(full, np.full((44100, 2), 0.1, np.float32), 44100)
    cut = tmp_path / "cut.wav"
    wav = full.read_bytes()
    cut.write_bytes(wav[: len(wav) // 2])
    with pytest.raises(AudioError, match="truncated") as e:
        io.load(cut)
    _assert_one_line_error(e, cut)
    # The intact beginning can still be read on purpose.
    x, _ = io.load(cut, duration=0.25)
    assert x.shape == (11025, 2)
