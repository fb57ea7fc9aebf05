"""tfsep vs Deezer's original Spleeter graph: speed and agreement, one process.

Both separate the same real excerpt (the Falcon 69 mixture looped to
--seconds): Deezer's 2stems graph in a TF1 session (tests/spleeter_reference,
stored graph as exported, no leading pad) and tfsep's Separator with the
imported weights.  Each is loaded and warmed up once, then timed --repeats
times, alternating, so both see the same machine load; medians are printed.
SDR of tfsep's stems against Spleeter's shows that they agree (tfsep blends
overlapping segments where Spleeter cuts hard 512-frame blocks, so they are
not bit-equal on inputs longer than one segment).

    .venv/bin/python bench/vs_spleeter.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from _common import SAMPLE_RATE, falcon_mixture, machine, median, sdr, timed  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--ckpt", default=None, help="Spleeter 2stems checkpoint dir (default: from the tfsep cache)")
    p.add_argument("--segment", type=float, default=None)
    p.add_argument("--overlap", type=float, default=None)
    args = p.parse_args()

    from spleeter_reference import SpleeterGraph

    from tfsep import Separator
    from tfsep.pretrained import load_model, resolve

    ckpt = args.ckpt or _checkpoint_dir(resolve)
    wave = falcon_mixture(args.seconds)

    graph = SpleeterGraph(ckpt)
    sep = Separator(load_model("2stems"), segment=args.segment, overlap=args.overlap)
    graph.separate(wave, leading_pad=False)  # warm-up
    sep.separate(wave, SAMPLE_RATE)  # warm-up (trace)
    t_sp, t_tf = [], []
    for _ in range(args.repeats):
        t, ref = timed(graph.separate, wave, False)
        t_sp.append(t)
        t, out = timed(sep.separate, wave, SAMPLE_RATE)
        t_tf.append(t)
    sp, tf_ = median(t_sp), median(t_tf)
    print(f"tfsep vs Spleeter graph, 2stems, {args.seconds:g} s stereo (Falcon 69 looped), {machine()}")
    print(f"  tfsep segment {sep.segment / SAMPLE_RATE:.2f} s, overlap {sep.overlap / SAMPLE_RATE:.2f} s")
    print(
        f"  Spleeter graph  median {sp:6.2f} s  {args.seconds / sp:6.1f}x real time  runs: "
        + ", ".join(f"{t:.2f}" for t in t_sp)
    )
    print(
        f"  tfsep Separator median {tf_:6.2f} s  {args.seconds / tf_:6.1f}x real time  runs: "
        + ", ".join(f"{t:.2f}" for t in t_tf)
    )
    print(f"  throughput ratio tfsep/Spleeter: {sp / tf_:.2f}  (target >= 2)")
    for stem in graph.stems:
        print(
            f"  SDR tfsep vs Spleeter, {stem:13s}: {sdr(ref[stem], out[stem]):6.1f} dB, "
            f"max abs diff {float(abs(ref[stem] - out[stem]).max()):.2e}"
        )
    graph.close()


def _checkpoint_dir(resolve):
    try:
        res = resolve("2stems")
        path = getattr(res, "path", res)
        if os.path.isfile(os.path.join(path, "model.meta")):
            return path
    except Exception:
        pass
    cache = os.environ.get("TFSEP_CACHE", os.path.expanduser("~/.cache/tfsep"))
    return os.path.join(cache, "2stems")


if __name__ == "__main__":
    main()
