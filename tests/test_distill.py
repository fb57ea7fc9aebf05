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
