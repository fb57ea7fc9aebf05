"""Knowledge distillation (``training.distill_from``): a student learns a teacher's masks.

The smaller, faster network a user gets from a distilled run must be
trained on what the teacher does to real mixtures; these tests pin what the
targets are, that a mismatched teacher is refused, and that a distilled run
moves the student towards the teacher.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_training import make_tone_dataset, train_config

from tfsep.audio.spectral import magnitude
from tfsep.errors import ConfigError


@pytest.fixture(scope="module")
def tone_data(tmp_path_factory):
    return make_tone_dataset(tmp_path_factory.mktemp("tones"))


def _student(tone_data, teacher_dir, **training):
    # The tiny teacher (conftest's tiny2): 512/128 STFT, F 128, two per-stem U-Nets. The student: one U-Net.
    cfg = train_config(tone_data, distill_from=str(teacher_dir), **training)
    cfg["model"]["params"]["unet_per_stem"] = False
    cfg["model"]["params"]["dropout"] = 0.0
    return cfg


def test_distillation_targets_are_the_teachers_masked_mixture(tone_data, tiny_model_dir):
    import tensorflow as tf

    from tfsep.config import validate
    from tfsep.pretrained import load_model_dir
    from tfsep.training.tasks import SpectrogramTask

    teacher = load_model_dir(tiny_model_dir).keras_model
    rng = np.random.default_rng(0)
    mixture = tf.constant(rng.standard_normal((2, 64 * 128, 2)).astype(np.float32) * 0.1)
    stems = tf.constant(rng.standard_normal((2, 2, 64 * 128, 2)).astype(np.float32) * 0.1)
    task = SpectrogramTask(validate(_student(tone_data, tiny_model_dir)))
    mag = magnitude(task.stft(mixture), 128)
    want = teacher(mag, training=False) * mag[:, None]
    np.testing.assert_allclose(task._targets(mag, stems), want, rtol=1e-4, atol=1e-6)
    # Half teacher, half the true stems.
    half = SpectrogramTask(validate(_student(tone_data, tiny_model_dir, distill_weight=0.5)))
    truth = tf.abs(half._stem_spec(stems))[:, :, :, :128]
    np.testing.assert_allclose(half._targets(mag, stems), 0.5 * want + 0.5 * truth, rtol=1e-4, atol=1e-6)


def test_a_teacher_must_match_the_students_spectrogram_and_stems(tone_data, tiny_model_dir, tiny4_model_dir):
    from tfsep.config import validate
    from tfsep.training.tasks import SpectrogramTask

    with pytest.raises(ConfigError, match="its stems"):
        SpectrogramTask(validate(_student(tone_data, tiny4_model_dir)))
    cfg = _student(tone_data, tiny_model_dir)
    cfg["F"] = 64
    with pytest.raises(ConfigError, match="its F"):
        SpectrogramTask(validate(cfg))
    with pytest.raises(ConfigError, match="use a mask loss"):
        validate(_student(tone_data, tiny_model_dir, loss="neg_sdr"))
    with pytest.raises(ConfigError, match=r"distill_weight.*\[0, 1\]"):
        validate(_student(tone_data, tiny_model_dir, distill_weight=1.5))


def test_a_distilled_run_brings_the_student_to_the_teacher(tone_data, tiny_model_dir, tmp_path):
    import tensorflow as tf

    from tfsep.pretrained import load_model_dir
    from tfsep.training.loop import Trainer

    teacher = load_model_dir(tiny_model_dir).keras_model
    trainer = Trainer(
        _student(tone_data, tiny_model_dir, train_max_steps=40, validate_every=40), tmp_path / "run", quiet=True
    )
    mix = np.stack([trainer.sampler.example(i)[0] for i in range(1000, 1004)])
    mag = magnitude(trainer.task.stft(tf.constant(mix)), 128)

    def gap():  # how far the student's masked magnitudes are from the teacher's, on fixed examples
        diff = tf.abs(trainer.model(mag, training=False) - teacher(mag, training=False)) * mag[:, None]
        return float(tf.reduce_mean(diff) / tf.reduce_mean(mag))

    before = gap()
    trainer.run()
    after = gap()
    assert after < 0.6 * before, (before, after)


def test_live_training_scores_a_window_s_last_frames_against_targets_that_heard_the_future(tone_data, tiny_model_dir):
    """``live_edge``/``live_future``: the model sees only its window; the teacher hears what follows it."""
    import tensorflow as tf

    from tfsep.config import validate
    from tfsep.pretrained import load_model_dir
    from tfsep.training.losses import l1_masked_magnitude
    from tfsep.training.tasks import SpectrogramTask

    # The tiny model's 3-layer U-Net takes frames in blocks of 8: a 64-frame window (8192 samples at step 128).
    cfg = validate(
        _student(tone_data, tiny_model_dir, excerpt_seconds=64 * 128 / 44100, live_edge=0.1, live_future=0.05)
    )
    task = SpectrogramTask(cfg)
    edge = round(0.1 * 44100 / 128)
    assert (task.frames, task.edge, task.future) == (64, edge, 24)  # 17 frames of future, in whole blocks of 8
    assert task.excerpt_length == (64 + 24) * 128
    teacher = load_model_dir(tiny_model_dir).keras_model
    student = tf.keras.models.clone_model(teacher)
    rng = np.random.default_rng(1)
    mixture = rng.standard_normal((2, task.excerpt_length, 2)).astype(np.float32) * 0.1
    stems = np.zeros((2, 2, task.excerpt_length, 2), np.float32)
    weights = tf.ones((2, 2))
    loss = task.loss(student, tf.constant(mixture), tf.constant(stems), weights, training=False)
    # By hand: the window's own STFT for the student, the whole excerpt's for the teacher, the last frames scored.
    mag = magnitude(task.stft(tf.constant(mixture[:, : task.window_length])), 128)
    full = magnitude(task.stft(tf.constant(mixture)), 128)
    lo = 64 - edge
    masks = student(mag, training=False)[:, :, lo:]
    taught = teacher(full, training=False)[:, :, lo:64] * mag[:, None, lo:]
    want = l1_masked_magnitude(masks, mag[:, lo:], taught, weights)
    np.testing.assert_allclose(loss, want, rtol=1e-5)
    # The future changes the targets (the teacher hears it), never what the model is given.
    changed = mixture.copy()
    changed[:, task.window_length :] *= -3
    other = task.loss(student, tf.constant(changed), tf.constant(stems), weights, training=False)
    assert not np.allclose(loss, other)
    assert np.array_equal(magnitude(task.stft(tf.constant(changed[:, : task.window_length])), 128).numpy(), mag.numpy())


@pytest.mark.parametrize(
    "training,message",
    [
        ({"live_edge": 0.1}, "live_edge"),  # no excerpt_seconds
        ({"live_edge": 5.0, "excerpt_seconds": 1.0}, "live_edge"),
        ({"live_future": 0.5}, "needs live_edge"),
        ({"live_edge": 0.1, "excerpt_seconds": 1.0, "loss": "l1_mrstft"}, "use a mask loss"),
    ],
)
def test_live_training_options_are_checked(tone_data, training, message):
    from tfsep.config import validate

    cfg = train_config(tone_data, **training)
    cfg["training"]["excerpt_seconds"] = training.get("excerpt_seconds")
    with pytest.raises(ConfigError, match=message):
        validate(cfg)
