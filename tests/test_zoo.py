"""Model zoo: every family builds from its tiny config, has the contract shapes, trains, saves safely."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from tfsep import models, pretrained  # noqa: E402
from tfsep.config import load_config  # noqa: E402
from tfsep.errors import ConfigError, TfsepError  # noqa: E402
from tfsep.separation.waveform import WaveformSeparation, separation_domain, valid_length  # noqa: E402

ZOO = Path(__file__).resolve().parents[1] / "configs" / "zoo"
TINY = [
    "unet_tiny",
    "unet1d_tiny",
    "enhanced_unet_tiny",
    "stacked_unet_tiny",
    "wave_unet_tiny",
    "demucs_tiny",
    "demucs2d_tiny",
]
WAVE_LEN = 3001  # awkward: no power of two divides it

_cache = {}


def _config(name):
    return load_config(ZOO / f"{name}.json")


def _model(name):
    if name not in _cache:
        cfg = _config(name)
        _cache[name] = (cfg, models.build(cfg))
    return _cache[name]


def _input(cfg, batch=2, seed=0, frames=None):
    rng = np.random.default_rng(seed)
    if separation_domain(cfg) == "waveform":
        return (0.1 * rng.standard_normal((batch, WAVE_LEN, cfg["n_channels"]))).astype(np.float32)
    return np.abs(rng.standard_normal((batch, frames or cfg["T"], cfg["F"], cfg["n_channels"]))).astype(np.float32)


def test_every_zoo_config_validates():
    names = sorted(p.stem for p in ZOO.glob("*.json"))
    assert set(TINY) <= set(names)
    for name in names:
        cfg = _config(name)
        assert cfg["stems"] == ["vocals", "drums", "bass", "other"]
        tiny = name.endswith("_tiny")
        assert (name.replace("_tiny", "_4stems") in names) if tiny else True


@pytest.mark.parametrize("name", TINY)
def test_output_shape_and_mask_sums(name):
    cfg, model = _model(name)
    x = _input(cfg)
    y = np.asarray(model(x, training=False))
    S, C = len(cfg["stems"]), cfg["n_channels"]
    assert np.all(np.isfinite(y))
    if separation_domain(cfg) == "waveform":
        assert y.shape == (2, S, WAVE_LEN, C)
    else:
        assert y.shape == (2, S, cfg["T"], cfg["F"], C)
        assert y.min() >= 0
        np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", TINY)
def test_gradients_are_finite_and_reach_every_weight(name):
    cfg, model = _model(name)
    x = tf.constant(_input(cfg, seed=1))
    with tf.GradientTape() as tape:
        y = model(x, training=True)
        target = tf.random.stateless_uniform(tf.shape(y), seed=(1, 2))
        loss = tf.reduce_mean(tf.abs(y - target))
    grads = tape.gradient(loss, model.trainable_weights)
    assert model.trainable_weights
    for w, g in zip(model.trainable_weights, grads):
        assert g is not None, w.path
        g = np.asarray(g)
        assert np.all(np.isfinite(g)), w.path
        assert np.any(g != 0), w.path


@pytest.mark.parametrize("name", TINY)
def test_keras_file_reloads_in_safe_mode(name, tmp_path):
    cfg, model = _model(name)
    x = _input(cfg, seed=2)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(again(x, training=False)), np.asarray(model(x, training=False)), atol=1e-6)


def test_waveform_models_mixture_stats_and_difference_output():
    cfg, model = _model("wave_unet_tiny")  # output_type: difference
    x = _input(cfg)
    y = np.asarray(model(x, training=False))
    np.testing.assert_allclose(y.sum(axis=1), x, atol=1e-5)
    # Demucs normalises by the mixture's std: a louder mixture gives proportionally louder stems.
    cfg, model = _model("demucs_tiny")
    x = _input(cfg)
    x -= x.mean(axis=(1, 2), keepdims=True)
    a = np.asarray(model(x, training=False))
    b = np.asarray(model(4 * x, training=False))
    np.testing.assert_allclose(b, 4 * a, atol=1e-3 * np.abs(4 * a).max())


@pytest.mark.parametrize("name", ["wave_unet_tiny", "demucs_tiny", "demucs2d_tiny"])
def test_waveform_separation_keeps_any_length(name):
    cfg, model = _model(name)
    sep = WaveformSeparation(model, cfg)
    for length in (1, 777, 4097):
        assert valid_length(cfg, length) >= length
        x = _input(cfg)[:, :length] if length <= WAVE_LEN else np.zeros((1, length, 2), np.float32)
        assert tuple(sep(x).shape) == (x.shape[0], 4, length, 2)
    # As the Separator calls it: a traced function over fixed-length segments.
    fn = tf.function(sep, input_signature=[tf.TensorSpec([None, 2500, 2], tf.float32)])
    x = _input(cfg)[:, :2500]
    out = fn(x).numpy()
    assert out.shape == (2, 4, 2500, 2)
    np.testing.assert_allclose(out, np.asarray(model(x, training=False)), atol=1e-5)


def test_separation_domain_and_no_wiener_for_waveforms():
    assert separation_domain(_config("demucs_tiny")) == "waveform"
    assert separation_domain(_config("stacked_unet_tiny")) == "spectrogram"
    cfg, model = _model("wave_unet_tiny")
    sep = WaveformSeparation(model, cfg)
    sep.wiener_iterations = 0
    with pytest.raises(TfsepError, match="Wiener"):
        sep.wiener_iterations = 2
    with pytest.raises(TfsepError, match="spectrogram"):
        WaveformSeparation(None, _config("unet_tiny"))


def test_enhanced_unet_structure():
    cfg, model = _model("enhanced_unet_tiny")
    kinds = [type(layer).__name__ for layer in model.layers]
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.GroupNormalization)]
    # Instance norm (groups=-1 resolves to one group per channel) in every encoder block.
    assert [n.groups for n in norms] == cfg["model"]["params"]["conv_n_filters"]
    assert sum(isinstance(layer, keras.layers.Dropout) and layer.rate == 0.5 for layer in model.layers) == 3
    assert kinds.count("TimeDistributed") == 1  # per-row BiLSTM
    assert {f"att{j}_psi" for j in (1, 2, 3)} <= {layer.name for layer in model.layers}
    # Frames that are no multiple of 2**depth: skips are resized, the output keeps the input's shape.
    y = np.asarray(model(_input(cfg, frames=50), training=False))
    assert y.shape == (2, 4, 50, cfg["F"], 2)


def test_unet_conv_dim_1_only_constrains_frames():
    raw = json.loads((ZOO / "unet1d_tiny.json").read_text())
    raw["F"] = 100
    cfg = load_config(raw)
    model = models.build(cfg)
    assert any(isinstance(layer, keras.layers.Conv1D) for layer in model.layers)
    assert not any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
    assert model(np.ones((1, 16, 100, 2), np.float32)).shape == (1, 4, 16, 100, 2)
    raw["model"]["params"]["conv_dim"] = 2
    with pytest.raises(ConfigError, match="'F'"):
        load_config(raw)
    raw["model"]["params"]["conv_dim"] = 3
    with pytest.raises(ConfigError, match="conv_dim"):
        load_config(raw)


def test_config_errors_name_the_nested_key():
    raw = json.loads((ZOO / "stacked_unet_tiny.json").read_text())
    bad = copy.deepcopy(raw)
    bad["model"]["params"]["first"]["type"] = "demucs"
    with pytest.raises(ConfigError, match="first.type"):
        load_config(bad)
    bad = copy.deepcopy(raw)
    bad["model"]["params"]["refine"]["kernal_size"] = 3
    with pytest.raises(ConfigError, match="refine.kernal_size"):
        load_config(bad)
    bad = json.loads((ZOO / "demucs_tiny.json").read_text())
    bad["model"]["params"]["kernel_size"] = 2
    with pytest.raises(ConfigError, match="kernel_size"):
        load_config(bad)


def _stacked_on_saved_unet(tmp_path, freeze):
    """A tiny U-Net saved as a model dir, and the stacked_unet_tiny config + model built ``init_from`` it."""
    first_cfg, first_model = _model("unet_tiny")
    first_dir = pretrained.save_model_dir(first_model, first_cfg, tmp_path / "first")
    raw = json.loads((ZOO / "stacked_unet_tiny.json").read_text())
    raw["model"]["params"].update(init_from=str(first_dir), freeze=freeze)
    cfg = load_config(raw)
    return first_model, first_dir, raw, cfg, pretrained.build_model(cfg)


def test_stacked_init_from_and_freeze(tmp_path):
    first_model, _, raw, cfg, model = _stacked_on_saved_unet(tmp_path, freeze=True)
    first = model.get_layer("first")
    before = [np.array(w) for w in first.weights]
    for a, b in zip(before, first_model.weights):
        np.testing.assert_array_equal(a, np.asarray(b))
    assert not first.trainable_weights
    assert model.trainable_weights
    refine_before = [np.array(w) for w in model.trainable_weights]

    opt = keras.optimizers.Adam(1e-2)
    x = tf.constant(_input(cfg, seed=3))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(model(x, training=True) - 0.25))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))

    for a, w in zip(before, first.weights):  # BN moving statistics included: the first net runs in inference mode
        np.testing.assert_array_equal(a, np.asarray(w))
    assert any(not np.array_equal(a, np.asarray(w)) for a, w in zip(refine_before, model.trainable_weights))

    raw["model"]["params"]["init_from"] = str(tmp_path / "missing")
    with pytest.raises(TfsepError, match="init_from"):
        pretrained.build_model(load_config(raw))


def test_stacked_model_dir_reloads_after_init_from_source_is_gone(tmp_path):
    """A trained stacked model keeps working when the first network's init_from directory is deleted."""
    _, first_dir, _, cfg, model = _stacked_on_saved_unet(tmp_path, freeze=False)
    for w in model.get_layer("first").weights:  # move away from the init_from weights, as training would
        w.assign(np.asarray(w) + 0.01)
    stacked_dir = pretrained.save_model_dir(model, cfg, tmp_path / "stacked")
    shutil.rmtree(first_dir)

    loaded = pretrained.load_model_dir(stacked_dir)
    x = tf.constant(_input(cfg, seed=5))
    np.testing.assert_allclose(np.asarray(loaded.keras_model(x)), np.asarray(model(x)), rtol=1e-6, atol=1e-7)
    assert loaded.config["model"]["params"]["init_from"] == str(first_dir)  # the record of where it came from stays


