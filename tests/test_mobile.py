"""mobile/separate_tflite.py: the LiteRT + numpy reference runner matches ``tfsep separate``."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf
from click.testing import CliRunner
from export_helpers import EXPORTED, pretrained_2stems, sdr

SR = 44100
RUNNER = Path(__file__).resolve().parent.parent / "mobile" / "separate_tflite.py"


def _runner_module():
    spec = importlib.util.spec_from_file_location("separate_tflite", RUNNER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_runner_matches_separator_across_segments(tiny_model, music, tmp_path):
    from tfsep.export.tflite import export_tflite
    from tfsep.separation import Separator

    x = music[: SR // 2 + 77]  # several tiny segments and a short last one
    # What exports bake in: the default preset without Wiener and TTA, which stay with the host.
    ref = Separator(tiny_model, **EXPORTED).separate(x, SR)
    for graph in ("core", "full"):
        path = export_tflite(tiny_model, tmp_path / f"tiny_{graph}.tflite", graph=graph)
        out = _runner_module().TFLiteSeparator(str(path)).separate(x)
        for stem in ref:
            assert out[stem].shape == x.shape
            assert sdr(ref[stem], out[stem]) > 50, (graph, stem)


def test_pretrained_runner_matches_tfsep_separate(music, tmp_path):
    """The mobile runner (no TensorFlow imported) on the real excerpt vs ``tfsep separate``: >= 40 dB."""
    from tfsep.cli import main
    from tfsep.export.tflite import export_tflite

    model = pretrained_2stems()
    tfl = export_tflite(model, tmp_path / "2stems_core.tflite")
    wav = tmp_path / "falcon.wav"
    sf.write(wav, music, SR, subtype="FLOAT")
    res = CliRunner().invoke(
        main,
        [
            "separate",
            "-q",
            str(wav),
            "-o",
            str(tmp_path / "keras"),
            "--bit-depth",
            "32",
            "--clip",
            "none",
            "--wiener",
            "0",
        ],
    )
    assert res.exit_code == 0, res.output
    code = (
        "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); "
        "assert 'tensorflow' not in sys.modules and 'tfsep' not in sys.modules, 'runner imported TF or tfsep'"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(RUNNER), str(tfl), str(wav), "-o", str(tmp_path / "mobile")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": ""},
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "x real time" in proc.stdout
    for stem in ("vocals", "accompaniment"):
        ref, _ = sf.read(tmp_path / "keras" / "falcon" / f"{stem}.wav", dtype="float32")
        est, _ = sf.read(tmp_path / "mobile" / "falcon" / f"{stem}.wav", dtype="float32")
        assert est.shape == ref.shape == music.shape
        assert sdr(ref, est) >= 40, stem
