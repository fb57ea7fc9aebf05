"""Training: loss goes down, kill-and-resume is exact, the run dir is a model, clear errors.

Tiny U-Net (512/128 STFT, T 64, F 128, filters [4, 8, 8]) on a few seconds of
generated tones and noise; everything stays in this pytest process.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

SR = 44100


def make_tone_dataset(root, n_tracks=4, seconds=3.0):
    """Tracks whose vocals are pulsed sines and accompaniment is a low sine plus noise bursts."""
    for t in range(n_tracks):
        rng = np.random.default_rng(t)
        n = int(SR * seconds)
        tt = np.arange(n) / SR
        vocals = 0.2 * np.sin(2 * np.pi * rng.uniform(300, 900) * tt) * (np.sin(2 * np.pi * rng.uniform(1, 3) * tt) > 0)
        acc = 0.1 * rng.standard_normal(n) * (np.sin(2 * np.pi * 2 * tt) > 0.5) + 0.2 * np.sin(
            2 * np.pi * rng.uniform(50, 110) * tt
        )
        d = root / f"track{t}"
        d.mkdir(parents=True)
        sf.write(d / "vocals.wav", np.stack([vocals, 0.8 * vocals], 1).astype(np.float32), SR, subtype="FLOAT")
        sf.write(d / "accompaniment.wav", np.stack([acc, acc], 1).astype(np.float32), SR, subtype="FLOAT")
    return root


def train_config(data_root, **training):
    cfg = {
        "name": "tiny-train",
        "stems": ["vocals", "accompaniment"],
        "frame_length": 512,
        "frame_step": 128,
        "T": 64,
        "F": 128,
        "model": {"type": "unet", "params": {"conv_n_filters": [4, 8, 8], "input_scale": "log"}},
        "training": {
            "batch_size": 4,
            "learning_rate": 0.003,
            "train_max_steps": 10,
            "train_path": str(data_root),
            "validation_tracks": 1,
            "validate_every": 5,
            "checkpoint_every": 4,
            "log_every": 2,
            "validation_seconds": 1.0,
            "audio_summaries": 1,
            "random_seed": 7,
        },
    }
    cfg["training"].update(training)
    return cfg


@pytest.fixture(scope="module")
def tone_data(tmp_path_factory):
    return make_tone_dataset(tmp_path_factory.mktemp("tones"))


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def _fixed_batch_loss(trainer, indices=range(8)):
    import tensorflow as tf

    from tfsep.training.tasks import stem_weights

    mix, stems = zip(*(trainer.sampler.example(i) for i in indices))
    per_ex = trainer.task.loss(
        trainer.model,
        tf.constant(np.stack(mix)),
        tf.constant(np.stack(stems)),
        tf.constant(stem_weights(trainer.config)),
        training=False,
    )
    return float(tf.reduce_mean(per_ex))


def test_few_steps_lower_the_loss(tone_data, tmp_path):
    from tfsep.pretrained import load_model_dir
    from tfsep.training.loop import Trainer

    cfg = train_config(tone_data, train_max_steps=30, validate_every=30)
    cfg["model"]["params"]["dropout"] = 0.0
    # The trainer is whole once constructed: its own model, task and sampler give the loss before training.
    trainer = Trainer(cfg, tmp_path / "run", quiet=True)
    before = _fixed_batch_loss(trainer, range(1000, 1008))
    summary = trainer.run()
    after = _fixed_batch_loss(trainer, range(1000, 1008))
    assert summary["steps"] == 30
    assert after < 0.8 * before, (before, after)
    # The run directory is a tfsep model directory.
    loaded = load_model_dir(tmp_path / "run")
    assert loaded.stems == ["vocals", "accompaniment"]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history[-1]["step"] == 30 and np.isfinite(history[-1]["sdr"])
    assert list((tmp_path / "run" / "logs").iterdir())


class HardKill(Exception):
    """Stands for SIGKILL: nothing is saved on the way out."""


def _interrupt_at(k, exc):
    def hook(step, loss):
        if step == k:
            raise exc

    return hook


def test_kill_and_resume_equals_uninterrupted(tone_data, tmp_path):
    """Ctrl-C at step 3 (checkpoint at exit), resume, SIGKILL-like stop at step 7 (only the
    step-4 checkpoint survives), resume to 10: the weights equal an uninterrupted run's."""
    from tfsep.training.loop import Trainer

    cfg = train_config(tone_data, lr_schedule="plateau", lr_plateau_patience=1, augment_remix=0.5)
    full = Trainer(copy.deepcopy(cfg), tmp_path / "full", quiet=True)
    full.run()
    expected = _weights(full.model)

    run = tmp_path / "split"
    first = Trainer(copy.deepcopy(cfg), run, quiet=True, hooks=[_interrupt_at(3, KeyboardInterrupt())])
    assert first.run()["stop_reason"] == "interrupted"
    second = Trainer(copy.deepcopy(cfg), run, resume=True, quiet=True, hooks=[_interrupt_at(7, HardKill())])
    with pytest.raises(HardKill):
        second.run()
    third = Trainer(copy.deepcopy(cfg), run, resume=True, quiet=True)
    summary = third.run()
    assert summary["steps"] == 10
    got = _weights(third.model)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert [h["step"] for h in json.loads((run / "history.json").read_text())] == [5, 10]


