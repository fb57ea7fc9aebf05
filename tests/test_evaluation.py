"""Metrics against the libraries they wrap, reports, plots, and ``tfsep evaluate`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import SR

from tfsep.evaluation import report
from tfsep.evaluation.metrics import bss_eval_sources, global_sdr, median_over_frames, museval_scores

STEMS = ["vocals", "drums", "bass", "other"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def short(falcon_stems):
    """2 s of true stems and a rough estimate of each (true stem plus some of another)."""
    refs = {k: v[SR : 3 * SR] for k, v in falcon_stems.items()}
    rng = np.random.default_rng(0)
    ests = {}
    for i, s in enumerate(STEMS):
        leak = refs[STEMS[(i + 1) % 4]]
        ests[s] = (0.8 * refs[s] + 0.2 * leak + 0.003 * rng.standard_normal(refs[s].shape)).astype(np.float32)
    return refs, ests


@pytest.fixture(scope="module")
def dataset(falcon_stems, tmp_path_factory):
    """Two 3-second tracks cut from the Falcon stems, as stem folders."""
    root = tmp_path_factory.mktemp("stemfolders")
    for i, (a, b) in enumerate([(0.5, 3.5), (3.0, 6.0)]):
        d = root / f"falcon{i}"
        d.mkdir()
        for s, x in falcon_stems.items():
            sf.write(d / f"{s}.wav", x[int(a * SR) : int(b * SR)], SR, subtype="FLOAT")
    return root


@pytest.fixture(scope="module")
def dataset2(falcon_stems, tmp_path_factory):
    """The same two tracks with two stems (vocals, accompaniment): BSS Eval is 8x cheaper on 2 sources."""
    root = tmp_path_factory.mktemp("stemfolders2")
    acc = falcon_stems["drums"] + falcon_stems["bass"] + falcon_stems["other"]
    for i, (a, b) in enumerate([(0.5, 3.5), (3.0, 6.0)]):
        d = root / f"falcon{i}"
        d.mkdir()
        sl = slice(int(a * SR), int(b * SR))
        sf.write(d / "vocals.wav", falcon_stems["vocals"][sl], SR, subtype="FLOAT")
        sf.write(d / "accompaniment.wav", acc[sl], SR, subtype="FLOAT")
    return root


# -- metrics -------------------------------------------------------------------------


def test_global_sdr_definition():
    ref = np.ones((100, 2), np.float32)
    assert global_sdr(ref, 0.9 * ref) == pytest.approx(20.0, abs=1e-3)
    with pytest.raises(ValueError):
        global_sdr(ref, ref[:50])


def test_museval_scores_equal_museval_called_directly(short):
    import museval

    refs, ests = short
    three = STEMS[1:]  # three sources keep BSS Eval's projections cheap
    ours = museval_scores({s: refs[s] for s in three}, ests, SR)
    SDR, ISR, SIR, SAR = museval.evaluate(
        np.stack([refs[s] for s in three]), np.stack([ests[s] for s in three]), win=SR, hop=SR
    )
    assert list(ours) == three
    for i, s in enumerate(three):
        for name, direct in (("SDR", SDR), ("ISR", ISR), ("SIR", SIR), ("SAR", SAR)):
            np.testing.assert_allclose(ours[s][name], direct[i], rtol=1e-9, err_msg=f"{s} {name}")
    assert all(len(ours[s]["SDR"]) == 2 for s in three)  # 1 s frames


def test_museval_vocals_accompaniment_scenario(short):
    """As museval.eval_mus_track: vocals/accompaniment are scored as a pair of their own."""
    import museval

    refs, ests = short
    refs2 = {"vocals": refs["vocals"], "accompaniment": refs["drums"] + refs["bass"] + refs["other"]}
    ests2 = {"vocals": ests["vocals"], "accompaniment": ests["drums"] + ests["bass"] + ests["other"]}
    ours = museval_scores(refs2, ests2, SR)
    SDR, *_ = museval.evaluate(np.stack(list(refs2.values())), np.stack(list(ests2.values())), win=SR, hop=SR)
    np.testing.assert_allclose(ours["vocals"]["SDR"], SDR[0])
    np.testing.assert_allclose(ours["accompaniment"]["SDR"], SDR[1])


def test_bss_eval_sources_matches_mir_eval_and_solves_permutation(short):
    import mir_eval

    refs, ests = short
    two = ["vocals", "drums"]
    refs = {s: refs[s][: SR // 2] for s in two}
    ests = {s: ests[s][: SR // 2] for s in reversed(two)}  # order must not matter
    ours = bss_eval_sources(refs, ests)
    sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(
        np.stack([refs[s].mean(axis=1) for s in two]), np.stack([ests[s].mean(axis=1) for s in two])
    )
    for i, s in enumerate(two):
        assert (
            ours[s]["SDR"] == pytest.approx(sdr[i])
            and ours[s]["SIR"] == pytest.approx(sir[i])
            and ours[s]["SAR"] == pytest.approx(sar[i])
        )
        assert ours[s]["perm"] == s


def test_median_over_frames_ignores_silent_frames():
    assert median_over_frames([1.0, None, 3.0, float("nan")]) == 2.0
    assert np.isnan(median_over_frames([None, None]))


# -- reports and plots ------------------------------------------------------------------


def test_reports_csv_markdown_and_plots(tmp_path, short):
    from tfsep.evaluation.plots import boxplots, track_figure

    refs, ests = short
    for method, scale in (("good", 1.0), ("bad", 0.3)):
        scores = {s: {"SDR": [global_sdr(refs[s], scale * ests[s] + (1 - scale) * refs[STEMS[0]])]} for s in STEMS}
        for track in ("t1", "t2"):
            doc = report.track_document(
                track, method, "sdr", scores, win=3.0, hop=3.0, duration=None, offset=0.0, sample_rate=SR
            )
            report.write_json(report.track_json_path(tmp_path, method, track), doc)
    rows = report.collect(tmp_path, "sdr")
    assert len(rows) == 2 * 2 * 4
    report.write_csv(rows, tmp_path / "scores.csv")
    assert (tmp_path / "scores.csv").read_text().splitlines()[0] == "method,track,target,metric,score"
    md = report.markdown_table(rows)
    assert "| method | vocals | drums | bass | other |" in md and "| good |" in md and "| bad |" in md
    box = boxplots(rows, tmp_path / "plots" / "box.png")
    mix = np.sum([refs[s] for s in STEMS], axis=0)
    fig = track_figure(mix, ests, refs, SR, tmp_path / "plots" / "track.png", title="test")
    for path in (box, fig):
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000


def test_json_is_written_atomically_and_nan_free(tmp_path):
    doc = report.track_document(
        "t",
        "m",
        "museval",
        {"vocals": {"SDR": [1.0, float("nan")], "SIR": [float("inf"), 2.0], "SAR": [1, 2], "ISR": [1, 2]}},
        win=1,
        hop=1,
        duration=3.0,
        offset=0.0,
        sample_rate=SR,
    )
    path = report.track_json_path(tmp_path, "m", "t")
    report.write_json(path, doc)
    loaded = json.loads(path.read_text())
    frames = loaded["targets"][0]["frames"]
    assert frames[1]["metrics"]["SDR"] is None and frames[0]["metrics"]["SIR"] > 1e8
    assert report.is_scored(path, "museval", 3.0, 0.0) and not report.is_scored(path, "sdr", 3.0, 0.0)
    assert [p.name for p in path.parent.iterdir()] == ["t.json"]


# -- tfsep evaluate --------------------------------------------------------------------


def _evaluate(*args):
    from tfsep.cli import main

    return CliRunner().invoke(main, ["evaluate", *args], catch_exceptions=False)


def test_evaluate_sdr_end_to_end(dataset, tmp_path):
    out = tmp_path / "eval"
    r = _evaluate(
        "-m", "hpss", "-m", "irm1", "-m", "mixture", "--tracks", str(dataset), "--metrics", "sdr", "-o", str(out), "-q"
    )
    assert r.exit_code == 0, r.output
    for method in ("hpss", "irm1", "mixture"):
        for track in ("falcon0", "falcon1"):
            doc = json.loads((out / method / f"{track}.json").read_text())
            assert doc["metric"] == "sdr" and doc["name"] == track and doc["targets"]
    summary = report.summary(report.collect(out, "sdr"))["SDR"]
    assert set(summary["hpss"]) == {"drums"}
    for s in STEMS:
        assert summary["irm1"][s] > summary["mixture"][s] + 5
    assert summary["hpss"]["drums"] > summary["mixture"]["drums"]
    assert "| irm1 |" in (out / "results.md").read_text() and "| irm1 |" in r.output
    assert (out / "scores.csv").stat().st_size > 100
    for png in ("sdr_boxplot.png", "irm1_falcon0.png", "hpss_falcon0.png"):
        assert (out / "plots" / png).read_bytes().startswith(PNG)


def test_evaluate_museval_parallel_and_resumable(dataset2, tmp_path):
    out = tmp_path / "eval"
    args = (
        "-m",
        "irm2",
        "--tracks",
        str(dataset2),
        "--metrics",
        "museval",
        "--duration",
        "3",
        "--jobs",
        "2",
        "-o",
        str(out),
        "--no-plots",
    )
    r = _evaluate(*args)
    assert r.exit_code == 0, r.output
    assert "scored 2, skipped 0" in r.output
    first = out / "irm2" / "falcon0.json"
    doc = json.loads(first.read_text())
    assert doc["metric"] == "museval" and doc["duration"] == 3.0
    assert [t["name"] for t in doc["targets"]] == ["accompaniment", "vocals"] or {
        t["name"] for t in doc["targets"]
    } == {"vocals", "accompaniment"}
    assert len(doc["targets"][0]["frames"]) == 3 and set(doc["targets"][0]["frames"][0]["metrics"]) == {
        "SDR",
        "SIR",
        "SAR",
        "ISR",
    }
    mtime = first.stat().st_mtime_ns
    # A second run skips what is scored; after losing one file it redoes only that one.
    r = _evaluate(*args)
    assert "scored 0, skipped 2" in r.output and first.stat().st_mtime_ns == mtime
    (out / "irm2" / "falcon1.json").unlink()
    r = _evaluate(*args)
    assert "scored 1, skipped 1" in r.output and first.stat().st_mtime_ns == mtime
    rows = list(csv_rows(out / "scores.csv"))
    assert {r["track"] for r in rows} == {"falcon0", "falcon1"} and {r["metric"] for r in rows} == {
        "SDR",
        "SIR",
        "SAR",
        "ISR",
    }
    # A different excerpt is a different score: nothing is skipped.
    r = _evaluate(
        "-m", "irm2", "--tracks", str(dataset2), "--metrics", "museval", "--duration", "1", "-o", str(out), "--no-plots"
    )
    assert "scored 2, skipped 0" in r.output


def csv_rows(path):
    import csv

    with open(path) as f:
        yield from csv.DictReader(f)


def test_evaluate_usage_errors(dataset, tmp_path):
    r = _evaluate("-m", "hpss", "-o", str(tmp_path))
    assert r.exit_code != 0 and "--musdb" in r.output
    r = _evaluate("-m", "hpss", "--tracks", str(dataset), "--musdb", str(dataset), "-o", str(tmp_path))
    assert r.exit_code != 0
    r = _evaluate("-m", "no-such-model-xyz", "--tracks", str(tmp_path / "missing"), "-o", str(tmp_path), "-q")
    assert r.exit_code == 1 and "error" in r.output and "Traceback" not in r.output


def test_two_model_directories_of_one_name_are_scored_apart(dataset, tiny_model_dir, tiny4_model_dir, tmp_path):
    """``runs/a/model`` and ``runs/b/model``: two methods, two folders, two rows; never merged."""
    import shutil

    for run, src in (("a", tiny_model_dir), ("b", tiny4_model_dir)):
        shutil.copytree(src, tmp_path / "runs" / run / "model")
    out = tmp_path / "eval"
    a, b = str(tmp_path / "runs" / "a" / "model"), str(tmp_path / "runs" / "b" / "model")
    r = _evaluate("-m", a, "-m", b, "--tracks", str(dataset), "--metrics", "sdr", "-o", str(out), "-q")
    assert r.exit_code == 0, r.output
    summary = report.summary(report.collect(out, "sdr"))["SDR"]
    assert set(summary) == {"a-model", "b-model"}
    assert set(summary["a-model"]) == {"vocals", "accompaniment"} and set(summary["b-model"]) == set(STEMS)
    r = _evaluate("-m", a, "-m", a, "--tracks", str(dataset), "--metrics", "sdr", "-o", str(out), "-q")
    assert r.exit_code == 1 and "given twice" in r.output
