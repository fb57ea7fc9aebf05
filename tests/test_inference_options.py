"""What separation gives a user beyond Spleeter's raw output, on a tiny model and real music.

Right from the first sample (no fade-in), at the input's rate and channel
layout, stems that sum to the mixture when asked, test-time augmentation
that keeps that sum, and no silent gain change in the files.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import SR, write_wav

from tfsep.cli import main
from tfsep.separation import Separator

# Spleeter's ratio masks sum to one over the stems; with the ``average``
# extension they do above F too, so the plain stems sum to the mixture
# exactly where every STFT frame sees the signal: a test of the edges alone.
PLAIN = {"mask_extension": "average", "residual": "none", "wiener_iterations": 0, "shifts": 0, "channel_swap": False}


def block_ratios(stems: dict, mixture: np.ndarray, block: int = 512, count: int = 5) -> list[float]:
    """RMS of the sum of the stems over RMS of the mixture, in the first ``count`` blocks."""
    total = sum(stems.values())
    return [
        float(np.sqrt(np.mean(total[i : i + block] ** 2) / np.mean(mixture[i : i + block] ** 2)))
        for i in range(0, block * count, block)
    ]


def test_stems_sum_to_the_mixture_from_the_first_sample(tiny_model, music):
    sep = Separator(tiny_model, **PLAIN)
    x = music[SR // 2 :]  # starts in the middle of the music
    out = sep.separate(x, SR)
    assert min(block_ratios(out, x)) >= 0.95
    # ... and to the last one.
    tail = {k: v[::-1] for k, v in out.items()}
    assert min(block_ratios(tail, x[::-1])) >= 0.95
    np.testing.assert_allclose(sum(out.values()), x, atol=2e-4)


def test_residual_makes_the_stems_sum_to_the_mixture(tiny4_model_dir, music):
    x = music[: SR * 2]
    # zeros extension: the masked stems miss everything above F; the residual stem takes it.
    masked = Separator(tiny4_model_dir, mask_extension="zeros", residual="none").separate(x, SR)
    res = Separator(tiny4_model_dir, mask_extension="zeros", residual="auto").separate(x, SR)
    err_masked = np.sqrt(np.mean((sum(masked.values()) - x) ** 2))
    err_res = np.sqrt(np.mean((sum(res.values()) - x) ** 2))
    assert err_masked > 1e-3 > 1e-5 > err_res
    for stem in ("vocals", "drums", "bass"):  # only "other" changes
        np.testing.assert_allclose(res[stem], masked[stem], atol=1e-6)
    with pytest.raises(Exception, match="residual stem 'piano'"):
        Separator(tiny4_model_dir, residual="piano")


@pytest.mark.parametrize("shifts, swap", [(2, False), (0, True), (1, True)])
def test_test_time_augmentation_averages_and_keeps_the_sum(tiny_model, music, shifts, swap):
    x = music[: SR * 2]
    base = Separator(tiny_model, **PLAIN).separate(x, SR)
    opts = dict(PLAIN, shifts=shifts, channel_swap=swap)
    out = Separator(tiny_model, **opts).separate(x, SR)
    assert not np.allclose(out["vocals"], base["vocals"], atol=1e-4)  # the passes did something
    np.testing.assert_allclose(sum(out.values()), x, atol=2e-4)  # linear: the sum is still the mixture
    # Channel swap is symmetric: swapping the input swaps the output.
    if swap and not shifts:
        mirrored = Separator(tiny_model, **opts).separate(x[:, ::-1], SR)
        np.testing.assert_allclose(mirrored["vocals"][:, ::-1], out["vocals"], atol=1e-5)


def test_quality_presets_resolve_and_refuse_unknown(tiny_model):
    best = Separator(tiny_model, quality="best")
    assert best.wiener_iterations >= 1 and (best.shifts or best.channel_swap)
    fast = Separator(tiny_model, quality="fast")
    assert fast.wiener_iterations == 0 and fast.shifts == 0 and not fast.channel_swap
    assert Separator(tiny_model, quality="best", wiener_iterations=0).wiener_iterations == 0  # an option wins
    with pytest.raises(Exception, match="unknown quality 'max'"):
        Separator(tiny_model, quality="max")


def _cli(args):
    return CliRunner().invoke(main, ["separate", "-q", "--json"] + [str(a) for a in args])


@pytest.mark.parametrize("rate, channels", [(22050, 2), (48000, 1), (96000, 2)])
def test_files_come_back_at_the_input_rate_and_layout(tiny_model_dir, music, tmp_path, rate, channels):
    import soxr

    x = soxr.resample(music[: SR * 2], SR, rate).astype(np.float32)
    if channels == 1:
        x = x.mean(axis=1, keepdims=True)
    song = write_wav(tmp_path / "song.wav", x, sr=rate)
    res = _cli([song, "-m", tiny_model_dir, "-o", tmp_path / "out", "--bit-depth", "32", "--residual", "auto"])
    assert res.exit_code == 0, res.output
    outputs = json.loads(res.stdout)["results"][0]["outputs"]
    total = 0
    for path in outputs.values():
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames) == (rate, channels, len(x))
        total = total + sf.read(path, dtype="float32", always_2d=True)[0]
    # Sample-aligned: the stems add up to the input, sample for sample (soxr's round trip aside).
    err_db = 20 * np.log10(np.sqrt(np.mean((total - x) ** 2)) / np.sqrt(np.mean(x**2)))
    assert err_db < -40
    asked = _cli([song, "-m", tiny_model_dir, "-o", tmp_path / "out2", "--sample-rate", 16000])
    assert asked.exit_code == 0, asked.output
    for path in json.loads(asked.stdout)["results"][0]["outputs"].values():
        assert sf.info(path).samplerate == 16000


def test_float_output_keeps_the_gain_and_integer_output_says_when_it_changes(tiny_model_dir, music, tmp_path):
    loud = (music[: SR * 2] / np.max(np.abs(music[: SR * 2])) * 4.0).astype(np.float32)  # peaks at 4x full scale
    song = write_wav(tmp_path / "loud.wav", loud)
    opts = ["-m", tiny_model_dir, "--residual", "auto", "--overwrite"]

    res = _cli([song, "-o", tmp_path / "f32", "--bit-depth", "32"] + opts)  # default --clip rescale
    summary = json.loads(res.stdout)["results"][0]
    assert summary["scale"] == 1.0 and summary["notes"] == [] and "note" not in res.stderr
    total = sum(sf.read(p, dtype="float32")[0] for p in summary["outputs"].values())
    np.testing.assert_allclose(total, loud, atol=1e-3)  # float WAV: the stems still sum to the song

    res = _cli([song, "-o", tmp_path / "i16"] + opts)
    summary = json.loads(res.stdout)["results"][0]
    assert summary["scale"] < 0.5 and summary["gain_db"] < -6
    notes = [line for line in res.stderr.splitlines() if line.startswith("tfsep: note:")]
    assert len(notes) == 1 and "dB" in notes[0] and notes[0] == "tfsep: note: " + f"{song}: " + summary["notes"][0]

    res = _cli([song, "-o", tmp_path / "none", "--clip", "none"] + opts)
    summary = json.loads(res.stdout)["results"][0]
    assert summary["scale"] == 1.0 and summary["clipped"] > 0
    assert any("beyond full scale" in line for line in res.stderr.splitlines() if line.startswith("tfsep: note:"))
