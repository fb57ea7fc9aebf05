"""SDR gain and time cost of the multichannel Wiener filter on the pretrained model.

Usage: python bench/wiener_gain.py [--model 2stems] [--iterations 0 1 2 3] [--repeat 3]

Scores the Falcon 69 excerpt (stempeg's test file; mixture = sum of the true
stems) with the global SDR and museval's BSS Eval v4 (median over 1 s frames),
and times ``Separator.separate`` (best of ``--repeat``, after a warm-up call).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def falcon_excerpt(sample_rate=44100):
    import stempeg

    from tfsep.audio.io import load_stems

    path = os.path.join(os.path.dirname(stempeg.__file__), "data", "The Easton Ellises - Falcon 69.stem.mp4")
    stems, sr = load_stems(path, sample_rate=sample_rate)
    stems.pop("mixture")  # mastered: not the sum of the stems
    return stems, sr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="2stems")
    ap.add_argument("--iterations", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from tfsep.evaluation.metrics import global_sdr, median_over_frames, museval_scores
    from tfsep.pretrained import load_model
    from tfsep.separation import Separator

    stems, sr = falcon_excerpt()
    model = load_model(args.model, quiet=True)
    names = list(model.config["stems"])
    refs = {}
    for s in names:
        if s == "accompaniment":
            refs[s] = sum(v for k, v in stems.items() if k != "vocals")
        else:
            refs[s] = stems[s]
    mixture = np.sum([stems[k] for k in stems], axis=0).astype(np.float32)
    print(f"model {args.model}, Falcon 69, {len(mixture) / sr:.2f} s, {os.cpu_count()} CPU(s)\n")
    print(
        "| Wiener iterations | "
        + " | ".join(f"{s} SDR / museval SDR, SIR, SAR" for s in names)
        + " | mean global SDR | gain (dB) | seconds | time × |"
    )
    print("|---|" + "---|" * len(names) + "---:|---:|---:|---:|")
    base_sdr = base_t = None
    for it in args.iterations:
        sep = Separator(model, wiener_iterations=it)
        sep.separate(mixture[:sr], sr)  # trace and warm up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = sep.separate(mixture, sr)
            times.append(time.perf_counter() - t0)
        t = min(times)
        ms = museval_scores(refs, out, sr)
        cells, sdrs = [], []
        for s in names:
            g = global_sdr(refs[s], out[s])
            sdrs.append(g)
            m = {k: median_over_frames(ms[s][k]) for k in ("SDR", "SIR", "SAR")}
            cells.append(f"{g:.2f} / {m['SDR']:.2f}, {m['SIR']:.2f}, {m['SAR']:.2f}")
        mean = float(np.mean(sdrs))
        if base_sdr is None:
            base_sdr, base_t = mean, t
        print(
            f"| {it} | " + " | ".join(cells) + f" | {mean:.2f} | {mean - base_sdr:+.2f} | {t:.2f} | {t / base_t:.2f} |"
        )


if __name__ == "__main__":
    main()
