"""Models: Spleeter's size, mask shapes and sums, configurable architecture, safe saving, training step."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY4_CONFIG, tiny_config

keras = pytest.importorskip("keras")

from tfsep import models, pretrained  # noqa: E402
from tfsep.config import load_config  # noqa: E402


def _magnitude(cfg, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return np.abs(rng.standard_normal((batch, cfg["T"], cfg["F"], cfg["n_channels"]))).astype(np.float32)


def test_2stems_has_spleeters_size():
    model = models.build(load_config("2stems"))
    n = model.count_params()
    assert 19_600_000 < n < 19_700_000, n


@pytest.mark.parametrize(
    "cfg",
    [tiny_config(), TINY4_CONFIG, tiny_config(params_head="softmax", params_unet_per_stem=True)],
    ids=["sigmoid", "softmax", "softmax-per-stem"],
)
def test_masks_have_the_contract_shape_and_sum_to_one(cfg):
    m = models.from_config(cfg)
    mag = _magnitude(m.config)
    masks = np.asarray(m.keras_model(mag, training=False))
    S = len(m.config["stems"])
    assert masks.shape == (2, S, m.config["T"], m.config["F"], m.config["n_channels"])
    assert masks.min() >= 0 and masks.max() <= 1
    np.testing.assert_allclose(masks.sum(axis=1), 1.0, atol=1e-5)


def test_masks_are_defined_on_silence():
    m = models.from_config(tiny_config())
    masks = np.asarray(m.keras_model(np.zeros((1, 64, 128, 2), np.float32), training=False))
    assert np.all(np.isfinite(masks))
    np.testing.assert_allclose(masks.sum(axis=1), 1.0, atol=1e-5)


def test_any_number_of_frames_multiple_of_the_stride():
    m = models.from_config(tiny_config())
    masks = np.asarray(m.keras_model(np.ones((1, 16, 128, 2), np.float32), training=False))
    assert masks.shape == (1, 2, 16, 128, 2)


def _layers(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


def test_depth_and_layer_names():
    m = models.from_config(tiny_config(params_conv_n_filters=[4, 8, 8, 16], T=64, F=128))
    names = {layer.name for layer in m.keras_model.layers}
    for stem in ("vocals", "accompaniment"):
        enc = sorted(n for n in names if n.startswith(f"{stem}_enc") and n.endswith("_conv"))
        assert enc == [f"{stem}_enc{i}_conv" for i in range(1, 5)]
        assert {f"{stem}_dec{i}_deconv" for i in range(1, 5)} <= names
        assert f"{stem}_mask_conv" in names
    filters = [m.keras_model.get_layer(f"vocals_enc{i}_conv").filters for i in range(1, 5)]
    assert filters == [4, 8, 8, 16]


def test_shared_unet_for_softmax_head():
    m = models.from_config(TINY4_CONFIG)
    names = {layer.name for layer in m.keras_model.layers}
    assert "unet_enc1_conv" in names and not any(n.startswith("vocals_") for n in names)


def test_activations_are_configurable():
    elu = models.from_config(tiny_config(params_conv_activation="elu", params_deconv_activation="elu")).keras_model
    assert _layers(elu, keras.layers.ELU)
    assert not _layers(elu, keras.layers.LeakyReLU) and not _layers(elu, keras.layers.ReLU)
    default = models.from_config(tiny_config()).keras_model
    assert _layers(default, keras.layers.LeakyReLU) and _layers(default, keras.layers.ReLU)
    assert not _layers(default, keras.layers.ELU)
    relu = models.from_config(tiny_config(params_conv_activation="relu")).keras_model
    assert not _layers(relu, keras.layers.LeakyReLU)


def test_kernel_size_normalization_and_dropout_are_honoured():
    m = models.from_config(
        tiny_config(params_kernel_size=3, params_normalization="none", params_dropout=0.0)
    ).keras_model
    assert m.get_layer("vocals_enc1_conv").kernel_size == (3, 3)
    assert m.get_layer("vocals_dec1_deconv").kernel_size == (3, 3)
    assert not _layers(m, keras.layers.BatchNormalization)
    assert not _layers(m, keras.layers.Dropout)
    d = models.from_config(tiny_config(params_dropout_layers=2)).keras_model
    assert len(_layers(d, keras.layers.Dropout)) == 2 * 2  # two stems
    assert _layers(d, keras.layers.BatchNormalization)


def test_log_input_scale():
    from tfsep.models.layers import LogMagnitude

    lin = models.from_config(tiny_config()).keras_model
    log = models.from_config(tiny_config(params_input_scale="log")).keras_model
    assert not _layers(lin, LogMagnitude)
    assert _layers(log, LogMagnitude)
    # Same seed, same weights: only the input scaling differs, so outputs do.
    mag = _magnitude(tiny_config()) * 10
    assert not np.allclose(np.asarray(lin(mag)), np.asarray(log(mag)), atol=1e-4)


def test_same_seed_same_weights_other_seed_other_weights():
    a = models.from_config(tiny_config()).keras_model.get_weights()
    b = models.from_config(tiny_config()).keras_model.get_weights()
    c = models.from_config(tiny_config(params_seed=7)).keras_model.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


@pytest.mark.parametrize("cfg", [tiny_config(params_input_scale="log"), TINY4_CONFIG], ids=["sigmoid-log", "softmax"])
def test_keras_file_reloads_with_safe_mode(tmp_path, cfg):
    m = models.from_config(cfg).keras_model
    assert not _layers(m, keras.layers.Lambda)
    path = tmp_path / "m.keras"
    m.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    mag = _magnitude(cfg)
    np.testing.assert_array_equal(np.asarray(m(mag, training=False)), np.asarray(loaded(mag, training=False)))


def test_model_dir_roundtrip(tmp_path, tiny_model_dir):
    first = pretrained.load_model_dir(tiny_model_dir)
    out = pretrained.save_model_dir(first.keras_model, first.config, tmp_path / "copy")
    assert pretrained.is_model_dir(out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left behind
    second = pretrained.load_model_dir(out)
    assert second.config == first.config
    mag = _magnitude(first.config)
    np.testing.assert_array_equal(
        np.asarray(first.keras_model(mag, training=False)), np.asarray(second.keras_model(mag, training=False))
    )


def test_model_dir_overwrite_replaces_weights(tmp_path):
    a = models.from_config(tiny_config())
    b = models.from_config(tiny_config(params_seed=3))
    path = tmp_path / "m"
    pretrained.save_model_dir(a.keras_model, a.config, path)
    pretrained.save_model_dir(b.keras_model, b.config, path)
    loaded = pretrained.load_model_dir(path)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    assert all(np.array_equal(x, y) for x, y in zip(loaded.keras_model.get_weights(), b.keras_model.get_weights()))


def test_load_model_dir_errors(tmp_path):
    from tfsep.errors import ConfigError, ModelError

    with pytest.raises(ModelError, match="not a tfsep model directory"):
        pretrained.load_model_dir(tmp_path)
    a = models.from_config(tiny_config())
    path = pretrained.save_model_dir(a.keras_model, a.config, tmp_path / "m")
    # Weights of a 3-layer net cannot go into the 4-layer net a changed config describes.
    import json

    cfg = json.loads((path / "config.json").read_text())
    cfg["model"]["params"]["conv_n_filters"] = [4, 8, 8, 16]
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="cannot load weights"):
        pretrained.load_model_dir(path)
    cfg["model"]["params"]["bogus"] = 1
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match="bogus"):
        pretrained.load_model_dir(path)


def test_one_training_step_changes_weights_with_finite_gradients():
    import tensorflow as tf

    cfg = tiny_config(params_dropout=0.5)
    m = models.from_config(cfg).keras_model
    mag = _magnitude(cfg, batch=2)
    target = tf.constant(np.stack([mag * 0.3, mag * 0.7], axis=1))
    before = [w.numpy().copy() for w in m.trainable_weights]
    opt = keras.optimizers.Adam(1e-3)
    with tf.GradientTape() as tape:
        masks = m(mag, training=True)
        loss = tf.reduce_mean(tf.abs(masks * mag[:, None] - target))
    grads = tape.gradient(loss, m.trainable_weights)
    assert all(g is not None for g in grads)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0
    opt.apply_gradients(zip(grads, m.trainable_weights))
    after = [w.numpy() for w in m.trainable_weights]
    changed = sum(not np.array_equal(a, b) for a, b in zip(before, after))
    assert changed == len(before)


def test_unknown_model_type_is_a_model_error():
    from tfsep.errors import ModelError

    cfg = load_config(tiny_config())
    cfg["model"]["type"] = "wavenet"
    with pytest.raises(ModelError, match="wavenet"):
        models.build(cfg)
