"""MUSDB18 and MUSDB18-HQ, read through the ``musdb`` package: train on them and evaluate on them.

A tiny dataset in both layouts is built here: 3 train and 1 test track of
two seconds; MUSDB18's ``<subset>/<track>.stem.mp4`` (5 AAC streams, made by
ffmpeg: mixture, drums, bass, other, vocals) and MUSDB18-HQ's
``<subset>/<track>/{mixture,drums,bass,other,vocals}.wav``.  Its songs are
not MUSDB18's, so musdb's validation split (MUSDB18's own track names) is
empty: training holds tracks out instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

SR = 44100
SECONDS = 2.0
STREAMS = ("mixture", "drums", "bass", "other", "vocals")  # musdb's stem ids 0..4
TRACKS = {"train": ["Alpha - One", "Beta - Two", "Gamma - Three"], "test": ["Delta - Four"]}
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _stems(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * SECONDS)) / SR
    gate = lambda rate: np.sin(2 * np.pi * rate * t) > 0  # noqa: E731
    mono = {
        "drums": 0.2 * rng.standard_normal(len(t)) * np.exp(-((t * 4) % 1) * 8),
        "bass": 0.3 * np.sin(2 * np.pi * rng.uniform(50, 90) * t),
        "other": 0.15 * np.sin(2 * np.pi * rng.uniform(200, 400) * t) * gate(0.5),
        "vocals": 0.25 * np.sin(2 * np.pi * rng.uniform(400, 900) * t) * gate(1.5),
    }
    return {k: np.stack([v, 0.9 * v], 1).astype(np.float32) for k, v in mono.items()}


@pytest.fixture(scope="module")
def musdb_roots(tmp_path_factory):
    """``{"musdb": root of .stem.mp4 files, "musdbhq": root of WAV folders}``, and the stems written."""
    root = tmp_path_factory.mktemp("musdb")
    written = {}
    seed = 0
    for subset, names in TRACKS.items():
        for name in names:
            stems = _stems(seed)
            seed += 1
            audio = {"mixture": sum(stems.values()), **stems}
            folder = root / "hq" / subset / name
            folder.mkdir(parents=True)
            for stream in STREAMS:
                sf.write(folder / f"{stream}.wav", audio[stream], SR, subtype="PCM_16")
            (root / "stems" / subset).mkdir(parents=True, exist_ok=True)
            cmd = ["ffmpeg", "-v", "error", "-y"]
            for stream in STREAMS:
                cmd += ["-i", str(folder / f"{stream}.wav")]
            for i in range(len(STREAMS)):
                cmd += ["-map", str(i)]
            cmd += ["-c:a", "aac", "-b:a", "192k", str(root / "stems" / subset / f"{name}.stem.mp4")]
            subprocess.run(cmd, check=True)
            written[name] = audio
    return {"musdb": root / "stems", "musdbhq": root / "hq"}, written


@pytest.mark.parametrize("kind", ["musdb", "musdbhq"])
def test_both_layouts_read_as_written(musdb_roots, kind):
    from tfsep.data.datasets import musdb_tracks
    from tfsep.evaluation.metrics import global_sdr

    roots, written = musdb_roots
    is_wav = kind == "musdbhq"
    assert [t.name for t in musdb_tracks(roots[kind], is_wav, "train")] == TRACKS["train"]
    (track,) = musdb_tracks(roots[kind], is_wav, "test")
    assert track.name == "Delta - Four" and track.sample_rate == SR
    audio = track.load(["vocals", "drums", "bass", "other", "accompaniment"])
    ref = written["Delta - Four"]
    n = len(ref["vocals"])
    # Each stream is the stem of that name, not shifted: a swapped or shifted one scores below 0 dB.
    # (AAC codes the noise drums at ~6 dB; PCM_16 is exact to ~90 dB.)
    floor = 40 if is_wav else 3
    for stem in ("vocals", "drums", "bass", "other", "mixture"):
        assert global_sdr(ref[stem], audio[stem][:n]) > floor, stem
    acc = ref["drums"] + ref["bass"] + ref["other"]
    assert global_sdr(acc, audio["accompaniment"][:n]) > floor
    excerpt = track.load(["vocals"], offset=0.5, duration=1.0)
    assert excerpt["vocals"].shape == excerpt["mixture"].shape == (SR, 2)


def _musdb_config(kind, root, tmp_path, base):
    """A shipped MUSDB18 config (``configs/musdb/``), made tiny: small STFT and U-Net, 3 steps."""
    cfg = json.loads((CONFIGS / "musdb" / base).read_text())
    cfg.update(frame_length=512, frame_step=128, T=64, F=128)
    cfg["model"]["params"]["conv_n_filters"] = [4, 8, 8]
    cfg["training"].update(
        dataset=kind,
        train_path=str(root),
        data_cache=str(tmp_path / "cache"),
        validation_tracks=1,
        validation_seconds=1.0,
        batch_size=2,
        train_max_steps=3,
        checkpoint_every=3,
        validate_every=3,
        log_every=1,
        audio_summaries=0,
    )
    return cfg


@pytest.mark.parametrize("kind, base", [("musdb", "4stems-unet.json"), ("musdbhq", "2stems-unet.json")])
def test_train_a_few_steps(musdb_roots, tmp_path, kind, base):
    from tfsep.pretrained import load_model_dir
    from tfsep.training.loop import Trainer

    roots, _ = musdb_roots
    cfg = _musdb_config(kind, roots[kind], tmp_path, base)
    trainer = Trainer(cfg, tmp_path / "run", quiet=True)
    # Not MUSDB18's songs: no musdb validation split, so the last train track is held out.
    assert [t.name for t in trainer.train_tracks] == TRACKS["train"][:2]
    assert [t.name for t in trainer.valid_tracks] == TRACKS["train"][2:]
    summary = trainer.run()
    assert summary["steps"] == 3 and np.isfinite(summary["losses"]).all()
    assert np.isfinite(summary["best_sdr"])
    assert list((tmp_path / "cache").glob("*.npy"))  # decoded once, cached for the next run
    assert load_model_dir(tmp_path / "run").stems == cfg["stems"]


def _cli(args):
    from tfsep.cli import main

    if "mix_stderr" in CliRunner.__init__.__code__.co_varnames:
        return CliRunner(mix_stderr=False).invoke(main, args)
    return CliRunner().invoke(main, args)


@pytest.mark.parametrize("kind", ["musdb", "musdbhq"])
def test_evaluate_on_musdb(musdb_roots, tmp_path, kind):
    roots, _ = musdb_roots
    out = tmp_path / "eval"
    args = ["evaluate", "-m", "hpss", "-m", "irm1", "--musdb", str(roots[kind]), "--metrics", "sdr"]
    args += ["-o", str(out), "-q", "--no-plots"] + (["--is-wav"] if kind == "musdbhq" else [])
    result = _cli(args)
    assert result.exit_code == 0, result.output + str(result.exception)
    assert sorted(p.name for p in (out / "irm1").iterdir()) == ["Delta_-_Four.json"]  # the test subset
    doc = json.loads((out / "irm1" / "Delta_-_Four.json").read_text())
    scores = {t["name"]: t["frames"][0]["metrics"]["SDR"] for t in doc["targets"]}
    assert set(scores) == {"vocals", "drums", "bass", "other"}
    assert all(np.isfinite(v) and v > 5 for v in scores.values()), scores  # the ratio-mask oracle
    assert (out / "hpss" / "Delta_-_Four.json").is_file()
    assert "| hpss |" in result.stdout and "| irm1 |" in result.stdout


def test_musdbhq_missing_stem_file_is_a_one_line_error(musdb_roots, tmp_path):
    roots, _ = musdb_roots
    root = tmp_path / "partial"
    shutil.copytree(roots["musdbhq"], root)
    (root / "test" / "Delta - Four" / "bass.wav").unlink()
    result = _cli(["evaluate", "-m", "hpss", "--musdb", str(root), "--is-wav", "-o", str(tmp_path / "e"), "-q"])
    assert result.exit_code == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tfsep: error:") and "bass.wav" in err[0], result.stderr


def test_stem_file_with_missing_streams_is_a_one_line_error(musdb_roots, tmp_path):
    roots, _ = musdb_roots
    folder = roots["musdbhq"] / "test" / "Delta - Four"
    (tmp_path / "bad" / "test").mkdir(parents=True)
    two_streams = tmp_path / "bad" / "test" / "Two - Streams.stem.mp4"
    cmd = ["ffmpeg", "-v", "error", "-i", str(folder / "mixture.wav"), "-i", str(folder / "drums.wav")]
    subprocess.run(cmd + ["-map", "0", "-map", "1", "-c:a", "aac", str(two_streams)], check=True)
    result = _cli(["evaluate", "-m", "hpss", "--musdb", str(tmp_path / "bad"), "-o", str(tmp_path / "e"), "-q"])
    assert result.exit_code == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and "5 streams" in err[0] and "vocals" in err[0], result.stderr


def _mono_folders(root, names, seed=100):
    """MedleyDB-like songs: one mono file per stem (vocals silent in the first song, as in instrumentals)."""
    for i, name in enumerate(names):
        folder = root / name
        folder.mkdir(parents=True)
        for stem, x in _stems(seed + i).items():
            mono = x[:, 0] * (0.0 if (i == 0 and stem == "vocals") else 1.0)
            sf.write(folder / f"{stem}.flac", mono, SR, subtype="PCM_16")
    return root


def _sources_config(musdb_root, folders_root, tmp_path, **training):
    cfg = _musdb_config("musdb", musdb_root, tmp_path, "4stems-unet.json")
    tr = cfg["training"]
    del tr["dataset"], tr["train_path"]
    tr.update(
        sources=[
            {"dataset": "musdb", "path": str(musdb_root), "weight": 3},
            {"dataset": "folders", "path": str(folders_root), "weight": 1},
        ],
        **training,
    )
    return cfg


def test_sources_combine_musdb_and_mono_folders(musdb_roots, tmp_path):
    """One config trains on MUSDB18 files and mono stem folders: weights, whole songs held out, stereo from mono."""
    from tfsep.config import load_config
    from tfsep.data.pipeline import ExcerptSampler, StemCache, open_datasets, song_key, source_weights

    roots, _ = musdb_roots
    # "Beta - Two" is in both sources (as four MedleyDB songs are in musdb18-7's train excerpts).
    folders = _mono_folders(tmp_path / "mdb", ["Beta - Two", "Eps - Five", "Zeta - Six"])
    cfg = load_config(_sources_config(roots["musdb"], folders, tmp_path, validation_tracks=2, random_seed=0))
    train, valid = open_datasets(cfg)
    assert len(train) + len(valid) == 6
    held = {song_key(t) for t in valid}
    assert len(held) == 2 and not held & {song_key(t) for t in train}  # a song never on both sides
    for seed in range(6):  # whichever songs are drawn, Beta - Two's two tracks stay together
        cfg["training"]["random_seed"] = seed
        tr_, va_ = open_datasets(cfg)
        beta = [t for t in tr_ + va_ if song_key(t) == "beta - two"]
        assert len(beta) == 2 and (all(t in tr_ for t in beta) or all(t in va_ for t in beta))
    cfg["training"]["random_seed"] = 0

    p = source_weights(cfg, train)
    share = {src: p[[t.source == src for t in train]].sum() for src in (0, 1)}
    assert share[0] == pytest.approx(0.75) and share[1] == pytest.approx(0.25)

    cache = StemCache(train, cfg["stems"], 2)
    sampler = ExcerptSampler(cache, 64 * 128, cfg, track_p=p)
    rng = np.random.default_rng(0)
    drawn = np.bincount([sampler._draw_track(rng) for _ in range(2000)], minlength=len(train))
    np.testing.assert_allclose(drawn / 2000, p, atol=0.04)
    # Mono takes come out panned (left != right) and the mixture is still the sum of the stems.
    mono = [i for i, t in enumerate(train) if t.mono]
    assert mono and all(not t.mono for t in train if t.source == 0)
    panned = 0
    for index in range(40):
        mix, stems = sampler.example(index)
        np.testing.assert_allclose(mix, stems.sum(0), atol=1e-6)
        panned += any(not np.allclose(s[:, 0], s[:, 1]) and np.abs(s).max() > 0 for s in stems)
    assert panned > 0


def test_training_on_combined_sources_runs_and_caches(musdb_roots, tmp_path):
    from tfsep.pretrained import load_model_dir
    from tfsep.training.loop import Trainer

    roots, _ = musdb_roots
    folders = _mono_folders(tmp_path / "mdb", ["Eps - Five", "Zeta - Six"])
    cfg = _sources_config(roots["musdb"], folders, tmp_path, augment_polarity=True, silence_db=-50)
    summary = Trainer(cfg, tmp_path / "run", quiet=True).run()
    assert summary["steps"] == 3 and np.isfinite(summary["losses"]).all()
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 4  # every training song decoded once
    assert load_model_dir(tmp_path / "run").stems == cfg["stems"]


@pytest.mark.parametrize(
    "sources, needle",
    [
        ([], "at least one"),
        ([{"dataset": "wav", "path": "x"}], "dataset"),
        ([{"dataset": "musdb"}], "path"),
        ([{"dataset": "musdb", "path": "x", "weight": 0}], "weight"),
        ([{"dataset": "musdb", "path": ["a", "b"]}], "list of roots"),
        ([{"dataset": "musdb", "path": "x", "gain": 2}], "unknown key"),
    ],
)
def test_invalid_sources_name_the_key(sources, needle):
    from tfsep.config import load_config
    from tfsep.errors import ConfigError

    cfg = {"stems": ["vocals", "drums", "bass", "other"], "model": {"type": "unet"}, "training": {"sources": sources}}
    with pytest.raises(ConfigError, match="training.sources") as err:
        load_config(cfg)
    assert needle in str(err.value)
    cfg["training"] = {"sources": [{"dataset": "musdb", "path": "x"}], "train_path": "y"}
    with pytest.raises(ConfigError, match="one or the other"):
        load_config(cfg)
