"""Mixed precision: float32 where float16 overflows, finite training on loud music, the policy restored.

Keras runs ``mixed_float16`` and ``mixed_bfloat16`` on a CPU too (slowly), so
what a GPU run would do with magnitudes and masks is checked here.  Every test
restores Keras' global dtype policy, which the rest of the suite relies on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from export_helpers import pretrained_2stems

SR = 44100
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
MAGNITUDES = [1.0, 30.0, 300.0, 1e3, 1e4]
TINY_ZOO = ("unet_tiny", "unet1d_tiny", "enhanced_unet_tiny", "stacked_unet_tiny", "wave_unet_tiny", "demucs_tiny")


@pytest.fixture
def restore_policy():
    import keras

    before = keras.mixed_precision.global_policy().name
    yield
    after = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(before)
    assert after == before, f"the global dtype policy was left at {after}"


def _masks(model, value, frames=64):
    x = np.full((1, frames, model.input_shape[2], model.input_shape[3]), value, np.float32)
    return np.asarray(model(x, training=False)).astype(np.float32)


@pytest.fixture(scope="module")
def loud_music(tmp_path_factory, falcon):
    """Two 3-second tracks of the Falcon excerpt (vocals + accompaniment), scaled so the mixture peaks at 1.0."""
    from tfsep.audio.io import load_stems

    stems, sr = load_stems(falcon)
    assert sr == SR
    vocals = stems["vocals"]
    acc = stems["drums"] + stems["bass"] + stems["other"]
    gain = 1.0 / float(np.max(np.abs(vocals + acc)))
    root = tmp_path_factory.mktemp("loud")
    n = 3 * SR
    for i, name in enumerate(["a", "b"]):
        d = root / name
        d.mkdir()
        part = slice(i * n, (i + 1) * n)
        sf.write(d / "vocals.wav", gain * vocals[part], SR, subtype="FLOAT")
        sf.write(d / "accompaniment.wav", gain * acc[part], SR, subtype="FLOAT")
    return root


def _loud_config(root, mixed_precision):
    # Spleeter's head (sigmoid masks, ratio normalisation) on linear magnitudes of a
    # 1024-point STFT: full-scale music reaches magnitudes of several hundred, whose
    # squares (RatioMask) overflow float16.
    return {
        "name": "loud-mixed",
        "stems": ["vocals", "accompaniment"],
        "frame_length": 1024,
        "frame_step": 256,
        "T": 32,
        "F": 128,
        "model": {
            "type": "unet",
            "params": {"head": "sigmoid", "conv_n_filters": [4, 8, 8], "input_scale": "linear", "dropout": 0.0},
        },
        "training": {
            "batch_size": 4,
            "learning_rate": 0.003,
            "train_max_steps": 20,
            "train_path": str(root),
            "validation_tracks": 1,
            "validate_every": 20,
            "checkpoint_every": 20,
            "validation_seconds": 0.5,
            "audio_summaries": 0,
            "augment_gain": None,
            "mixed_precision": mixed_precision,
            "random_seed": 3,
        },
    }


def _fixed_batch_loss(trainer):
    import tensorflow as tf

    from tfsep.training.tasks import stem_weights

    mix, stems = zip(*(trainer.sampler.example(i) for i in range(1000, 1008)))
    per_example = trainer.task.loss(
        trainer.model,
        tf.constant(np.stack(mix)),
        tf.constant(np.stack(stems)),
        tf.constant(stem_weights(trainer.config)),
        training=False,
    )
    return float(tf.reduce_mean(per_example))


@pytest.mark.parametrize("setting, policy", [("float16", "mixed_float16"), ("bfloat16", "mixed_bfloat16")])
def test_ratio_mask_model_trains_on_full_scale_music(loud_music, tmp_path, restore_policy, setting, policy):
    import keras

    from tfsep.training.loop import Trainer

    fixed = {}

    def fixed_batch_loss(step, loss):
        # The same 8 excerpts after the first step and after the last: the per-step losses
        # are of different random excerpts, too noisy to show the trend in 20 steps.
        if step in (1, 20):
            fixed[step] = _fixed_batch_loss(trainer)

    trainer = Trainer(_loud_config(loud_music, setting), tmp_path / "run", quiet=True, hooks=[fixed_batch_loss])
    summary = trainer.run()
    losses = np.array(summary["losses"])
    assert summary["policy"] == policy and summary["steps"] == 20
    assert trainer.model.get_layer("vocals_enc1_conv").compute_dtype == policy.split("_")[1]
    assert trainer.model.get_layer("masks").compute_dtype == "float32"
    # Loss scaling for float16 only: bfloat16 has float32's exponent range.
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer) == (setting == "float16")
    assert np.isfinite(losses).all(), losses
    assert np.isfinite(list(fixed.values())).all() and fixed[20] < 0.8 * fixed[1], fixed
    assert np.isfinite(summary["best_sdr"])
    assert keras.mixed_precision.global_policy().name == "float32"  # restored by the run


def test_pretrained_2stems_masks_are_finite_under_bfloat16(restore_policy):
    """The policy ``auto`` picks on current GPUs: Spleeter's weights, magnitudes up to 1e4."""
    from tfsep import models
    from tfsep.config import load_config
    from tfsep.training.precision import global_policy

    pretrained = pretrained_2stems()
    with global_policy("mixed_bfloat16"):
        model = models.build(load_config("2stems"))
    model.set_weights(pretrained.keras_model.get_weights())
    masks = {value: _masks(model, value) for value in MAGNITUDES}
    assert [v for v, m in masks.items() if not np.isfinite(m).all()] == []
    for m in masks.values():
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-5)  # ratio masks, computed in float32
    # Close to the float32 model where float32 is meaningful (bfloat16 keeps 8 mantissa bits).
    ref = _masks(pretrained.keras_model, 100.0)
    assert np.max(np.abs(_masks(model, 100.0) - ref)) < 0.05


