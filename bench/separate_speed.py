"""Separation speed of tfsep's Separator on real music, in times real time.

Reports model load, the first call (tf.function trace) and the steady state
(median of --repeats runs) on a --seconds stereo input (the Falcon 69 mixture
looped).  Timings on a shared machine are noisy: compare figures from one run.

    .venv/bin/python bench/separate_speed.py [--seconds 30] [--model 2stems]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import SAMPLE_RATE, falcon_mixture, machine, median, timed  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--model", default="2stems")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--segment", type=float, default=None, help="segment seconds (default: the Separator's)")
    p.add_argument("--overlap", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    args = p.parse_args()

    wave = falcon_mixture(args.seconds)
    t_import, _ = timed(lambda: __import__("tfsep.pretrained").pretrained)
    from tfsep import Separator
    from tfsep.pretrained import load_model

    t_load, model = timed(load_model, args.model)
    sep = Separator(model, segment=args.segment, overlap=args.overlap, batch_size=args.batch_size)
    t_first, _ = timed(sep.separate, wave, SAMPLE_RATE)
    runs = [timed(sep.separate, wave, SAMPLE_RATE)[0] for _ in range(args.repeats)]
    t = median(runs)
    seg_s = sep.segment / SAMPLE_RATE
    print(f"tfsep separate speed: model {args.model}, {args.seconds:g} s stereo (Falcon 69 looped), {machine()}")
    print(f"  segment {seg_s:.2f} s, overlap {sep.overlap / SAMPLE_RATE:.2f} s, batch {sep.batch_size}")
    print(f"  import tfsep         {t_import:7.2f} s")
    print(f"  model load           {t_load:7.2f} s")
    print(f"  first call (trace)   {t_first:7.2f} s   ({args.seconds / t_first:5.1f}x real time)")
    print(
        f"  steady state median  {t:7.2f} s   ({args.seconds / t:5.1f}x real time)   runs: "
        + ", ".join(f"{r:.2f}" for r in runs)
    )


if __name__ == "__main__":
    main()