def test_sampler_is_deterministic_and_mixture_is_sum(tone_data):
    from tfsep.config import load_config
    from tfsep.data.pipeline import ExcerptSampler, StemCache, open_datasets

    cfg = load_config(train_config(tone_data))
    train, valid = open_datasets(cfg)
    assert len(train) == 3 and len(valid) == 1
    sampler = ExcerptSampler(StemCache(train, cfg["stems"], 2), 64 * 128, cfg)
    m1, s1 = sampler.example(3)
    m2, s2 = sampler.example(3)
    m3, _ = sampler.example(4)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    assert not np.array_equal(m1, m3)
    assert s1.shape == (2, 64 * 128, 2)
    np.testing.assert_allclose(m1, s1.sum(0), atol=1e-6)


def test_stem_pool_recordings_land_in_their_stem_only(tone_data, tmp_path):
    """Real recorded takes over synthetic songs: added to the named stem, at the drawn level, and seeded."""
    from tfsep.config import load_config
    from tfsep.data.pipeline import ExcerptSampler, StemCache, open_datasets, open_stem_pools

    n = SR * 4
    tt = np.arange(n) / SR
    take = (0.3 * np.sin(2 * np.pi * 5000 * tt) * (tt % 1.0 < 0.5)).astype(np.float32)  # plays half the time
    pool_dir = tmp_path / "takes"
    pool_dir.mkdir()
    sf.write(pool_dir / "take.ogg", np.stack([take, take], 1), SR)
    plain = {"augment_gain": None, "augment_channel_swap": False}
    cfg = load_config(train_config(tone_data, **plain))
    pooled_cfg = load_config(
        train_config(
            tone_data,
            stem_pools={"vocals": str(pool_dir)},
            stem_pool_probability=1.0,
            stem_pool_level_db=[-6, -6],
            **plain,
        )
    )
    train, _ = open_datasets(cfg)
    pools = {s: StemCache(t, [s], 2) for s, t in open_stem_pools(pooled_cfg).items()}
    assert list(pools) == ["vocals"] and pools["vocals"].arrays[0].shape == (1, n, 2)
    cache = StemCache(train, cfg["stems"], 2)
    length = 64 * 128
    base = ExcerptSampler(cache, length, cfg)
    pooled = ExcerptSampler(cache, length, pooled_cfg, pools)
    for i in range(6):
        _, s0 = base.example(i)
        mix, s1 = pooled.example(i)
        np.testing.assert_array_equal(s1[1], s0[1])  # accompaniment untouched
        added = s1[0] - s0[0]
        assert np.sqrt(np.mean(added**2)) > 0  # an excerpt that plays was found
        spectrum = np.abs(np.fft.rfft(added[:, 0]))
        assert abs(np.argmax(spectrum) * SR / length - 5000) < 20  # it is the take
        level = 20 * np.log10(np.sqrt(np.mean(added**2)) / np.sqrt(np.mean(s0.sum(0) ** 2)))
        assert level == pytest.approx(-6, abs=0.01)
        np.testing.assert_allclose(mix, s1.sum(0), atol=1e-6)
        np.testing.assert_array_equal(pooled.example(i)[1], s1)  # a pure function of (seed, index)
    # A loop shorter than the excerpt repeats through it.
    period = 3000  # samples: shorter than the 8192-sample excerpt
    loop = (0.2 * np.sin(2 * np.pi * 441 * tt[:period]) * np.linspace(0, 1, period)).astype(np.float32)
    sf.write(pool_dir / "loop.wav", np.stack([loop, loop], 1), SR)
    loop_cfg = load_config(
        train_config(tone_data, stem_pools={"vocals": str(pool_dir / "loop.wav")}, stem_pool_probability=1.0, **plain)
    )
    looped = ExcerptSampler(
        cache, length, loop_cfg, {"vocals": StemCache(open_stem_pools(loop_cfg)["vocals"], ["vocals"], 2)}
    )
    added = looped.example(0)[1][0] - base.example(0)[1][0]
    np.testing.assert_allclose(added[period:], added[:-period], atol=1e-6)
    assert np.abs(added[-period:]).max() > 0  # no silent tail after the recording ends
    never = ExcerptSampler(
        cache,
        length,
        load_config(train_config(tone_data, stem_pools={"vocals": str(pool_dir)}, stem_pool_probability=0.0, **plain)),
        pools,
    )
    np.testing.assert_array_equal(never.example(2)[1], base.example(2)[1])


