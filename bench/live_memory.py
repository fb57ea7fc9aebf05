"""Live separation's memory over a long stream: resident memory every few minutes of real music.

Usage: python bench/live_memory.py [--model 2stems] [--latency 1] [--minutes 20] [--every 2]

Streams the musdb18-7 test mixtures (real music) one after the other, looped
to ``--minutes``, through ``Separator(model).stream(latency)`` as fast as it
goes, in 1024-sample blocks, and prints the process's resident memory
(``VmRSS``) every ``--every`` minutes of audio. A stream's state is bounded
(one window of input, one region of sums, the latency's worth of output):
the figure should stay flat after the first minutes (TensorFlow's own pools).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from live_speed import music  # noqa: E402
from musdb7_4stems import DEFAULT_ROOT  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=DEFAULT_ROOT)
    ap.add_argument("--model", default="2stems")
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--every", type=float, default=2.0)
    args = ap.parse_args(argv)

    from tfsep import Separator

    x = music(args.root, min(args.minutes, 4.0))  # 4 minutes of real music, looped
    stream = Separator(args.model).stream(latency=args.latency, sample_rate=44100)
    stream.warm_up()
    total = int(args.minutes * 60 * 44100)
    every = int(args.every * 60 * 44100)
    print(f"{args.model}, latency {args.latency:g} s, {args.minutes:g} min of real music (musdb18-7 test, looped)")
    print("| audio | resident memory | x real time so far |")
    print("|---:|---:|---:|")
    fed, mark, started = 0, 0, time.perf_counter()
    while fed < total:
        i = fed % len(x)
        block = x[i : i + 1024]
        stream.process(block)
        fed += len(block)
        if fed - mark >= every or fed >= total:
            mark = fed
            speed = fed / 44100 / (time.perf_counter() - started)
            print(f"| {fed / 44100 / 60:.1f} min | {rss_mb():.0f} MB | {speed:.1f} |", flush=True)
    stream.flush()


if __name__ == "__main__":
    main()
