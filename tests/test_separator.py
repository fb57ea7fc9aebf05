"""Separator: exact lengths, shapes, no seams at segment joins, streaming, statelessness, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SR, noise

from tfsep.errors import AudioError, TfsepError
from tfsep.separation import Separator


def _stack(stems: dict) -> np.ndarray:
    return np.stack(list(stems.values()))


# -- lengths and shapes ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["1", "100", "seg-1", "seg", "seg+1", "3.7seg"])
def test_output_length_equals_input_length(separator, kind):
    L = separator.segment
    n = {"1": 1, "100": 100, "seg-1": L - 1, "seg": L, "seg+1": L + 1, "3.7seg": int(3.7 * L)}[kind]
    x = noise(n, seed=n)
    out = separator.separate(x, SR)
    assert list(out) == ["vocals", "accompaniment"]
    for stem, y in out.items():
        assert y.shape == (n, 2), stem
        assert y.dtype == np.float32
        assert np.all(np.isfinite(y))


def test_mono_input_gives_mono_output(separator):
    x = noise(5000)[:, 0]
    out = separator.separate(x, SR)
    for y in out.values():
        assert y.shape == (5000,)


def test_mono_column_input_stays_one_channel(separator):
    x = noise(5000)[:, :1]
    out = separator.separate(x, SR)
    for y in out.values():
        assert y.shape == (5000, 1)


def test_stereo_stays_stereo_and_channels_are_separated_independently(separator, music):
    # Left and right carry different music: stems must keep them apart.
    x = np.stack([music[: 2 * separator.segment, 0], music[SR : SR + 2 * separator.segment, 1]], axis=1)
    out = separator.separate(x, SR)
    for y in out.values():
        assert y.shape == x.shape
        assert not np.allclose(y[:, 0], y[:, 1], atol=1e-3)


def test_stems_are_not_trivial(separator, music):
    """Stems differ from each other and are not silent (guards the tests below against a no-op)."""
    x = music[: 2 * separator.segment]
    out = separator.separate(x, SR)
    v, a = out["vocals"], out["accompaniment"]
    assert np.abs(v).max() > 1e-3 and np.abs(a).max() > 1e-3
    assert not np.allclose(v, a, atol=1e-3)


# -- segment joins -------------------------------------------------------------------


def _join_jumps(sep, x):
    """|y[t] - y[t-1]| (max over stems and channels) at segment joins, and everywhere away from them."""
    y = _stack(sep.separate(x, SR))
    d = np.abs(np.diff(y, axis=1)).max(axis=(0, 2))  # d[t-1] = jump into sample t
    # Segments start every hop samples of the padded track (the plan's zeros come first).
    joins = np.arange(sep.hop, len(x) + sep.plan.padding, sep.hop) - sep.plan.padding
    joins = joins[joins > 0]
    # A join that falls on a transient of the music itself (the mixture jumps too) says nothing about seams.
    mix_jump = np.abs(np.diff(x, axis=0)).max(axis=1)
    joins = joins[mix_jump[joins - 1] < np.percentile(mix_jump, 99)]
    away = np.ones(len(d), dtype=bool)
    for j in joins:
        away[max(0, j - 64) : j + 64] = False
    return d[joins - 1], d[away]


def test_no_seam_at_segment_joins(tiny_model, music):
    """With the crossfade, joins look like any other sample; without it (overlap 0) they jump.

    The STFT of a segment sees its first samples through one window tail only,
    so a segment's output starts near zero: a hard join is a step.
    """
    x = music[: int(1.5 * SR)]  # ~10 joins of the tiny model
    at_join, elsewhere = _join_jumps(Separator(tiny_model, overlap=0.25), x)
    assert len(at_join) >= 8
    assert np.median(at_join) < 2 * np.median(elsewhere)
    assert at_join.max() <= np.percentile(elsewhere, 99.5)

    # The same measurement sees the seams of hard joins: the test can fail.
    at_join0, elsewhere0 = _join_jumps(Separator(tiny_model, overlap=0), x)
    assert np.median(at_join0) > 4 * np.median(elsewhere0)


def _padding(model):
    return Separator(model).plan.padding


@pytest.mark.parametrize("overlap", [0.125, 0.25, 0.5])
def test_crossfade_is_gain_neutral(tiny_model, music, overlap):
    """Across every join, the crossfade's weights sum to one: a run that returns its segment gives the input back.

    Any gain dip or bump where segments overlap (a weight sum other than one)
    would show at the joins, which this input crosses several times.
    """
    from tfsep.separation.overlap_add import overlap_add_stream

    sep = Separator(tiny_model, overlap=overlap)
    x = music[: int(3.3 * sep.segment)]

    def identity(segments):
        return [np.stack([seg, 2 * seg]) for seg in segments]

    out = np.concatenate(
        list(
            overlap_add_stream(
                [x[:5000], x[5000:]],
                identity,
                segment=sep.segment,
                hop=sep.hop,
                window=sep.plan.window,
                n_stems=2,
                channels=2,
                padding=sep.plan.padding,
            )
        ),
        axis=1,
    )
    assert sep.hop < sep.segment and len(x) > 3 * sep.hop  # joins with overlap are crossed
    np.testing.assert_allclose(out[0], x, atol=1e-6)
    np.testing.assert_allclose(out[1], 2 * x, atol=1e-6)


# -- streaming and state ---------------------------------------------------------


def _blocks(x, sizes):
    i, k = 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        yield x[i : i + n]
        i += n
        k += 1


@pytest.mark.parametrize("sizes", [[1000], [1, 7, 4999, 12345], [8191, 8193], [1 << 20]])
def test_streaming_in_odd_blocks_equals_whole_input(separator, music, sizes):
    x = music[: int(2.3 * separator.segment)]
    whole = _stack(separator.separate(x, SR))
    streamed = np.concatenate(list(separator.iter_separate(_blocks(x, sizes))), axis=1)
    assert streamed.shape == whole.shape
    np.testing.assert_array_equal(streamed, whole)


def test_streaming_reports_progress(separator, music):
    x = music[: 3 * separator.segment]
    done = []
    out = list(separator.iter_separate(_blocks(x, [5000]), on_segment=done.append))
    assert done == sorted(done) and done[-1] == len(x)
    assert sum(b.shape[1] for b in out) == len(x)


def test_streaming_empty_input_yields_nothing(separator):
    assert list(separator.iter_separate(iter([]))) == []


def test_stateless_between_tracks(separator, music):
    a = music[: separator.segment + 3000]
    b = music[SR : SR + 2 * separator.segment]
    ya1 = separator.separate(a, SR)
    yb = separator.separate(b, SR)
    ya2 = separator.separate(a, SR)
    for stem in ya1:
        np.testing.assert_array_equal(ya1[stem], ya2[stem])
        n = len(a)
        assert not np.allclose(ya1[stem][:n], yb[stem][:n], atol=1e-3)


@pytest.mark.parametrize("n_segments", [1, 4.5])
def test_batch_size_does_not_change_output(tiny_model, music, n_segments):
    x = music[: int(n_segments * 8192)]
    y1 = _stack(Separator(tiny_model, batch_size=1, precision="float32").separate(x, SR))
    y3 = _stack(Separator(tiny_model, batch_size=3, precision="float32").separate(x, SR))
    np.testing.assert_allclose(y1, y3, atol=1e-5)


# -- unusual input -------------------------------------------------------------------


def test_silent_input_gives_silent_finite_output(separator):
    out = separator.separate(np.zeros((20000, 2), np.float32), SR)
    for y in out.values():
        assert np.all(np.isfinite(y))
        assert np.abs(y).max() < 1e-6


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_rejected(separator, bad):
    x = noise(3000)
    x[1234, 1] = bad
    with pytest.raises(AudioError, match="NaN or Inf.*1234"):
        separator.separate(x, SR)


@pytest.mark.parametrize("shape", [(0, 2), (0,)])
def test_empty_input_is_rejected(separator, shape):
    with pytest.raises(AudioError, match="empty"):
        separator.separate(np.zeros(shape, np.float32), SR)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint8, bool])
def test_non_float_input_is_rejected(separator, dtype):
    with pytest.raises(AudioError, match="floating point"):
        separator.separate(np.zeros((1000, 2), dtype=dtype), SR)


def test_bad_shape_and_rate_are_rejected(separator):
    with pytest.raises(AudioError):
        separator.separate(np.zeros((10, 2, 2), np.float32), SR)
    with pytest.raises(AudioError, match="sample_rate"):
        separator.separate(np.zeros((100, 2), np.float32), 0)


def test_float64_input_is_accepted(separator):
    out = separator.separate(noise(3000).astype(np.float64), SR)
    assert all(y.dtype == np.float32 and y.shape == (3000, 2) for y in out.values())


@pytest.mark.parametrize("rate,channels", [(8000, 1), (96000, 2), (22050, 2)])
def test_other_sample_rates_come_back_at_the_input_rate(separator, music, rate, channels):
    import soxr

    seconds = 0.4
    x = soxr.resample(music[: int(seconds * SR)], SR, rate).astype(np.float32)
    if channels == 1:
        x = x.mean(axis=1)
    out = separator.separate(x, rate)
    for y in out.values():
        assert y.shape == x.shape
        assert np.all(np.isfinite(y))
    # Content survives the round trip: stems are not silent.
    assert max(np.abs(y).max() for y in out.values()) > 1e-3


def test_more_channels_than_the_model_are_downmixed_with_a_warning(separator):
    x = noise(3000, channels=6)
    with pytest.warns(UserWarning, match="6 channels"):
        out = separator.separate(x, SR)
    for y in out.values():
        assert y.shape == (3000, 2)


# -- stems and options ------------------------------------------------------------


def test_stems_subset(tiny_model, music):
    x = music[:20000]
    full = Separator(tiny_model).separate(x, SR)
    only = Separator(tiny_model, stems=["vocals"]).separate(x, SR)
    assert list(only) == ["vocals"]
    np.testing.assert_allclose(only["vocals"], full["vocals"], atol=1e-6)


def test_stems_keep_model_order(tiny4_model_dir):
    sep = Separator(str(tiny4_model_dir), stems=["other", "vocals"])
    out = sep.separate(noise(5000), SR)
    assert list(out) == ["vocals", "other"]


def test_unknown_stem_names_valid_stems(tiny_model):
    with pytest.raises(TfsepError) as exc:
        Separator(tiny_model, stems=["vocals", "piano"])
    msg = str(exc.value)
    assert "piano" in msg and "vocals" in msg and "accompaniment" in msg


def test_four_stem_softmax_model_separates(tiny4_model_dir, music):
    sep = Separator(str(tiny4_model_dir))
    x = music[:20000]
    out = sep.separate(x, SR)
    assert list(out) == ["vocals", "drums", "bass", "other"]
    assert all(y.shape == x.shape for y in out.values())


@pytest.mark.parametrize("overlap", [0.25, 0.5])
def test_softmax_stems_sum_to_the_mixture_across_joins(music, overlap):
    """Masks that sum to one give stems that sum to the mixture, at segment joins too.

    Only the first ``frame_length - frame_step`` samples of the track may
    differ (the STFT sees them through one window tail).  Guards against the
    crossfade weighting the attenuated start of each segment (a gain dip at
    every join).
    """
    from conftest import TINY4_CONFIG

    from tfsep import models

    cfg = dict(TINY4_CONFIG, mask_extension="average")  # masks of every bin sum to one
    # Every stem from its own mask: a residual stem would make the sum hold whatever the joins do.
    sep = Separator(models.from_config(cfg), overlap=overlap, residual="none", wiener_iterations=0)
    x = music[: int(4.5 * sep.segment)]
    total = sum(sep.separate(x, SR).values())
    edge = cfg["frame_length"] - cfg["frame_step"]
    err = np.abs(total - x)[edge:].max()
    assert err < 1e-3 * np.abs(x).max()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"overlap": 0.6}, "overlap"),
        ({"overlap": -0.1}, "overlap"),
        ({"segment": 10.0}, "segment"),
        ({"segment": 0.001}, "segment"),
        ({"batch_size": -1}, "batch_size"),
    ],
)
def test_bad_options_are_rejected(tiny_model, kwargs, match):
    with pytest.raises(TfsepError, match=match):
        Separator(tiny_model, **kwargs)


def test_shorter_segment_option(tiny_model, music):
    sep = Separator(tiny_model, segment=4096 / SR)
    assert sep.segment == 4096
    x = music[:20000]
    out = sep.separate(x, SR)
    assert all(y.shape == x.shape for y in out.values())


def test_channels_first_arrays_are_refused_or_taken_explicitly(separator, music):
    """librosa/torchaudio's (channels, samples) is never read as thousands of channels of two samples."""
    x = music[: SR // 2]
    with pytest.raises(AudioError, match="channels_first=True"):
        separator.separate(x.T, SR)
    stems = separator.separate(x.T, SR, channels_first=True)
    ref = separator.separate(x, SR)
    for name, y in stems.items():
        assert y.shape == x.T.shape
        np.testing.assert_array_equal(y, ref[name].T)
    with pytest.raises(AudioError, match="channels, samples"):
        separator.separate(x[:, 0], SR, channels_first=True)
