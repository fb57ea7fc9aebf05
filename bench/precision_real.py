"""Each ``--precision`` on real music: SDR against the true stems and against float32's stems, and speed.

For every model, separates the 37 MUSDB18 test excerpts of
``../shared/data/musdb18-7`` (mixture = the sum of the four decoded stems)
with the ``--quality`` preset in each precision, and prints per stem: the
global SDR against the true stems (mean over the excerpts), its change from
float32, and the SDR of the stems against float32's own (how close the
arithmetic stays).  A 2-stem model is scored on vocals and accompaniment
(drums + bass + other).  Speed: ``--seconds`` of the test mixtures
concatenated, each precision timed ``--repeats`` times, alternating, median
x real time.  A precision joins a default only if no stem drops by more
than 0.05 dB against float32 (issue 23's rule).

    .venv/bin/python bench/precision_real.py [--models 2stems,4stems-real] [--limit N] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import SAMPLE_RATE, machine, median, sdr, time_alternating  # noqa: E402
from musdb7_4stems import DEFAULT_ROOT, STEMS, test_tracks  # noqa: E402

from tfsep.evaluation.metrics import global_sdr  # noqa: E402


def truth_for(stems, refs):
    if "accompaniment" in stems:
        return {"vocals": refs["vocals"], "accompaniment": refs["drums"] + refs["bass"] + refs["other"]}
    return {s: refs[s] for s in STEMS}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=DEFAULT_ROOT)
    ap.add_argument("--models", default="2stems,4stems-real")
    ap.add_argument("--precisions", default="float32,bfloat16")
    ap.add_argument("--quality", default="default")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    from tfsep import Separator
    from tfsep.separation.precision import cpu_features, native_bfloat16

    tracks = test_tracks(args.root, args.limit)
    long_mix = np.concatenate([mix for _, _, mix in tracks])[: int(args.seconds * SAMPLE_RATE)]
    flags = sorted(f for f in cpu_features() if f in ("avx512_bf16", "amx_bf16", "avx512_vnni", "avx512f", "bf16"))
    print(f"# {machine()}; CPU: {', '.join(flags) or 'no bf16/vnni flags'}; native bfloat16: {native_bfloat16()}")
    print(f"# {len(tracks)} real test excerpts (musdb18-7), quality {args.quality}")
    precisions = args.precisions.split(",")
    for name in args.models.split(","):
        seps = {p: Separator(name, quality=args.quality, precision=p) for p in precisions}
        stems = seps[precisions[0]].stems
        scores = {p: {s: [] for s in stems} for p in precisions}
        vs_f32 = {p: {s: [] for s in stems} for p in precisions}
        for _, refs, mix in tracks:
            truth = truth_for(stems, refs)
            outs = {p: sep.separate(mix, SAMPLE_RATE) for p, sep in seps.items()}
            for p, out in outs.items():
                for s in stems:
                    scores[p][s].append(global_sdr(truth[s], out[s]))
                    vs_f32[p][s].append(sdr(outs[precisions[0]][s], out[s]))
        runs = {p: (lambda x, sep=sep: sep.separate(x, SAMPLE_RATE)) for p, sep in seps.items()}
        times, _ = time_alternating(runs, long_mix, args.repeats)
        print(f"\n{name} ({', '.join(stems)}); x real time on {len(long_mix) / SAMPLE_RATE:.0f} s of the mixtures")
        print("| precision | " + " | ".join(stems) + " | worst change | vs float32's stems (dB) | x real time |")
        print("|---" * (len(stems) + 4) + "|")
        base = {s: float(np.mean(scores[precisions[0]][s])) for s in stems}
        for p in precisions:
            mean = {s: float(np.mean(scores[p][s])) for s in stems}
            worst = min(mean[s] - base[s] for s in stems)
            close = min(float(np.median(vs_f32[p][s])) for s in stems) if p != precisions[0] else float("inf")
            rt = len(long_mix) / SAMPLE_RATE / median(times[p])
            print(
                f"| {p} | "
                + " | ".join(f"{mean[s]:.2f}" for s in stems)
                + f" | {worst:+.3f} | {close:.1f} | {rt:.1f} |"
            )


if __name__ == "__main__":
    main()
