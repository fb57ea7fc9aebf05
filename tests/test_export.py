"""Export: SavedModel (TF Serving layout, signatures, plain-TF loading) and builtin-ops TFLite.

Parity checks run on the pretrained 2stems (skipped when it cannot be
fetched, failed instead with TFSEP_REQUIRE_PRETRAINED=1); the rest on tiny
random models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from export_helpers import EXPORTED, pretrained_2stems, sdr, segment_reference, with_export_residual

SR = 44100


@pytest.fixture(scope="module")
def pretrained():
    return pretrained_2stems()


@pytest.fixture(scope="module")
def pretrained_savedmodel(pretrained, tmp_path_factory):
    from tfsep.export import export_savedmodel

    return export_savedmodel(pretrained, tmp_path_factory.mktemp("sm") / "2stems", version=3)


@pytest.fixture(scope="module")
def pretrained_core_fp32(pretrained, tmp_path_factory):
    from tfsep.export.tflite import export_tflite

    return export_tflite(pretrained, tmp_path_factory.mktemp("tfl") / "2stems_core.tflite")


def _litert(path_or_content):
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(path_or_content, (bytes, bytearray)):
        interp = Interpreter(model_content=bytes(path_or_content))
    else:
        interp = Interpreter(model_path=str(path_or_content))
    return interp.get_signature_runner("serving_default")


def _magnitude_block(model, wave, frames):
    import tensorflow as tf

    from tfsep.audio.spectral import STFT, magnitude

    cfg = model.config
    spec = STFT(cfg["frame_length"], cfg["frame_step"])(tf.constant(wave[None]))
    mag = magnitude(spec, cfg["F"])[0].numpy()[:frames]
    return np.pad(mag, [(0, frames - len(mag)), (0, 0), (0, 0)]).astype(np.float32)


# -- builtin-op STFT ------------------------------------------------------------------


def test_builtin_stft_and_inverse_match_tf_signal():
    import tensorflow as tf

    from tfsep.audio.spectral import STFT, InverseSTFT
    from tfsep.export import dft

    x = np.random.default_rng(1).standard_normal((2, 1000)).astype(np.float32)
    frames = -(-1000 // 128)
    re, im = dft.stft(tf.constant(x), 512, 128, frames)
    ref = np.transpose(STFT(512, 128)(tf.constant(x.T[None]))[0].numpy(), [2, 0, 1])
    assert np.abs(re.numpy() - ref.real).max() < 1e-4
    assert np.abs(im.numpy() - ref.imag).max() < 1e-4
    y = dft.istft(re, im, 512, 128, 1000).numpy()
    y_ref = InverseSTFT(512, 128)(tf.constant(np.transpose(ref, [1, 2, 0])[None]), length=1000)[0].numpy().T
    assert np.abs(y - y_ref).max() < 1e-5
    with pytest.raises(Exception, match="multiple of frame_step"):
        dft.check_framing(500, 128)


# -- SavedModel ----------------------------------------------------------------------------


def test_savedmodel_layout_signatures_and_any_length(tiny_model, tmp_path):
    import tensorflow as tf

    from tfsep.errors import OutputError
    from tfsep.export import export_savedmodel
    from tfsep.separation import Separator

    path = export_savedmodel(tiny_model, tmp_path / "tiny2")
    assert path == tmp_path / "tiny2" / "1"
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
    assert json.loads((path / "assets.extra" / "tfsep.json").read_text())["stems"] == ["vocals", "accompaniment"]
    with pytest.raises(OutputError, match="exists"):
        export_savedmodel(tiny_model, tmp_path / "tiny2")

    sm = tf.saved_model.load(str(path))
    assert set(sm.signatures) == {"serving_default", "separate_segment", "separate_spectrogram", "config"}
    fn = sm.signatures["serving_default"]
    # The export bakes in the default preset's mask extension and residual; Wiener and TTA stay with the host.
    sep = Separator(tiny_model, **EXPORTED)
    x = np.random.default_rng(0).standard_normal((SR + 1234, 2)).astype(np.float32) * 0.1
    for n in (0, 1, 100, 511, 8192, SR + 1234):  # 0, less than one frame, one segment, many segments
        out = fn(waveform=tf.constant(x[:n]))
        assert set(out) == {"vocals", "accompaniment"}
        for y in out.values():
            assert y.shape == (n, 2)
        if n:
            ref = sep.separate(x[:n], SR)
            for stem in ref:
                np.testing.assert_allclose(out[stem].numpy(), ref[stem], atol=1e-5)

    mag = np.abs(np.random.default_rng(1).standard_normal((1, 100, 128, 2))).astype(np.float32)
    masks = sm.signatures["separate_spectrogram"](magnitude=tf.constant(mag))["masks"].numpy()
    assert masks.shape == (1, 2, 100, 128, 2)
    padded = np.pad(mag, [(0, 0), (0, 28), (0, 0), (0, 0)])
    ref = np.concatenate([tiny_model.keras_model(padded[:, i : i + 64]).numpy() for i in (0, 64)], axis=2)[:, :, :100]
    np.testing.assert_allclose(masks, ref, atol=1e-5)
    meta = json.loads(sm.signatures["config"](unused=tf.constant(0.0))["config"].numpy())
    assert meta["sample_rate"] == SR and meta["segment"] == 64 * 128


def test_saved_model_cli_documents_signatures(tiny_model, tmp_path, capsys):
    # saved_model_cli's own code, in-process (its ``show --all`` also loads the model: slow).
    from tensorflow.python.tools import saved_model_cli

    from tfsep.export import export_savedmodel

    path = str(export_savedmodel(tiny_model, tmp_path / "tiny2"))
    for key in ("serving_default", "separate_spectrogram", "config"):
        saved_model_cli._show_inputs_outputs(path, "serve", key)
    out = capsys.readouterr().out
    for text in ("inputs['waveform']", "outputs['vocals']", "inputs['magnitude']", "outputs['masks']", "DT_STRING"):
        assert text in out


PLAIN_TF_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    sm = tf.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2])
    out = {k: v.numpy() for k, v in sm.signatures["serving_default"](waveform=tf.constant(x)).items()}
    short = sm.signatures["serving_default"](waveform=tf.constant(x[:100]))
    assert all(v.shape == (100, 2) for v in short.values())
    np.savez(sys.argv[3], **out)
    assert not any(m == "tfsep" or m.startswith("tfsep.") for m in sys.modules), "tfsep was imported"
    print(json.dumps(sorted(sm.signatures)))
    """
)


