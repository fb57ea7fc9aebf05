"""The model zoo on real music: every family trained at one equal budget on real stems, scored on real songs.

Each family's ``configs/zoo/<family>_<size>.json`` trains ``--steps`` steps of
batch ``--batch-size`` on the real training sources of
``configs/4stems-real/cascade.json`` (the 93 musdb18-7 train excerpts and the
10 MedleyDB songs; ``training.sources``), with the same seed, then separates
the 37 musdb18-7 test excerpts (``bench/musdb7_4stems.py``: global SDR, mean
over excerpts, mixture = sum of the stems).  The 2D U-Net runs twice: its
softmax head (one U-Net, a softmax over the stems) and Spleeter's sigmoid
head (one U-Net per stem).

Usage (the run in docs/training.md)::

    python bench/zoo_real.py --work runs/zoo-real --size small --steps 400

Resumable: a trained family (its run directory holds ``bench_timing.json``)
is only scored again.  Prints a Markdown table; every number is on real music.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import musdb7_4stems  # noqa: E402

ZOO = ROOT / "configs" / "zoo"
REAL = ROOT / "configs" / "4stems-real" / "cascade.json"
# name -> (zoo family, model.params changes)
FAMILIES = {
    "unet (softmax)": ("unet", {}),
    "unet (sigmoid; one per stem)": ("unet", {"head": "sigmoid", "unet_per_stem": True}),
    "enhanced_unet": ("enhanced_unet", {}),
    "stacked_unet": ("stacked_unet", {}),
    "wave_unet": ("wave_unet", {}),
    "demucs": ("demucs", {}),
}


def config_for(name: str, size: str, args) -> dict:
    family, changes = FAMILIES[name]
    cfg = json.loads((ZOO / f"{family}_{size}.json").read_text())
    real = json.loads(REAL.read_text())["training"]
    cfg["name"] = f"real-{family}-{size}" + ("-sigmoid" if changes.get("head") == "sigmoid" else "")
    cfg["model"]["params"].update(changes)
    tr = cfg["training"]
    for key in ("dataset", "train_path", "validation_path", "stem_pools"):
        tr.pop(key, None)
    tr.update(
        sources=real["sources"],
        data_cache=str(ROOT / "runs" / ".cache" / f"real-stems-{cfg['sample_rate']}"),
        validation_tracks=real["validation_tracks"],
        validation_seconds=None,
        augment_polarity=True,
        silence_db=real["silence_db"],
        batch_size=args.batch_size,
        train_max_steps=args.steps,
        random_seed=args.seed,
        validate_every=args.steps,
        checkpoint_every=max(args.steps // 2, 1),
        log_every=max(args.steps // 10, 1),
    )
    return cfg


def train(name: str, args) -> tuple[Path, float]:
    cfg = config_for(name, args.size, args)
    run_dir = args.work / cfg["name"]
    timing = run_dir / "bench_timing.json"
    if not timing.is_file():
        cfg_path = args.work / "configs" / f"{cfg['name']}.json"
        cfg_path.parent.mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
        exe = Path(sys.executable).with_name("tfsep")
        cmd = [str(exe), "train", "-c", str(cfg_path), "-o", str(run_dir), "-q"]
        if (run_dir / "checkpoints").is_dir():
            cmd.append("--resume")
        print(" ".join(cmd), file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT)
        timing.write_text(json.dumps({"train_wall_s": time.perf_counter() - t0, "steps": args.steps}))
    return run_dir, json.loads(timing.read_text())["train_wall_s"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "zoo-real")
    ap.add_argument("--size", default="small", choices=["tiny", "small", "4stems"])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--root", default=musdb7_4stems.DEFAULT_ROOT)
    ap.add_argument("--limit", type=int, default=None, help="first N test excerpts only")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    names = [n for n in FAMILIES if n in args.families.split(",")]
    trained = {name: train(name, args) for name in names}

    from tfsep import Separator

    tracks = musdb7_4stems.test_tracks(args.root, args.limit)
    stems = musdb7_4stems.STEMS
    print(
        f"\n{len(tracks)} real MUSDB18 test excerpts; {args.steps} steps of batch {args.batch_size}, seed {args.seed}, "
        f"{args.size} configs; global SDR (dB), mean over excerpts, default preset\n"
    )
    print("| model | params | train wall (min) | " + " | ".join(stems) + " | mean |")
    print("|---|---:|---:|" + "---:|" * (len(stems) + 1))
    for name, (run_dir, wall) in trained.items():
        sep = Separator(str(run_dir))
        scores, _ = musdb7_4stems.score(sep, False, tracks)
        means = [float(np.mean(scores[s])) for s in stems]
        params = sep.model.keras_model.count_params()
        print(
            f"| {name} | {params:,} | {wall / 60:.1f} | "
            + " | ".join(f"{m:.2f}" for m in means)
            + f" | {np.mean(means):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