def test_losses_are_zero_for_perfect_estimates_and_weighted():
    import tensorflow as tf

    from tfsep.training import losses

    rng = np.random.default_rng(0)
    ref = tf.constant(rng.standard_normal((2, 3, 4096, 2)).astype(np.float32))
    w = tf.constant([1.0, 1.0, 1.0])
    assert float(tf.reduce_max(losses.l1_mrstft(ref, ref, w))) < 1e-5
    noisy = ref + 0.1 * tf.constant(rng.standard_normal((2, 3, 4096, 2)).astype(np.float32))
    assert float(tf.reduce_min(losses.l1_mrstft(noisy, ref, w))) > 0
    sdr = -losses.neg_sdr(noisy, ref, w) / 3
    np.testing.assert_allclose(sdr.numpy(), 20.0, atol=0.5)  # noise 20 dB below the signal
    only_first = losses.neg_sdr(noisy, ref, tf.constant([1.0, 0.0, 0.0]))
    assert float(only_first[0]) == pytest.approx(
        float(-losses.neg_sdr(noisy[:, :1], ref[:, :1], tf.constant([1.0]))[0]) * -1, rel=1e-5
    )
    mag = tf.abs(tf.constant(rng.standard_normal((2, 2, 8, 16, 2)).astype(np.float32)))
    irm = losses.ideal_ratio_mask(mag)
    assert float(tf.reduce_max(losses.l1_mask(irm, tf.reduce_sum(mag, 1), mag, tf.constant([1.0, 1.0])))) < 1e-6


def _cli(args):
    from tfsep.cli import main

    return (
        CliRunner(mix_stderr=False).invoke(main, args)
        if "mix_stderr" in CliRunner.__init__.__code__.co_varnames
        else CliRunner().invoke(main, args)
    )


def _one_line_error(result, *needles):
    assert result.exit_code != 0
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tfsep: error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for n in needles:
        assert n in err[0], err[0]


