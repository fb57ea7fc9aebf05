"""Live separation in real time: compute per block, x real time and late blocks, with and without a competing load.

Usage: python bench/live_speed.py [--models 2stems,4stems-real] [--latencies 0.25,0.5,1] [--minutes 5]
       [--quality default] [--threads N] [--load 0,1] [--json out.json]

The music is real: the mixtures of ``../shared/data/musdb18-7/test``
(37 excerpts, 4.2 minutes) one after the other, looped to ``--minutes``.
For each model and latency, ``tfsep live``'s stream (the latency less one
1024-sample block and the compute buffer ``tfsep live`` measures at start)
gets blocks of one hop each, so that each block runs one window: the
"block" below is a hop.  Each block's compute time is measured; late
blocks come from replaying those times against the real-time schedule (a
block arrives when its last sample would; it is late if its stems are
ready after its arrival plus the buffer), as a sound card would see them.
``--load N`` runs N busy processes beside it (NumPy matrix products), as a
browser or a DAW would: on a 2-core machine 1 takes half of it, 2 all of it.

Every figure is measured here, now: say which CPU (``lscpu``) with it, and
set ``ONEDNN_MAX_CPU_ISA=AVX2`` to see an AVX2-only machine's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from musdb7_4stems import DEFAULT_ROOT, test_tracks  # noqa: E402

BLOCK = 1024


def music(root: str, minutes: float) -> np.ndarray:
    mixes = [mix for _, _, mix in test_tracks(root, None)]
    one = np.concatenate(mixes)
    n = int(minutes * 60 * 44100)
    return np.resize(one, (n, 2)).astype(np.float32) if n > len(one) else one[:n]


def _burn(stop):
    a = np.random.default_rng(0).standard_normal((256, 256))
    while not stop.is_set():
        a = np.tanh(a @ a)


def late_blocks(times, hop_seconds, buffer) -> int:
    """Blocks whose stems would be ready after arrival + buffer, replaying ``times`` in real time."""
    done, late = 0.0, 0
    for i, t in enumerate(times):
        arrival = (i + 1) * hop_seconds
        done = max(arrival, done) + t
        late += done > arrival + buffer
    return late


def run(sep, x, latency):
    from tfsep.live.session import measured_buffer

    block = BLOCK / 44100
    probe = sep.stream(latency=latency - block, sample_rate=44100)
    buffer = measured_buffer(probe)
    stream = sep.stream(latency=latency - block - buffer, sample_rate=44100)
    stream.warm_up()
    hop = stream.plan.hop
    times = []
    for i in range(0, len(x), hop):
        t = time.perf_counter()
        stream.process(x[i : i + hop])
        times.append(time.perf_counter() - t)
    hop_s = hop / 44100
    return {
        "latency": latency,
        "stream_latency": stream.latency,
        "buffer": buffer,
        "window": stream.plan.window / 44100,
        "hop": hop_s,
        "median_ms": 1000 * float(np.median(times)),
        "p99_ms": 1000 * float(np.percentile(times, 99)),
        "max_ms": 1000 * float(np.max(times)),
        "x_real_time": len(x) / 44100 / sum(times),
        "blocks": len(times),
        "late": late_blocks(times, hop_s, buffer),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument("--models", default="2stems,4stems-real")
    parser.add_argument("--latencies", default="0.25,0.5,1")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--quality", default="default")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--load", default="0,1", help="busy processes beside the stream (0: alone)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from tfsep import Separator
    from tfsep.errors import TfsepError

    x = music(args.root, args.minutes)
    print(f"{len(x) / 44100 / 60:.1f} min of real music (musdb18-7 test mixtures); ONEDNN_MAX_CPU_ISA="
          f"{os.environ.get('ONEDNN_MAX_CPU_ISA', '-')}")  # fmt: skip
    print("| model | latency | load | stream latency + buffer | window / hop | block median | block p99 | "
          "block max | p99 / hop | x real time | late blocks |")  # fmt: skip
    print("|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|")
    results = []
    for name in args.models.split(","):
        sep = Separator(name, quality=args.quality)
        for latency in [float(v) for v in args.latencies.split(",")]:
            for load in [int(v) for v in args.load.split(",")]:
                stop = mp.Event()
                burners = [mp.Process(target=_burn, args=(stop,)) for _ in range(load)]
                for p in burners:
                    p.start()
                try:
                    r = run(sep, x, latency)
                except TfsepError as exc:  # the compute buffer this load needs leaves no latency for the stream
                    print(f"| {name} | {latency:g} s | {f'{load} busy' if load else 'alone'} | {exc} |", flush=True)
                    continue
                finally:
                    stop.set()
                    for p in burners:
                        p.join()
                r.update(model=name, load=load, precision=sep.precision)
                results.append(r)
                print(
                    f"| {name} | {latency:g} s | {f'{load} busy' if load else 'alone'} | "
                    f"{r['stream_latency']:.2f} + {r['buffer']:.3f} s | {r['window']:.2f} / {r['hop']:.3f} s | "
                    f"{r['median_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['max_ms']:.0f} ms | {r['p99_ms'] / 1000 / r['hop']:.2f} | "
                    f"{r['x_real_time']:.1f} | {r['late']} of {r['blocks']} |",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