# -- training through tfsep.training.loop ---------------------------------------------------------

# tfsep.training.tasks.make_task sends only model type "unet" to the spectrogram task;
# until it dispatches on tfsep.separation.waveform.separation_domain these two train as waveform models.


@pytest.fixture(scope="module")
def zoo_data(tmp_path_factory):
    """Three 1-second tracks of four noise stems (stem folders)."""
    import soundfile as sf

    root = tmp_path_factory.mktemp("zoo_data")
    for t in range(3):
        rng = np.random.default_rng(t)
        d = root / f"track{t}"
        d.mkdir()
        for k, stem in enumerate(["vocals", "drums", "bass", "other"]):
            x = (0.05 * (k + 1) * rng.standard_normal((44100, 2))).astype(np.float32)
            sf.write(d / f"{stem}.wav", x, 44100, subtype="FLOAT")
    return root


@pytest.mark.parametrize(
    "name",
    TINY,
)
def test_three_training_steps(name, zoo_data, tmp_path):
    from tfsep.training.loop import Trainer

    raw = json.loads((ZOO / f"{name}.json").read_text())
    raw["training"].update(
        train_path=str(zoo_data),
        train_max_steps=3,
        validation_tracks=1,
        validation_seconds=0.25,
        audio_summaries=0,
        log_every=1,
    )
    out = Trainer(raw, tmp_path / "run", quiet=True).run()
    assert out["steps"] == 3
    assert all(np.isfinite(out["losses"]))
    assert pretrained.is_model_dir(tmp_path / "run")


@pytest.mark.parametrize("name", TINY)
def test_every_family_separates_through_the_separator(name):
    """Segmenting, crossfade and exact output length hold for spectrogram and waveform models alike."""
    from tfsep.separation import Separator

    model = models.from_config(json.loads((ZOO / f"{name}.json").read_text()))
    sep = Separator(model)
    n = int(sep.segment * 2.3) + 17  # several segments, a ragged end
    x = (0.1 * np.random.default_rng(0).standard_normal((n, 2))).astype(np.float32)
    out = sep.separate(x, model.config["sample_rate"])
    assert list(out) == model.config["stems"]
    for y in out.values():
        assert y.shape == x.shape
        assert np.all(np.isfinite(y))