@pytest.mark.parametrize(
    "training, needles",
    [
        ({"bogus_key": 1}, ["training.bogus_key"]),
        ({"loss": "l2"}, ["training.loss", "l1_masked_magnitude"]),
        ({"lr_schedule": "step"}, ["training.lr_schedule"]),
        ({"mixed_precision": "fp8"}, ["training.mixed_precision", "float16", "bfloat16"]),
        ({"augment_gain": [2, 1]}, ["training.augment_gain"]),
        ({"stem_weights": {"drums": 1.0}}, ["training.stem_weights", "drums"]),
        ({"train_path": "/nonexistent/musdb"}, ["training.train_path", "/nonexistent/musdb"]),
        ({"train_path": None}, ["training.train_path"]),
        ({"validation_path": "/nonexistent/valid"}, ["training.validation_path", "/nonexistent/valid"]),
        ({"stem_pools": {"drums": "/tmp"}}, ["training.stem_pools", "drums"]),
        ({"stem_pools": {"vocals": "/nonexistent/takes"}}, ["training.stem_pools.vocals", "/nonexistent/takes"]),
        ({"stem_pools": {"vocals": []}}, ["training.stem_pools.vocals"]),
        ({"stem_pool_level_db": [0, -6]}, ["training.stem_pool_level_db"]),
    ],
)
def test_invalid_configs_give_one_line_errors(tone_data, tmp_path, training, needles):
    cfg = train_config(tone_data)
    cfg["training"].update(training)
    if training.get("train_path", "x") is None:
        del cfg["training"]["train_path"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(cfg))
    result = _cli(["train", "-c", str(path), "-o", str(tmp_path / "run"), "-q"])
    _one_line_error(result, *needles)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_existing_run_needs_resume(tone_data, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint").write_text("x")
    path = tmp_path / "c.json"
    path.write_text(json.dumps(train_config(tone_data)))
    _one_line_error(_cli(["train", "-c", str(path), "-o", str(run), "-q"]), "--resume")


def test_cache_decodes_each_track_once(tone_data, tmp_path):
    """With training.data_cache, a second run reads the decoded arrays and never the audio files."""
    import dataclasses

    from tfsep.config import load_config
    from tfsep.data.pipeline import StemCache, open_datasets

    cfg = load_config(train_config(tone_data))
    train, _ = open_datasets(cfg)
    first = StemCache(train, cfg["stems"], 2, tmp_path / "cache")

    def never(*_):
        raise AssertionError("decoded again")

    again = StemCache([dataclasses.replace(t, _loader=never) for t in train], cfg["stems"], 2, tmp_path / "cache")
    for a, b in zip(first.arrays, again.arrays):
        np.testing.assert_array_equal(a, b)


def test_remix_redraws_silent_stems_and_polarity_flips(tone_data, tmp_path):
    """silence_db: a remixed stem is redrawn from a track where it plays; augment_polarity flips signs."""
    from tfsep.config import load_config
    from tfsep.data.pipeline import ExcerptSampler, StemCache, open_datasets

    cfg = load_config(train_config(tone_data, augment_remix=1.0, augment_gain=None, augment_channel_swap=False))
    train, _ = open_datasets(cfg)
    cache = StemCache(train, cfg["stems"], 2)
    cache.arrays[0] = cache.arrays[0].copy()
    cache.arrays[0][0] = 0.0  # the first track's vocals are silent
    length = 64 * 128

    def silent_vocals(sampler):
        return sum(np.abs(sampler.example(i)[1][0]).max() == 0 for i in range(60))

    assert silent_vocals(ExcerptSampler(cache, length, cfg)) > 5
    quiet_cfg = copy.deepcopy(cfg)
    quiet_cfg["training"]["silence_db"] = -60
    assert silent_vocals(ExcerptSampler(cache, length, quiet_cfg)) == 0

    flip_cfg = copy.deepcopy(cfg)
    flip_cfg["training"]["augment_polarity"] = True
    plain, flipped = ExcerptSampler(cache, length, cfg), ExcerptSampler(cache, length, flip_cfg)
    signs = set()
    for i in range(20):
        a, b = plain.example(i)[1], flipped.example(i)[1]
        for s in range(len(a)):
            if np.abs(a[s]).max() > 0:
                signs.add(float(np.sign(np.sum(a[s] * b[s]))))
                np.testing.assert_allclose(np.abs(a[s]), np.abs(b[s]), atol=1e-6)
    assert signs == {1.0, -1.0}


def test_max_steps_only_stops_early_and_resume_continues_exactly(tone_data, tmp_path):
    """``--max-steps 4`` then ``--resume``: the same weights as one run of the config's 10 steps (cosine)."""
    from tfsep.training.loop import Trainer

    cfg = train_config(tone_data, lr_schedule="cosine", lr_min=1e-4, checkpoint_every=100)
    full = Trainer(copy.deepcopy(cfg), tmp_path / "full", quiet=True)
    full.run()
    run = tmp_path / "split"
    first = Trainer(copy.deepcopy(cfg), run, quiet=True, max_steps=4)
    summary = first.run()
    assert summary["steps"] == 4
    # The rate at step 4 is the 10-step schedule's, not a schedule squeezed into 4 steps.
    from tfsep.training.callbacks import scheduled_lr

    assert float(first.optimizer.learning_rate.numpy()) == pytest.approx(scheduled_lr(first.config, 3, 1.0))
    assert scheduled_lr(first.config, 3, 1.0) > 0.5 * cfg["training"]["learning_rate"]
    second = Trainer(copy.deepcopy(cfg), run, resume=True, quiet=True)
    assert second.run()["steps"] == 10
    for a, b in zip(_weights(second.model), _weights(full.model)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    from tfsep.errors import ConfigError

    with pytest.raises(ConfigError, match="beyond training.train_max_steps"):
        Trainer(copy.deepcopy(cfg), tmp_path / "x", max_steps=11)


def test_train_in_a_log_prints_plain_lines_not_bars(tone_data, tmp_path):
    """Not on a terminal, progress is ``tfsep: train:`` lines (no carriage-return redraws)."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps(train_config(tone_data, log_every=5)))
    result = _cli(["train", "-c", str(path), "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.stderr
    assert "\r" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("tfsep: train:")]
    assert [line.split(":")[2].split()[0] for line in lines] == ["5/10", "10/10"], result.stderr
    assert "loss" in lines[-1]
    assert any("validation SDR" in line for line in result.stderr.splitlines())


@pytest.mark.parametrize(
    "top, training, needles",
    [
        ({"T": 100000}, {}, ["'T' must be at most 16384"]),
        ({"F": 10**9}, {}, ["'F' must be at most"]),
        ({}, {"batch_size": 10**6}, ["training.batch_size", "at most 4096"]),
        ({}, {"excerpt_seconds": 1e30}, ["training.excerpt_seconds", "at most 600"]),
        ({"model": {"type": "unet", "params": {"conv_n_filters": [8, 10**6, 8]}}}, {}, ["conv_n_filters", "1 to 4096"]),
        # Within every bound, and still far beyond any machine: refused before the model is built.
        (
            {"T": 16384, "model": {"type": "unet", "params": {"conv_n_filters": [256, 512, 1024]}}},
            {"batch_size": 512, "excerpt_seconds": None},
            ["needs at least", "GB, more than this machine's", "training.batch_size"],
        ),
    ],
)
def test_configs_that_would_exhaust_memory_are_refused_in_one_line(tone_data, tmp_path, top, training, needles):
    cfg = train_config(tone_data)
    cfg.update(top)
    cfg["training"].update(training)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(cfg))
    _one_line_error(_cli(["train", "-c", str(path), "-o", str(tmp_path / "run"), "-q"]), *needles)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_freeze_batch_norm_keeps_statistics_and_scales(tone_data, tmp_path):
    """``training.freeze_batch_norm``: fine-tuning leaves every batch-norm layer as it was; without it they move."""
    from tfsep.training.loop import Trainer

    def norms(model):
        return {v.path: np.array(v) for v in model.variables if "_norm/" in v.path}

    moved = {}
    for freeze in (True, False):
        trainer = Trainer(
            train_config(tone_data, train_max_steps=3, freeze_batch_norm=freeze), tmp_path / f"run{freeze}", quiet=True
        )
        before = norms(trainer.model)
        assert before  # the tiny U-Net has batch norms
        trainer.run()
        after = norms(trainer.model)
        moved[freeze] = [k for k in before if not np.array_equal(before[k], after[k])]
    assert moved[True] == [] and len(moved[False]) > 0
