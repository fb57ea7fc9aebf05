"""tfsep's quality presets vs what Spleeter's users get: SDR, stem sums, speed, in one process.

The reference is Deezer's 2stems graph in a TF1 session (tests/spleeter_reference)
run as Spleeter >= 2 runs it: ``frame_length`` zeros in front, cropped after.
Against it: tfsep with Spleeter-compatible settings (zeros above 11 kHz, no
residual), and the ``fast``, ``default`` and ``best`` presets, all with the
same imported weights.  The audio is real music: the Falcon 69 excerpt's four
true stems summed (the file's own mixture stream is mastered and differs from
their sum), looped to ``--seconds`` (at 6 s it is the excerpt itself).  Each
method is loaded and warmed up once, then timed ``--repeats`` times,
alternating, so all see the same machine load; medians are printed.

    .venv/bin/python bench/vs_spleeter.py [--seconds 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from _common import SAMPLE_RATE, falcon_path, looped, machine, median, sdr, time_alternating  # noqa: E402


def falcon_truth(seconds: float):
    """Vocals and accompaniment of Falcon 69 (true stems), looped to ``seconds``, and their sum."""
    from tfsep.audio.io import load_stems

    stems, _ = load_stems(falcon_path(), sample_rate=SAMPLE_RATE)
    n = int(round(seconds * SAMPLE_RATE))
    loop = {k: looped(v, n) for k, v in stems.items()}
    truth = {"vocals": loop["vocals"], "accompaniment": loop["drums"] + loop["bass"] + loop["other"]}
    return truth, (truth["vocals"] + truth["accompaniment"]).astype(np.float32)


def sum_residual_db(stems: dict, mixture: np.ndarray) -> float:
    err = float(np.sum((sum(stems.values()) - mixture).astype(np.float64) ** 2))
    return 10 * np.log10(max(err, 1e-30) / float(np.sum(mixture.astype(np.float64) ** 2)))


def first_block_ratio(stems: dict, mixture: np.ndarray, start: int) -> float:
    """|sum of stems| / |mixture| (RMS) over the first 512 samples of an excerpt starting at ``start``."""
    total = sum(stems.values())
    return float(np.sqrt(np.mean(total[:512] ** 2) / np.mean(mixture[start : start + 512] ** 2)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--ckpt", default=None, help="Spleeter 2stems checkpoint dir (default: from the tfsep cache)")
    p.add_argument("--presets", default="compatible,fast,default,best")
    args = p.parse_args()

    from spleeter_reference import SpleeterGraph

    from tfsep.pretrained import resolve
    from tfsep.separation import Separator
    from tfsep.separation.presets import SPLEETER_COMPATIBLE

    ckpt = args.ckpt or resolve("2stems").path
    truth, mixture = falcon_truth(args.seconds)
    # tfsep first, as `tfsep separate` starts.
    model = None
    seps = {}
    for name in args.presets.split(","):
        opts = SPLEETER_COMPATIBLE if name == "compatible" else {"quality": name}
        seps[name] = Separator(model or "2stems", **opts)
        model = seps[name].model
    graph = SpleeterGraph(ckpt)
    methods = {"Spleeter (padded)": lambda x: graph.separate(x, leading_pad=True)}
    for name, sep in seps.items():
        methods[f"tfsep {name}"] = lambda x, sep=sep: sep.separate(x, SAMPLE_RATE)
    times, outputs = time_alternating(methods, mixture, args.repeats)
    mid = len(mixture) // 2  # an excerpt that starts mid-music, for the first-block ratio
    starts = {name: fn(mixture[mid:]) for name, fn in methods.items()}

    spleeter_time = median(times["Spleeter (padded)"])
    ref = {s: sdr(truth[s], outputs["Spleeter (padded)"][s]) for s in truth}
    print(f"2stems on Falcon 69 (real music, true stems summed), {args.seconds:g} s stereo 44.1 kHz, {machine()}")
    print(
        f"  {'method':<20} {'vocals':>7} {'accomp.':>7} {'d voc':>6} {'d acc':>6} "
        f"{'sum err':>8} {'1st 512':>7} {'median s':>8} {'x RT':>6} {'speed vs Spleeter':>17}"
    )
    for name in methods:
        out = outputs[name]
        v, a = sdr(truth["vocals"], out["vocals"]), sdr(truth["accompaniment"], out["accompaniment"])
        t = median(times[name])
        print(
            f"  {name:<20} {v:7.2f} {a:7.2f} {v - ref['vocals']:+6.2f} {a - ref['accompaniment']:+6.2f} "
            f"{sum_residual_db(out, mixture):7.1f}dB {first_block_ratio(starts[name], mixture, mid):7.3f} "
            f"{t:8.2f} {args.seconds / t:6.1f} {spleeter_time / t:16.2f}x"
        )
    print("  SDR: global, dB, against the true stems; d: difference to Spleeter; sum err: |sum of stems - mixture|")
    print("  relative to |mixture|; 1st 512: |sum of stems| / |mixture| over the first 512 samples (mid-music start)")
    graph.close()


if __name__ == "__main__":
    main()
