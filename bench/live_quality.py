"""Live separation: SDR against the true stems as a function of latency, on real music.

Usage: python bench/live_quality.py [--models 2stems,4stems-real] [--latencies 0.1,0.25,0.5,1,2]
       [--quality default] [--block 4096] [--limit N] [--window S] [--hop S] [--json out.json]

Each of the 37 test excerpts of ``../shared/data/musdb18-7`` (real music,
never trained on; mixture = the sum of the four stems) is streamed through
``Separator(model).stream(latency)`` in blocks of ``--block`` samples, as a
live input would come, and the stems (moved back by the latency) are scored
with global SDR, mean over the excerpts, as ``bench/musdb7_4stems.py`` does
offline.  "offline" is ``Separator.separate`` on the whole excerpt.  A
2-stem model is scored on vocals and accompaniment (= drums + bass +
other); a 4-stem model on its four stems.  The excerpts are 6.8 s long: a
live window's past is silence for the first seconds of each, which a
stream of a whole song would not have.

Every number this prints is on real recorded music (MUSDB18 test excerpts,
research use only; the data stay in ../shared and are never copied).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from musdb7_4stems import DEFAULT_ROOT, STEMS, test_tracks  # noqa: E402


def references(refs: dict, stems: list[str]) -> dict:
    if "accompaniment" in stems:
        return {"vocals": refs["vocals"], "accompaniment": sum(refs[s] for s in STEMS if s != "vocals")}
    return {s: refs[s] for s in stems}


def streamed(sep, mix, latency, block, window=None, hop=None):
    stream = sep.stream(latency=latency, sample_rate=44100, window=window, hop=hop)
    outs = [stream.process(mix[i : i + block]) for i in range(0, len(mix), block)]
    outs.append(stream.flush())
    L = stream.latency_samples
    return {k: np.concatenate([o[k] for o in outs])[L:] for k in stream.stems}, stream


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument("--models", default="2stems,4stems-real")
    parser.add_argument("--latencies", default="0.1,0.25,0.5,1,2")
    parser.add_argument("--quality", default="default")
    parser.add_argument("--block", type=int, default=4096)
    parser.add_argument("--window", type=float, default=None)
    parser.add_argument("--hop", type=float, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from tfsep import Separator
    from tfsep.evaluation.metrics import global_sdr

    tracks = test_tracks(args.root, args.limit)
    latencies = [float(v) for v in args.latencies.split(",") if v] + [None]
    results = []
    for name in args.models.split(","):
        sep = Separator(name, quality=args.quality)
        stems = sep.stems
        print(f"\n{name} (--quality {args.quality}, {sep.precision}), {len(tracks)} excerpts")
        print(f"| latency | window | hop | lookahead | {' | '.join(stems)} | x real time |")
        print("|---" * (len(stems) + 5) + "|")
        for latency in latencies:
            sdr = {s: [] for s in stems}
            seconds = busy = 0.0
            plan = None
            for _, refs, mix in tracks:
                t = time.perf_counter()
                if latency is None:
                    est = sep.separate(mix, 44100)
                else:
                    est, stream = streamed(sep, mix, latency, args.block, args.window, args.hop)
                    plan = stream.plan
                busy += time.perf_counter() - t
                seconds += len(mix) / 44100
                ref = references(refs, stems)
                for s in stems:
                    sdr[s].append(global_sdr(ref[s], est[s]))
            row = {s: float(np.mean(v)) for s, v in sdr.items()}
            speed = seconds / busy
            if plan is None:
                label, geometry = "offline", ("whole", "-", "-")
            else:
                label = f"{latency:g} s"
                least, most = plan.lookahead
                geometry = (
                    f"{plan.window / 44100:.2f} s ({plan.mode})",
                    f"{plan.hop / 44100:.3f} s",
                    f"{least / 44100:.2f}-{most / 44100:.2f} s",
                )
            cells = " | ".join(f"{row[s]:.2f}" for s in stems)
            print(f"| {label} | {' | '.join(geometry)} | {cells} | {speed:.1f} |", flush=True)
            results.append({"model": name, "latency": latency, "sdr": row, "x_real_time": speed})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
