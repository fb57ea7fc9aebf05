"""Live separation (Separator.stream): fixed latency, sample alignment, block-size invariance, bounded state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SR, noise

from tfsep.errors import AudioError, TfsepError
from tfsep.separation import Separator

ZOO = Path(__file__).resolve().parents[1] / "configs" / "zoo"


def _run(stream, x, sizes):
    """Feed ``x`` in blocks cycling through ``sizes``; every call returns as many samples as it was given."""
    outs, i, j = [], 0, 0
    while i < len(x):
        block = x[i : i + sizes[j % len(sizes)]]
        out = stream.process(block)
        assert all(len(v) == len(block) for v in out.values())
        outs.append(out)
        i, j = i + len(block), j + 1
    last = stream.flush()
    assert all(len(v) == stream.latency_samples for v in last.values())
    outs.append(last)
    return {k: np.concatenate([o[k] for o in outs]) for k in stream.stems}


@pytest.fixture(scope="module")
def fast(tiny_model):
    return Separator(tiny_model, quality="fast")


@pytest.mark.parametrize("latency", [0.06, 0.1, 0.3])
def test_block_sizes_change_nothing(fast, latency):
    x = noise(SR + 777, seed=1)
    a = _run(fast.stream(latency=latency, sample_rate=SR), x, [4096])
    b = _run(fast.stream(latency=latency, sample_rate=SR), x, [1, 7, 513, 33, 10000])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_block_sizes_change_nothing_through_resampling(fast):
    x = noise(48000, seed=2)
    a = _run(fast.stream(latency=0.2, sample_rate=48000), x, [480])
    b = _run(fast.stream(latency=0.2, sample_rate=48000), x, [1, 4097, 64])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("rate,latency", [(SR, 0.07), (SR, 0.25), (48000, 0.15)])
def test_an_impulse_comes_out_latency_later_and_stems_sum_to_the_input(fast, rate, latency):
    x = np.zeros((rate, 2), np.float32)
    k = 20011
    x[k] = [1.0, -0.5]
    stream = fast.stream(latency=latency, sample_rate=rate)
    assert stream.latency_samples == round(latency * rate)
    y = _run(stream, x, [1000])
    total = sum(y.values())
    L = stream.latency_samples
    assert len(total) == len(x) + L
    assert np.argmax(np.abs(total[:, 0])) == k + L
    if rate == SR:  # the residual stem makes the sum exact; at 48 kHz it went through two resamplers
        np.testing.assert_allclose(total[L:], x, atol=1e-6)
        assert not total[:L].any()  # the stream's first `latency` samples are silence


def test_a_latency_of_a_whole_segment_gives_the_offline_stems(fast):
    x = noise(3 * fast.segment + 1234, seed=3)
    stream = fast.stream(latency=fast.segment / SR, sample_rate=SR)
    assert stream.plan.mode == "offline"
    y = _run(stream, x, [999])
    offline = fast.separate(x, SR)
    L = stream.latency_samples
    for k in offline:
        np.testing.assert_allclose(y[k][L:], offline[k], atol=1e-5)


def test_live_stems_are_close_to_offline_ones_and_keep_each_window_s_right_part(fast):
    """A live window keeps only a region `latency` before its right edge: the stems differ, not wildly."""
    x = noise(2 * SR, seed=4)
    stream = fast.stream(latency=0.1, sample_rate=SR)
    assert stream.plan.mode == "live"
    least, most = stream.plan.lookahead
    assert 0 < least < most == round(0.1 * SR)
    y = _run(stream, x, [2048])
    offline = fast.separate(x, SR)
    L = stream.latency_samples
    for k in offline:
        err = np.sqrt(np.mean((y[k][L:] - offline[k]) ** 2)) / np.sqrt(np.mean(offline[k] ** 2))
        assert 0 < err < 0.5


def test_channels_and_layouts(fast):
    mono = noise(SR // 2, channels=1, seed=5)[:, 0]
    y = _run(fast.stream(latency=0.1), mono, [1000])  # 1-D in, 1-D out; rate defaults to the model's
    assert all(v.ndim == 1 for v in y.values())
    six = noise(SR // 2, channels=6, seed=6)
    y = _run(fast.stream(latency=0.1), six, [1000])
    assert all(v.shape[1] == 2 for v in y.values())  # as Separator.separate: multichannel gives stereo stems


def test_generator_form(fast):
    x = noise(SR // 2, seed=7)
    stream = fast.stream(latency=0.1)
    blocks = [x[i : i + 500] for i in range(0, len(x), 500)]
    outs = list(stream.blocks(iter(blocks)))
    assert len(outs) == len(blocks) + 1
    joined = {k: np.concatenate([o[k] for o in outs]) for k in stream.stems}
    expected = _run(fast.stream(latency=0.1), x, [500])
    for k in joined:
        np.testing.assert_array_equal(joined[k], expected[k])


def test_state_stays_bounded_over_a_long_stream(fast):
    stream = fast.stream(latency=0.1)
    block = noise(4096, seed=8)
    sizes = []
    for _ in range(150):  # 14 s
        stream.process(block)
        core = stream._core
        sizes.append((len(core.input) + sum(len(t) for t in core.tail), stream._ready, len(stream._fifo)))
    held, ready, pieces = np.max(sizes, axis=0)
    assert held <= stream.plan.window + len(block)
    assert ready <= stream.latency_samples + len(block)
    assert pieces <= 8


@pytest.mark.parametrize(
    "block,message",
    [
        (np.zeros((100, 2), np.int16), "floating point"),
        (np.zeros((10, 2, 2), np.float32), "shape"),
        (np.array([[0.0, 0.0]] * 3 + [[0.0, np.nan]] * 2, np.float32), "NaN or Inf samples (first at sample 5 "),
    ],
)
def test_bad_blocks_get_one_clear_error(fast, block, message):
    stream = fast.stream(latency=0.1)
    stream.process(np.zeros((2, 2), np.float32))
    with pytest.raises(AudioError, match=message.replace("(", r"\(")):
        stream.process(block)


def test_channels_cannot_change_mid_stream_and_a_flushed_stream_is_done(fast):
    stream = fast.stream(latency=0.1)
    stream.process(np.zeros((10, 2), np.float32))
    with pytest.raises(AudioError, match="channels cannot change mid-stream"):
        stream.process(np.zeros((10, 1), np.float32))
    stream.flush()
    with pytest.raises(TfsepError, match="flushed"):
        stream.process(np.zeros((10, 2), np.float32))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"latency": 0.01}, "latency must be at least 0.05 s"),
        ({"latency": "soon"}, "latency must be a number"),
        ({"latency": float("nan")}, "positive number"),
        ({"latency": 500}, "at most 60 s"),
        ({"latency": 0.5, "window": "long"}, "window must be a number"),
        ({"latency": 0.5, "hop": -1}, "hop must be a positive number"),
        ({"latency": 0.1, "sample_rate": 48000}, "at least 0.11 s for a 48000 Hz stream"),
        ({"latency": 0.5, "sample_rate": 10}, "not an audio rate"),
    ],
)
def test_bad_stream_options(fast, kwargs, message):
    with pytest.raises(TfsepError, match=message):
        fast.stream(**kwargs)


def test_four_stems_and_a_waveform_model(tiny4_model_dir):
    from tfsep import models
    from tfsep.config import load_config

    four = Separator(str(tiny4_model_dir), quality="fast")
    x = noise(SR, seed=9)
    y = _run(four.stream(latency=0.2), x, [3000])
    assert list(y) == ["vocals", "drums", "bass", "other"]
    L = round(0.2 * SR)
    np.testing.assert_allclose(sum(y.values())[L:], x, atol=1e-5)  # `other` is the residual
    wave = Separator(models.from_config(load_config(ZOO / "wave_unet_tiny.json")))
    stream = wave.stream(latency=0.2)
    y = _run(stream, x, [3000])
    assert all(len(v) == len(x) + stream.latency_samples for v in y.values())
