"""The closing-note table: every baseline, the oracles and the pretrained model on the Falcon 69 excerpt.

Usage: python bench/baselines_table.py [--model 2stems] [--wiener 1] [--no-model] [--frames-median]

For each method: BSS Eval v4 (museval: SDR/SIR/SAR, median over 1 s frames,
each method scored on the stems it produces that the file has), the global
SDR, and the seconds ``separate`` took (one run, after the model's warm-up).
The mixture is the sum of the true stems (the file's own mix is mastered).
Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ORDER = ("vocals", "drums", "bass", "other", "accompaniment")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="2stems")
    ap.add_argument("--wiener", type=int, default=1, help="EM iterations for the 'with Wiener' row")
    ap.add_argument("--no-model", action="store_true", help="skip the pretrained model rows")
    ap.add_argument(
        "--window", type=float, default=1.0, help="BSS Eval frame in seconds; 0: the whole excerpt as one frame"
    )
    args = ap.parse_args()

    import stempeg

    from tfsep.audio.io import load_stems
    from tfsep.baselines import BASELINES, get_method
    from tfsep.evaluation.metrics import global_sdr, median_over_frames, museval_scores

    path = os.path.join(os.path.dirname(stempeg.__file__), "data", "The Easton Ellises - Falcon 69.stem.mp4")
    stems, sr = load_stems(path, sample_rate=44100)
    stems.pop("mixture")
    four = {k: stems[k] for k in ("vocals", "drums", "bass", "other")}
    refs = dict(four)
    refs["accompaniment"] = four["drums"] + four["bass"] + four["other"]
    mixture = np.sum(list(four.values()), axis=0).astype(np.float32)

    methods = []  # (label, callable -> estimates)
    for name in BASELINES:
        m = get_method(name)
        if m.needs_references:
            methods.append(
                (
                    f"oracle {name}" if name != "mixture" else "mixture (floor)",
                    lambda m=m: m.for_track(four, sr).separate(mixture, sr),
                )
            )
        else:
            methods.append((name, lambda m=m: m.separate(mixture, sr)))
    if not args.no_model:
        from tfsep.pretrained import load_model
        from tfsep.separation import Separator

        model = load_model(args.model, quiet=True)
        for it in (0, args.wiener):
            sep = Separator(model, wiener_iterations=it)
            sep.separate(mixture[:sr], sr)  # trace the graph first: timings are steady-state
            methods.append(
                (f"{args.model}" + (f" + Wiener ({it} it.)" if it else ""), lambda sep=sep: sep.separate(mixture, sr))
            )

    print(
        f"Falcon 69 (stempeg test file), {len(mixture) / sr:.2f} s stereo 44.1 kHz, mixture = sum of stems; {os.cpu_count()} CPU(s)\n"
    )
    win = args.window if args.window > 0 else len(mixture) / sr
    frames = f"median over {args.window:g} s frames" if args.window > 0 else "the whole excerpt as one frame"
    print(f"BSS Eval v4 (museval, {frames}) SDR / SIR / SAR in dB; global SDR (MDX) in brackets.\n")
    print("| method | " + " | ".join(ORDER) + " | seconds |")
    print("|---|" + "---|" * len(ORDER) + "---:|")
    for label, run in methods:
        t0 = time.perf_counter()
        est = run()
        seconds = time.perf_counter() - t0
        scored = {s: est[s] for s in est if s in refs}
        # The mixture floor and the 4-stem oracles are scored as a 4-stem set; 2-stem sets alike.
        ms = museval_scores({s: refs[s] for s in scored}, scored, sr, win=win, hop=win)
        cells = []
        for s in ORDER:
            if s not in ms:
                cells.append("–")
                continue
            v = {k: median_over_frames(ms[s][k]) for k in ("SDR", "SIR", "SAR")}
            cells.append(f"{v['SDR']:.2f} / {v['SIR']:.2f} / {v['SAR']:.2f} ({global_sdr(refs[s], scored[s]):.2f})")
        print(f"| {label} | " + " | ".join(cells) + f" | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