def test_2stems_masks_are_finite_under_float16(restore_policy):
    """Spleeter's architecture as training starts from it: RatioMask no longer squares loud magnitudes in float16.

    (Spleeter's pretrained weights themselves overflow float16 inside the U-Net
    from magnitudes of ~1000: that is why ``auto`` prefers bfloat16.)
    """
    from tfsep import models
    from tfsep.config import load_config
    from tfsep.training.precision import global_policy

    with global_policy("mixed_float16"):
        model = models.build(load_config("2stems"))
    masks = {value: _masks(model, value) for value in MAGNITUDES[:4]}
    assert [v for v, m in masks.items() if not np.isfinite(m).all()] == []
    for m in masks.values():
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-5)
    assert model.get_layer("masks").compute_dtype == "float32"


def test_float32_layers_and_tiny_models_under_mixed_policies(restore_policy):
    """Every model family builds and runs under both mixed policies; mask models give float32 masks."""
    import keras

    from tfsep import models
    from tfsep.config import load_config
    from tfsep.models.layers import RatioMask
    from tfsep.training.precision import global_policy

    with global_policy("mixed_float16"):
        layer = RatioMask()
        est = layer([keras.ops.ones((1, 2, 4, 8, 2), "float16") * 0.5, keras.ops.full((1, 4, 8, 2), 1e3, "float16")])
    assert layer.compute_dtype == "float32" and keras.backend.standardize_dtype(est.dtype) == "float32"
    np.testing.assert_allclose(np.asarray(est), 0.5)
    for name in TINY_ZOO:
        cfg = load_config(CONFIGS / "zoo" / f"{name}.json")
        for policy in ("mixed_float16", "mixed_bfloat16"):
            with global_policy(policy):
                model = models.build(cfg)
            if len(model.input_shape) == 3:  # waveform model (B, L, C)
                x = np.full((1, 8192, cfg["n_channels"]), 0.9, np.float32)
            else:
                x = np.full((1, 64, cfg["F"], cfg["n_channels"]), 1e3, np.float32)
            y = model(x, training=False)
            assert np.isfinite(np.asarray(y).astype(np.float32)).all(), (name, policy)
            if len(model.input_shape) == 4:  # masks come out of a float32 layer
                assert keras.backend.standardize_dtype(y.dtype) == "float32", (name, policy)


@pytest.mark.parametrize(
    "setting, capabilities, policy",
    [
        ("auto", [], "float32"),
        ("on", [], "float32"),
        ("off", [(9, 0)], "float32"),
        ("auto", [(9, 0)], "mixed_bfloat16"),  # H100/H200
        ("on", [(8, 0), (8, 6)], "mixed_bfloat16"),  # A100 + RTX 30xx
        ("auto", [(7, 0)], "mixed_float16"),  # V100: no bf16 tensor cores
        ("auto", [(8, 0), (7, 5)], "mixed_float16"),  # the weakest GPU decides
        ("auto", [None], "mixed_float16"),  # capability unknown
        ("float16", [], "mixed_float16"),
        ("bfloat16", [(7, 0)], "mixed_bfloat16"),  # asked for: as asked
    ],
)
def test_choose_policy(monkeypatch, setting, capabilities, policy):
    import tensorflow as tf

    from tfsep.training.precision import choose_policy

    gpus = [f"GPU:{i}" for i in range(len(capabilities))]
    details = dict(zip(gpus, capabilities))
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda gpu: {"compute_capability": details[gpu]})
    chosen, note = choose_policy(setting)
    assert chosen == policy
    if setting == "on" and not gpus:
        assert "no GPU" in note  # asked for, not possible: said
    if policy != "float32" and gpus and setting in ("auto", "on"):
        assert policy in note  # what auto chose is logged
