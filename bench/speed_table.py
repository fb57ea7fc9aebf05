"""The speed table of docs/performance.md: each 2-stem model and preset beside Deezer's own Spleeter graph, in one process.

Speed: ``--seconds`` of real music (the MUSDB18 test mixtures of --musdb
concatenated, else the Falcon 69 stems summed and looped), every method
loaded and warmed up once, then timed ``--repeats`` times, alternating, so
all see the same machine load; median x real time and the ratio to
Spleeter's graph (a TF1 session on Deezer's 2stems graph, as Spleeter >= 2
runs it).  Quality: global SDR against the true stems (vocals, and
accompaniment = drums + bass + other), mean over the 37 test excerpts of
--musdb (real music, never trained on).

With ``--museval``, also BSS Eval v4 SDR as ``tfsep evaluate`` and SiSEC
report it (1 s frames, median over frames, then median over the excerpts):
the two aggregates can disagree by more than the models differ (a few
songs far better move a mean; a median follows the typical song).

Run it twice for the table: as is, and with ``ONEDNN_MAX_CPU_ISA=AVX2``
(oneDNN without AVX-512 and bfloat16: what a CPU without them does; ``auto``
precision then picks float32).

    .venv/bin/python bench/speed_table.py --musdb ../shared/data/musdb18-7 \\
        [--methods "2stems:compatible,2stems:fast,2stems:default,2stems-fast:fast,2stems-fast:default"]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from _common import SAMPLE_RATE, looped, machine, median, time_alternating  # noqa: E402

DEFAULT_METHODS = "2stems:compatible,2stems:fast,2stems:default,2stems-fast:fast,2stems-fast:default"


def music(musdb: str | None, seconds: float):
    """``(timing mixture, [(truth dict, mixture)] for SDR)``: real music with its true stems."""
    if musdb:
        from musdb7_4stems import test_tracks

        tracks = test_tracks(musdb, None)
        scored = [
            ({"vocals": r["vocals"], "accompaniment": r["drums"] + r["bass"] + r["other"]}, mix) for _, r, mix in tracks
        ]
    else:
        from vs_spleeter import falcon_truth

        truth, mix = falcon_truth(6.0)
        scored = [(truth, mix)]
    long = np.concatenate([mix for _, mix in scored])
    n = int(seconds * SAMPLE_RATE)
    return looped(long, n).astype(np.float32), scored


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--musdb", default=None, help="a MUSDB18 root: time and score on its test songs")
    p.add_argument("--methods", default=DEFAULT_METHODS, help="MODEL:PRESET,... (PRESET: compatible|fast|default|best)")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--museval", action="store_true", help="also museval SDR (median of medians; minutes)")
    args = p.parse_args()

    from spleeter_reference import SpleeterGraph

    from tfsep.evaluation.metrics import global_sdr, median_over_frames, museval_scores
    from tfsep.pretrained import load_model, resolve
    from tfsep.separation import Separator
    from tfsep.separation.precision import native_bfloat16
    from tfsep.separation.presets import SPLEETER_COMPATIBLE

    timing, scored = music(args.musdb, args.seconds)
    methods, loaded = {}, {}
    for spec in args.methods.split(","):
        model, _, preset = spec.partition(":")
        opts = SPLEETER_COMPATIBLE if preset == "compatible" else {"quality": preset or "default"}
        if model not in loaded:
            loaded[model] = load_model(model)
        sep = Separator(loaded[model], **opts)
        methods[f"tfsep {model} {preset} ({sep.precision})"] = lambda x, sep=sep: sep.separate(x, SAMPLE_RATE)
    graph = SpleeterGraph(resolve("2stems").path)
    methods = {"Spleeter 2stems graph (float32)": lambda x: graph.separate(x, leading_pad=True), **methods}
    times, _ = time_alternating(methods, timing, args.repeats)
    sdrs, bss = {}, {}
    for name, fn in methods.items():
        per = {"vocals": [], "accompaniment": []}
        frames = {"vocals": [], "accompaniment": []}
        for truth, mix in scored:
            out = fn(mix)
            for s in per:
                per[s].append(global_sdr(truth[s], out[s]))
            if args.museval:
                got = museval_scores(truth, {s: out[s] for s in per}, SAMPLE_RATE)
                for s in frames:
                    frames[s].append(median_over_frames(got[s]["SDR"]))
        sdrs[name] = {s: float(np.mean(v)) for s, v in per.items()}
        bss[name] = {s: float(np.nanmedian(v)) for s, v in frames.items() if v}
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "all")
    what = f"{len(scored)} MUSDB18 test excerpts" if args.musdb else "Falcon 69"
    print(f"# {machine()}; oneDNN ISA: {isa}; native bfloat16 used: {native_bfloat16()}")
    print(f"# speed on {args.seconds:g} s of real music, median of {args.repeats}; SDR: {what}, true stems")
    extra = " museval vocals | museval accompaniment |" if args.museval else ""
    print("| method | x real time | vs Spleeter | vocals SDR | accompaniment SDR |" + extra)
    print("|---|---:|---:|---:|---:|" + ("---:|---:|" if args.museval else ""))
    base = median(times["Spleeter 2stems graph (float32)"])
    for name in methods:
        t = median(times[name])
        cells = "".join(f" {bss[name][s]:.2f} |" for s in ("vocals", "accompaniment")) if args.museval else ""
        print(
            f"| {name} | {args.seconds / t:.1f} | {base / t:.2f}x | "
            f"{sdrs[name]['vocals']:.2f} | {sdrs[name]['accompaniment']:.2f} |" + cells
        )
    graph.close()


if __name__ == "__main__":
    main()
