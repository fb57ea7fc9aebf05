"""The README's models table: every shipped model in its default preset, speed and SDR on real music, in one process.

Usage: python bench/models_table.py [--musdb ../shared/data/musdb18-7] [--models 2stems,2stems-fast,4stems-lite,4stems-real]
       [--seconds 30] [--repeats 5]

Speed: ``--seconds`` of real music (the MUSDB18 test mixtures of --musdb
concatenated), every model loaded and warmed up once, then timed
``--repeats`` times, alternating, medians, x real time. SDR: global SDR
against the true stems (a 2-stem model's accompaniment = drums + bass +
other), mean over the 37 test excerpts, none of which any model trained on.
Prints one Markdown row per model, and the CPU it ran on.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import SAMPLE_RATE, looped, machine, median, time_alternating  # noqa: E402
from musdb7_4stems import test_tracks  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--musdb", default="../shared/data/musdb18-7")
    p.add_argument("--models", default="2stems,2stems-fast,4stems-lite,4stems-real")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()

    from tfsep.evaluation.metrics import global_sdr
    from tfsep.pretrained import load_model
    from tfsep.separation import Separator

    tracks = test_tracks(args.musdb, None)
    long = np.concatenate([mix for _, _, mix in tracks])
    n = int(args.seconds * SAMPLE_RATE)
    timing = looped(long, n).astype(np.float32)

    separators = {name: Separator(load_model(name)) for name in args.models.split(",")}
    methods = {name: (lambda x, sep=sep: sep.separate(x, SAMPLE_RATE)) for name, sep in separators.items()}
    times, _ = time_alternating(methods, timing, args.repeats)

    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "all")
    print(f"# {machine()}; oneDNN ISA: {isa}")
    print(
        f"# speed: {args.seconds:g} s of real music, median of {args.repeats}; SDR: {len(tracks)} MUSDB18 test excerpts"
    )
    print("| model | precision | x real time | SDR per stem (dB) |")
    print("|---|---|---:|---|")
    for name, sep in separators.items():
        stems = list(sep.config["stems"])
        scores = {s: [] for s in stems}
        for _, truth, mix in tracks:
            truth = dict(truth)
            if "accompaniment" in stems:
                truth["accompaniment"] = truth["drums"] + truth["bass"] + truth["other"]
            out = sep.separate(mix, SAMPLE_RATE)
            for s in stems:
                scores[s].append(global_sdr(truth[s], out[s]))
        sdr = " / ".join(f"{np.mean(scores[s]):.2f}" for s in stems)
        print(f"| `{name}` | {sep.precision} | {args.seconds / median(times[name]):.1f} | {sdr} ({', '.join(stems)}) |")


if __name__ == "__main__":
    main()
