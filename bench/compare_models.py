"""Compare the model zoo on one synthetic dataset with one training budget; write a Markdown report (docs/training.md keeps the measured run).

Steps (each skipped when its output already exists, so an interrupted run resumes):
1. ``tfsep data synth``: a train set and a test set (fixed seeds);
2. ``tfsep train`` of every config with the same steps and batch size (wall time noted);
3. ``tfsep evaluate`` (museval, 4 stems) of every trained model, the oracle ratio mask
   and a classical baseline on the test set;
4. the Markdown report: SDR/SIR/SAR/ISR per stem (median over tracks), parameters,
   training s/step (timed alone) and wall time, separation x real time, validation
   SDR per step, and the SDR box plot (copied to ``img/`` beside the report).
   The findings are written by hand below the generated tables.

Usage: the run in docs/training.md (about 2.5 h on a 2-core CPU)::

    python bench/compare_models.py --work runs/compare --size small \
        --tracks 40 --test-tracks 10 --seconds 30 --steps 600 --batch-size 4 \
        --ablations enhanced_batchnorm,enhanced_no_lstm,enhanced_no_attention

    # a smoke run of the whole pipeline (minutes; numbers meaningless):
    python bench/compare_models.py --size tiny --tracks 3 --test-tracks 2 --seconds 4 --steps 3 --work /tmp/cmp
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_speed  # noqa: E402  (bench/train_speed.py)

ZOO = ROOT / "configs" / "zoo"
FAMILIES = ["unet", "unet1d", "enhanced_unet", "stacked_unet", "wave_unet", "demucs", "demucs2d"]
# --ablations: the enhanced U-Net with one of its additions taken out (name -> family, model.params changes).
ABLATIONS = {
    "enhanced_no_attention": ("enhanced_unet", {"attention": False}),
    "enhanced_no_lstm": ("enhanced_unet", {"lstm_units": 0}),
    "enhanced_batchnorm": ("enhanced_unet", {"normalization": "batch"}),
    # refinement on top of the trained plain U-Net, which stays frozen (twice the steps in all)
    "stacked_on_unet": ("stacked_unet", {"init_from": "{runs}/unet_{size}", "freeze": True}),
}
METRICS = ["SDR", "SIR", "SAR", "ISR"]


def tfsep(*args, log):
    exe = Path(sys.executable).with_name("tfsep")
    cmd = [str(exe) if exe.exists() else "tfsep", *map(str, args)]
    log(" ".join(cmd))
    subprocess.run(cmd, check=True, cwd=ROOT)


def synth(out: Path, tracks: int, seconds: float, seed: int, sample_rate: int, log):
    if out.is_dir() and len([p for p in out.iterdir() if p.is_dir()]) >= tracks:
        return
    tfsep(
        "data",
        "synth",
        "-o",
        out,
        "--tracks",
        tracks,
        "--seconds",
        seconds,
        "--seed",
        seed,
        "--sample-rate",
        sample_rate,
        "-q",
        log=log,
    )


def train(name: str, size: str, args, train_dir: Path, log) -> dict:
    family, changes = ABLATIONS.get(name, (name, {}))
    cfg = json.loads((ZOO / f"{family}_{size}.json").read_text())
    cfg["name"] = f"{name}_{size}"
    runs_dir = args.work / "runs"
    cfg["model"]["params"].update(
        {k: v.format(runs=runs_dir, size=size) if isinstance(v, str) else v for k, v in changes.items()}
    )
    cfg["training"].update(
        train_path=str(train_dir),
        batch_size=args.batch_size,
        train_max_steps=args.steps,
        random_seed=args.seed,
        validation_tracks=2,
        validate_every=max(args.steps // 4, 1),
        checkpoint_every=max(args.steps // 4, 1),
    )
    cfg_path = args.work / "configs" / f"{cfg['name']}.json"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    run_dir = args.work / "runs" / cfg["name"]
    timing = run_dir / "bench_timing.json"
    if not timing.is_file():
        t0 = time.perf_counter()
        tfsep(
            "train",
            "-c",
            cfg_path,
            "-o",
            run_dir,
            "-q",
            *(["--resume"] if (run_dir / "checkpoints").is_dir() else []),
            log=log,
        )
        wall = time.perf_counter() - t0
        timing.write_text(json.dumps({"train_wall_s": wall, "steps": args.steps}))
    info = json.loads(timing.read_text())
    return {"name": cfg["name"], "run_dir": run_dir, "config": cfg, "wall_s": info["train_wall_s"]}


def model_facts(run: dict, test_dir: Path, time_steps: int) -> dict:
    """Parameters, separation speed (x real time, one test track) and, with ``time_steps``, train s/step of a run."""
    import numpy as np
    import soundfile as sf

    from tfsep.models import load_model_dir
    from tfsep.separation import Separator

    model = load_model_dir(run["run_dir"])
    track = sorted(p for p in test_dir.iterdir() if p.is_dir())[0]
    wave, sr = sf.read(track / "mixture.wav", dtype="float32") if (track / "mixture.wav").is_file() else (None, None)
    if wave is None:
        stems = [sf.read(p, dtype="float32") for p in sorted(track.glob("*.wav"))]
        sr = stems[0][1]
        wave = np.sum([s for s, _ in stems], axis=0)
    sep = Separator(model)
    sep.separate(wave[:sr], sr)  # trace once
    t0 = time.perf_counter()
    sep.separate(wave, sr)
    sec = time.perf_counter() - t0
    # Train step time on its own (the run's wall time may include validation and other jobs).
    facts = {"params": model.keras_model.count_params(), "x_realtime": len(wave) / sr / sec, "s_per_step": None}
    if time_steps:  # speed only: any tracks do
        step = train_speed.measure(run["config"], test_dir, run["config"]["training"]["batch_size"], steps=time_steps)
        facts["s_per_step"] = 1 / step["steps_per_s"]
    return facts


def read_scores(path: Path) -> dict:
    """scores.csv -> {method: {target: {metric: [score per track]}}}."""
    out = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["score"]:
                out[row["method"]][row["target"]][row["metric"]].append(float(row["score"]))
    return out


def _fmt(value):
    return "–" if value is None else f"{value:.2f}"


def _median(values):
    return f"{statistics.median(values):.2f}" if values else "–"


def write_report(path: Path, args, runs: list, facts: dict, scores: dict, eval_dir: Path, stems: list):
    lines = [
        "# Model comparison",
        "",
        f"Generated by `bench/compare_models.py` ({args.size} configs from `configs/zoo/`).",
        f"Data: `tfsep data synth`, {args.tracks} train + {args.test_tracks} test songs of {args.seconds:g} s (seeds {args.seed}/{args.seed + 1}).",
        f"Budget: {args.steps} steps of batch {args.batch_size} per model on this machine; evaluation: museval (BSS Eval v4, 1 s frames), median over frames then over tracks.",
        "",
        f"Train s/step: {args.time_steps} steps of each model timed alone, back to back, after training (`bench/train_speed.py`); "
        "train wall: the whole run (startup, 4 validations, checkpoints; other jobs may have shared the CPU).",
        "",
        "| model | params | train s/step | train wall (min) | separation x real time | "
        + " | ".join(f"SDR {s}" for s in stems)
        + " | SDR mean |",
        "|---|---:|---:|---:|---:|" + "---:|" * (len(stems) + 1),
    ]
    methods = [(r["name"], str(r["run_dir"])) for r in runs] + [(m, m) for m in args.reference]
    for label, method in methods:
        per = scores.get(method) or scores.get(Path(method).name) or {}
        sdrs = [per.get(s, {}).get("SDR", []) for s in stems]
        mean = statistics.mean([statistics.median(v) for v in sdrs if v]) if any(sdrs) else None
        f = facts.get(label)
        run = next((r for r in runs if r["name"] == label), None)
        head = (
            f"| {label} | {f['params']:,} | {_fmt(f['s_per_step'])} | {run['wall_s'] / 60:.1f} | {f['x_realtime']:.1f} | "
            if run and f
            else f"| {label} (reference) | – | – | – | – | "
        )
        tail = f"{mean:.2f}" if mean is not None else "–"
        lines.append(head + " | ".join(_median(v) for v in sdrs) + f" | {tail} |")
    for metric in METRICS:
        lines += [
            "",
            f"## {metric} per stem (dB, median over tracks)",
            "",
            "| method | " + " | ".join(stems) + " |",
            "|---|" + "---:|" * len(stems),
        ]
        for label, method in methods:
            per = scores.get(method) or scores.get(Path(method).name) or {}
            lines.append(f"| {label} | " + " | ".join(_median(per.get(s, {}).get(metric, [])) for s in stems) + " |")
    histories = {
        r["name"]: json.loads((r["run_dir"] / "history.json").read_text())
        for r in runs
        if (r["run_dir"] / "history.json").is_file()
    }
    if histories:
        steps = sorted({h["step"] for hist in histories.values() for h in hist})
        lines += [
            "",
            "## Validation SDR during training",
            "",
            "Mean global SDR (dB) over the stems on the 2 validation songs, at each validation step.",
            "",
            "| model | " + " | ".join(f"step {k}" for k in steps) + " |",
            "|---|" + "---:|" * len(steps),
        ]
        for name, hist in histories.items():
            by_step = {h["step"]: h["sdr"] for h in hist}
            lines.append(
                f"| {name} | " + " | ".join(f"{by_step[k]:.2f}" if k in by_step else "–" for k in steps) + " |"
            )
    box = eval_dir / "plots" / "sdr_boxplot.png"
    if box.is_file():  # copied next to the report so the link survives moving the work dir
        img = path.parent / "img" / f"compare_{args.size}_{args.steps}steps_sdr.png"
        img.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(box, img)
        lines += ["", "## SDR box plot", "", f"![SDR per stem and method]({img.relative_to(path.parent).as_posix()})"]
    lines += [
        "",
        "## Findings",
        "",
        "_Write which design choices helped and which did not, citing the rows above._",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("runs/compare"))
    ap.add_argument("--size", choices=["tiny", "small", "4stems"], default="small", help="which preset of each family")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--tracks", type=int, default=40)
    ap.add_argument("--test-tracks", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument(
        "--ablations", default="", help=f"comma list of variants to train too, or 'all' ({', '.join(ABLATIONS)})"
    )
    ap.add_argument("--train-only", action="store_true", help="stop after training (another run evaluates and reports)")
    ap.add_argument(
        "--time-steps", type=int, default=5, help="train steps timed alone per model for the s/step column (0: skip)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument(
        "--reference", action="append", default=None, help="oracle/baseline methods (default: irm2, hpss-repet4)"
    )
    ap.add_argument("--report", type=Path, default=ROOT / "runs" / "model_comparison.md")
    args = ap.parse_args(argv)
    args.reference = args.reference or ["irm2", "hpss-repet4"]
    args.work = args.work.resolve()
    log = lambda msg: print(f"[compare] {msg}", file=sys.stderr, flush=True)  # noqa: E731

    ablations = list(ABLATIONS) if args.ablations == "all" else [a for a in args.ablations.split(",") if a]
    unknown = [a for a in ablations if a not in ABLATIONS]
    if unknown:
        ap.error(f"unknown ablation {', '.join(unknown)} (known: {', '.join(ABLATIONS)})")
    names = [n for n in args.families.split(",") if n] + ablations
    if not names:
        ap.error("nothing to compare: give --families and/or --ablations")

    train_dir, test_dir = args.work / "data" / "train", args.work / "data" / "test"
    family = ABLATIONS.get(names[0], (names[0],))[0]
    sample_rate = json.loads((ZOO / f"{family}_{args.size}.json").read_text())["sample_rate"]
    synth(train_dir, args.tracks, args.seconds, args.seed, sample_rate, log)
    synth(test_dir, args.test_tracks, args.seconds, args.seed + 1, sample_rate, log)

    runs = [train(name, args.size, args, train_dir, log) for name in names]
    if args.train_only:
        return
    facts = {r["name"]: model_facts(r, test_dir, args.time_steps) for r in runs}

    eval_dir = args.work / "evaluation"
    methods = [a for r in runs for a in ("-m", r["run_dir"])] + [a for m in args.reference for a in ("-m", m)]
    tfsep("evaluate", *methods, "--tracks", test_dir, "--metrics", "museval", "-o", eval_dir, "-q", log=log)
    scores = read_scores(eval_dir / "scores.csv")
    stems = runs[0]["config"]["stems"]
    write_report(args.report, args, runs, facts, scores, eval_dir, stems)
    log(f"wrote {args.report}")


if __name__ == "__main__":
    main()
