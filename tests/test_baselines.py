"""Oracles and classical baselines on a real excerpt: exactness, sums, and beating the mixture."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SR, falcon_path

from tfsep.baselines import BASELINES, baseline_separator, get_method
from tfsep.errors import TfsepError
from tfsep.evaluation.metrics import global_sdr

STEMS = ["vocals", "drums", "bass", "other"]


@pytest.fixture(scope="module")
def excerpt():
    """6 s of Falcon 69: the true stems, accompaniment, and their sum as the mixture (the file's mix is mastered)."""
    from tfsep.audio.io import load_stems

    stems, sr = load_stems(falcon_path(), sample_rate=SR)
    a, b = 2 * SR, 8 * SR
    refs = {k: stems[k][a:b] for k in STEMS}
    refs["accompaniment"] = refs["drums"] + refs["bass"] + refs["other"]
    mixture = (refs["vocals"] + refs["accompaniment"]).astype(np.float32)
    return refs, mixture


@pytest.fixture(scope="module")
def results(excerpt):
    """Every classical baseline run once on the excerpt."""
    refs, mixture = excerpt
    out = {}
    for name, (module, *_rest) in BASELINES.items():
        if module != "oracle":
            out[name] = get_method(name).separate(mixture, SR)
    return out


# -- oracles ----------------------------------------------------------------------


# mwf: the EM's regularisation (sqrt(eps) I) dims near-silent bins, hence less than float precision.
@pytest.mark.parametrize("name,min_sdr", [("irm1", 90), ("irm2", 90), ("ibm", 90), ("mwf", 25)])
def test_oracle_with_one_source_reconstructs(excerpt, name, min_sdr):
    _, mixture = excerpt
    oracle = get_method(name).for_track({"all": mixture}, SR)
    out = oracle.separate(mixture, SR)
    assert list(out) == ["all"]
    assert out["all"].shape == mixture.shape
    assert global_sdr(mixture, out["all"]) > min_sdr


@pytest.mark.parametrize("name", ["irm1", "irm2"])
def test_ratio_mask_stems_sum_to_mixture(excerpt, name):
    refs, mixture = excerpt
    out = get_method(name).for_track({k: refs[k] for k in STEMS}, SR).separate(mixture, SR)
    assert list(out) == STEMS
    np.testing.assert_allclose(np.sum(list(out.values()), axis=0), mixture, atol=2e-5)


@pytest.mark.parametrize("name", ["irm1", "irm2", "ibm", "mwf"])
def test_oracles_far_above_mixture(excerpt, name):
    refs, mixture = excerpt
    out = get_method(name).for_track({k: refs[k] for k in STEMS}, SR).separate(mixture, SR)
    for s in STEMS:
        assert global_sdr(refs[s], out[s]) > global_sdr(refs[s], mixture) + 8, s


def test_mwf_at_least_as_good_as_irm1_on_average(excerpt):
    refs, mixture = excerpt
    four = {k: refs[k] for k in STEMS}
    mwf = get_method("mwf").for_track(four, SR).separate(mixture, SR)
    irm = get_method("irm1").for_track(four, SR).separate(mixture, SR)
    assert np.mean([global_sdr(refs[s], mwf[s]) for s in STEMS]) >= np.mean(
        [global_sdr(refs[s], irm[s]) for s in STEMS]
    )


def test_the_old_irm_constructor_still_works(excerpt):
    from tfsep.baselines.oracle import IdealRatioMask

    refs, mixture = excerpt
    out = IdealRatioMask({"vocals": refs["vocals"], "accompaniment": refs["accompaniment"]}, SR, power=1).separate(
        mixture, SR
    )
    assert global_sdr(refs["vocals"], out["vocals"]) > 5


def test_oracle_needs_references(excerpt):
    _, mixture = excerpt
    with pytest.raises(TfsepError, match="true stems"):
        get_method("irm1").separate(mixture, SR)
    with pytest.raises(TfsepError, match="oracle"):
        baseline_separator("mwf")


def test_binary_mask_threshold_is_checked():
    with pytest.raises(TfsepError, match="threshold"):
        get_method("ibm", threshold=1.5)


# -- classical baselines -------------------------------------------------------------


# Where each method is meant to help: (method, stem).  The others are scored in the table.
MEANT = [
    ("hpss", "drums"),
    ("nmf", "drums"),
    ("repet-sim", "vocals"),
    ("spectral-subtraction", "vocals"),
    ("nmf4", "drums"),
    ("nmf4", "bass"),
    ("nmf4", "vocals"),
    ("nmf4", "other"),
    ("hpss-repet4", "drums"),
    ("hpss-repet4", "bass"),
    ("hpss-repet4", "vocals"),
    ("hpss-repet4", "other"),
]


@pytest.mark.parametrize("name,stem", MEANT)
def test_baseline_beats_mixture_as_estimate(excerpt, results, name, stem):
    refs, mixture = excerpt
    est = results[name][stem]
    assert global_sdr(refs[stem], est) > global_sdr(refs[stem], mixture) + 0.3


@pytest.mark.parametrize("name", [n for n, v in BASELINES.items() if v[0] != "oracle"])
def test_baseline_contract(excerpt, results, name):
    _, mixture = excerpt
    method = get_method(name)
    out = results[name]
    assert list(out) == method.stems
    for s, y in out.items():
        assert y.shape == mixture.shape and y.dtype == np.float32, s
        assert np.all(np.isfinite(y)), s


@pytest.mark.parametrize("name", ["hpss-repet4", "spectral-subtraction"])
def test_pipelines_sum_to_mixture(excerpt, results, name):
    _, mixture = excerpt
    np.testing.assert_allclose(np.sum(list(results[name].values()), axis=0), mixture, atol=1e-5)


def test_mono_input_and_streaming_interface(excerpt):
    _, mixture = excerpt
    method = get_method("repet-sim")
    mono = mixture[: 2 * SR, 0]
    out = method.separate(mono, SR)
    assert all(y.shape == mono.shape for y in out.values())
    x = mixture[: 2 * SR]
    blocks = [x[i : i + 30000] for i in range(0, len(x), 30000)]
    seen = []
    (block,) = list(method.iter_separate(blocks, on_segment=seen.append))
    assert block.shape == (2, 2 * SR, 2) and seen == [2 * SR]


def test_nmf_costs_and_determinism(excerpt):
    _, mixture = excerpt
    x = mixture[: 2 * SR]
    a = get_method("nmf", beta="euclidean", n_iter=20, seed=3).separate(x, SR)
    b = get_method("nmf", beta="euclidean", n_iter=20, seed=3).separate(x, SR)
    np.testing.assert_array_equal(a["drums"], b["drums"])
    with pytest.raises(TfsepError, match="kl"):
        get_method("nmf", beta="itakura")


def test_unknown_baseline():
    with pytest.raises(TfsepError, match="unknown baseline"):
        get_method("nope")


def test_cli_separate_with_a_baseline(tmp_path, excerpt):
    from conftest import write_wav

    from tfsep.cli import main

    _, mixture = excerpt
    song = write_wav(tmp_path / "song.wav", mixture[: 2 * SR])
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["separate", "-m", "hpss", "--stems", "drums", "-o", str(out), "-q", str(song)])
    assert r.exit_code == 0, r.output
    assert (out / "song" / "drums.wav").stat().st_size > 1000
    assert not (out / "song" / "harmonic.wav").exists()
    r = CliRunner().invoke(main, ["separate", "-m", "irm1", "-o", str(out), "-q", str(song)])
    assert r.exit_code == 1 and "evaluate" in r.output