def test_pretrained_savedmodel_loads_without_tfsep(pretrained, pretrained_savedmodel, music, tmp_path):
    from tfsep.separation import Separator

    x = music[: 2 * SR]
    np.save(tmp_path / "x.npy", x)
    script = tmp_path / "plain.py"
    script.write_text(PLAIN_TF_SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ""}
    res = subprocess.run(
        [sys.executable, str(script), str(pretrained_savedmodel), str(tmp_path / "x.npy"), str(tmp_path / "out.npz")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == [
        "config",
        "separate_segment",
        "separate_spectrogram",
        "serving_default",
    ]
    out = np.load(tmp_path / "out.npz")
    # What the export bakes in: the default preset's mask extension and residual, no Wiener, no TTA.
    ref = Separator(pretrained, **EXPORTED).separate(x, SR)
    for stem in ("vocals", "accompaniment"):
        assert out[stem].shape == x.shape
        # Float rounding only; the residual accompaniment (mixture - vocals) carries the vocals' rounding too.
        assert sdr(ref[stem], out[stem]) > 55


# -- TFLite ------------------------------------------------------------------------------------


def test_pretrained_tflite_core_fp32_matches_keras(pretrained, pretrained_core_fp32, music):
    from tfsep.export.tflite import non_builtin_ops

    content = pretrained_core_fp32.read_bytes()
    assert non_builtin_ops(content) == []
    meta = json.loads(pretrained_core_fp32.with_suffix(".json").read_text())
    assert meta["inputs"]["magnitude"]["shape"] == [512, 1024, 2]
    assert meta["outputs"]["masks"]["shape"] == [2, 512, 1024, 2]
    mag = _magnitude_block(pretrained, music, 512)
    masks = _litert(content)(magnitude=mag)["masks"]
    ref = pretrained.keras_model(mag[None], training=False)[0].numpy()
    assert np.all(np.isfinite(masks))
    assert np.abs(masks - ref).max() <= 1e-4


def test_pretrained_tflite_full_graph_matches_separation(pretrained, music):

    from tfsep.export.tflite import convert, non_builtin_ops

    content = convert(pretrained, "full")
    assert non_builtin_ops(content) == []
    seg = np.zeros((512 * 1024, 2), np.float32)
    seg[: len(music)] = music
    stems = _litert(content)(waveform=seg)["stems"]
    ref = segment_reference(pretrained, seg)
    assert stems.shape == (2, 512 * 1024, 2) and np.all(np.isfinite(stems))
    for i in range(2):
        assert sdr(ref[i], stems[i]) > 60


@pytest.mark.slow
def test_pretrained_quantized_full_graphs_sound_like_the_float_model(pretrained, falcon):
    """fp16 and int8 (weights only, float compute) of the real 2stems model on real music, against Keras."""
    from tfsep.audio.io import load_stems
    from tfsep.export.tflite import convert, non_builtin_ops

    stems, _ = load_stems(falcon)
    mixture = sum(stems[k] for k in ("drums", "bass", "other", "vocals"))
    seg = np.zeros((512 * 1024, 2), np.float32)
    seg[: len(mixture)] = mixture
    ref = segment_reference(pretrained, seg)
    floors = {"float16": (60.0, 45e6), "int8": (30.0, 25e6)}  # dB against the float model, bytes
    for quantize, (min_sdr, max_bytes) in floors.items():
        content = convert(pretrained, "full", quantize)
        assert non_builtin_ops(content) == [] and len(content) <= max_bytes, (quantize, len(content))
        out = _litert(content)(waveform=seg)["stems"]
        assert np.all(np.isfinite(out)), quantize  # the converter's own float16 gave NaN (1e-10 underflows)
        for i, stem in enumerate(pretrained.config["stems"]):
            assert sdr(ref[i][: len(mixture)], out[i][: len(mixture)]) >= min_sdr, (quantize, stem)


def test_tflite_quantized_tiny(tiny_model, music):
    from tfsep.export.tflite import convert, non_builtin_ops

    # Tiny random weights give near-tied ratio masks that small weight errors flip:
    # loose floors here; the pretrained figures are in bench/export_speed.py.
    mag = _magnitude_block(tiny_model, music, 64)
    ref = tiny_model.keras_model(mag[None], training=False)[0].numpy()
    fp32 = convert(tiny_model, "core")
    for quantize, min_sdr in (("float16", 10.0), ("int8", 3.0)):
        q = convert(tiny_model, "core", quantize)
        assert non_builtin_ops(q) == []
        assert len(q) < len(fp32)
        masks = _litert(q)(magnitude=mag)["masks"]
        assert np.all(np.isfinite(masks))
        assert sdr(ref * mag[None], masks * mag[None]) > min_sdr, quantize


def test_tiny_full_graph_average_extension(music):
    from conftest import tiny_config

    from tfsep import models
    from tfsep.export.tflite import convert

    model = models.from_config(tiny_config(mask_extension="average", F=64))
    content = convert(model, "full")
    seg = music[: 64 * 128]
    stems = _litert(content)(waveform=np.ascontiguousarray(seg))["stems"]
    ref = segment_reference(model, seg)
    assert np.abs(stems - ref).max() < 1e-4


def test_unsupported_op_fails_naming_it(tiny_model):
    import keras
    import tensorflow as tf

    from tfsep.export import ExportError
    from tfsep.export.tflite import convert
    from tfsep.models import TfsepModel

    class Igamma(keras.layers.Layer):  # no TFLite builtin
        def call(self, x):
            return tf.math.igamma(x + 1.0, x + 2.0)

    cfg = tiny_model.config
    inp = keras.Input((None, cfg["F"], 2))
    out = keras.layers.Reshape((1, -1, cfg["F"], 2))(Igamma()(inp))
    out = keras.layers.Concatenate(axis=1)([out, out])
    model = TfsepModel(keras.Model(inp, out), cfg)
    with pytest.raises(ExportError, match="tf.Igamma"):
        convert(model, "core")


def test_cli_export_both_formats(tiny_model_dir, tmp_path):
    from tfsep.cli import main

    runner = CliRunner()
    res = runner.invoke(
        main,
        [
            "export",
            "-m",
            str(tiny_model_dir),
            "--format",
            "savedmodel",
            "-o",
            str(tmp_path / "sm"),
            "--version",
            "7",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sm" / "7" / "saved_model.pb").is_file()
    out = tmp_path / "t.tflite"
    args = ["export", "-m", str(tiny_model_dir), "--format", "tflite", "--quantize", "float16", "-o", str(out)]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert out.is_file() and json.loads(out.with_suffix(".json").read_text())["quantize"] == "float16"
    res = runner.invoke(main, args)
    assert res.exit_code == 1 and "exists" in res.output
    res = runner.invoke(
        main,
        ["export", "-m", str(tiny_model_dir), "--format", "tflite", "--frames", "60", "-o", str(tmp_path / "x.tflite")],
    )
    assert res.exit_code == 1 and "multiple of 8" in res.output


def test_waveform_model_family_exports(tiny_model, tmp_path):
    """A waveform model ((B, samples, C) -> (B, stems, samples, C)) exports to both formats."""
    import keras
    import tensorflow as tf

    from tfsep.export import export_savedmodel, model_kind
    from tfsep.export.tflite import convert
    from tfsep.models import TfsepModel

    inp = keras.Input((None, 2))
    y = keras.layers.Conv1D(4, 5, padding="same", activation="tanh")(inp)
    y = keras.layers.Reshape((-1, 2, 2))(y)
    out = keras.layers.Permute((2, 1, 3))(y)
    model = TfsepModel(keras.Model(inp, out), tiny_model.config)
    assert model_kind(model) == "waveform"
    sm = tf.saved_model.load(str(export_savedmodel(model, tmp_path / "wave")))
    x = np.random.default_rng(3).standard_normal((10000, 2)).astype(np.float32) * 0.1
    got = sm.signatures["serving_default"](waveform=tf.constant(x))
    direct = model.keras_model(x[None])[
        0
    ].numpy()  # a 5-tap model: segmenting changes only the joins, by a tiny crossfade weight
    np.testing.assert_allclose(got["vocals"].numpy()[100:-100], direct[0][100:-100], atol=1e-4)
    assert "separate_spectrogram" not in sm.signatures
    seg = x[:8192]
    stems = _litert(convert(model, "full"))(waveform=seg)["stems"]
    np.testing.assert_allclose(
        stems, with_export_residual(model, model.keras_model(seg[None])[0].numpy(), seg), atol=1e-5
    )


ZOO_TINY = ["unet1d_tiny", "enhanced_unet_tiny", "stacked_unet_tiny", "wave_unet_tiny", "demucs_tiny", "demucs2d_tiny"]


@pytest.mark.parametrize("name", ZOO_TINY)
def test_every_model_family_exports_to_builtin_tflite(name):
    """Each zoo family converts with builtin ops only and LiteRT matches Keras (or fails naming the op)."""
    from tfsep import models
    from tfsep.config import load_config
    from tfsep.export import ExportError, model_kind
    from tfsep.export.tflite import convert, non_builtin_ops

    path = Path(__file__).resolve().parents[1] / "configs" / "zoo" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path.name} is not in this checkout")
    model = models.from_config(load_config(path))
    try:
        content = convert(model, "core")
    except ExportError as exc:  # acceptable only with the op named
        assert "op(s) tf." in str(exc), str(exc)
        return
    assert non_builtin_ops(content) == []
    runner = _litert(content)
    ((key, detail),) = runner.get_input_details().items()
    x = np.abs(np.random.default_rng(0).standard_normal(detail["shape"])).astype(np.float32) * 0.1
    got = next(iter(runner(**{key: x}).values()))
    ref = model.keras_model(x[None], training=False)[0].numpy()
    if model_kind(model) == "waveform":
        ref = with_export_residual(model, ref[:, : x.shape[0]], x)
    assert np.all(np.isfinite(got))
    assert np.abs(got - ref).max() <= 1e-4 * max(1.0, float(np.abs(ref).max()))


def test_exports_bake_in_the_default_presets_band_and_residual(tiny_model):
    """Pinned literally (export_helpers.EXPORTED): full band and the residual stem, as `tfsep separate`'s
    default preset gives, so that an exported model's stems are the default's without its Wiener step."""
    from tfsep.export.metadata import metadata
    from tfsep.separation.presets import preset

    meta = metadata(tiny_model)  # the tiny config itself says mask_extension "zeros": the export overrides it
    assert tiny_model.config["mask_extension"] == "zeros"
    assert (meta["mask_extension"], meta["residual"]) == (EXPORTED["mask_extension"], "accompaniment")
    default = preset("default")
    assert (default["mask_extension"], default["residual"]) == (EXPORTED["mask_extension"], EXPORTED["residual"])
