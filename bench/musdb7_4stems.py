"""4-stem separation scored on the real MUSDB18 test excerpts of ``../shared/data/musdb18-7``.

Usage: python bench/musdb7_4stems.py [--root ../shared/data/musdb18-7] [--methods 4stems-lite,2stems,hpss-repet4,irm2]
       [--quality default] [--limit N] [--json out.json]

Global SDR per stem, 10 log10(sum s^2 / sum (s - s_hat)^2) over both channels
and the whole excerpt, with the mixture = the sum of the four decoded stems
(the excerpts' own mixture streams are mastered separately), mean over the
excerpts.  A method is a tfsep model name or directory (``Separator``), a
baseline or an oracle (``irm2``, ``mix``...).  A 2-stem model's
``vocals`` is scored; its accompaniment is not one of the four stems.

Every number this prints is on real recorded music (MUSDB18 test songs,
research use only; the data stay in ../shared and are never copied).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STEMS = ("vocals", "drums", "bass", "other")
DEFAULT_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "musdb18-7")


def test_tracks(root: str, limit: int | None):
    """``[(name, refs {stem: (n, 2)}, mixture (n, 2))]`` of the test subset, mixture = sum of stems."""
    from tfsep.data.datasets import musdb_tracks

    out = []
    for t in musdb_tracks(root, subset="test", sample_rate=44100)[:limit]:
        audio = t.load(STEMS)
        refs = {s: audio[s] for s in STEMS}
        out.append((t.name, refs, np.sum([refs[s] for s in STEMS], axis=0).astype(np.float32)))
    return out


def make_method(name: str, quality: str):
    from tfsep.baselines import ALIASES, BASELINES, get_method

    if name.lower() in BASELINES or name.lower() in ALIASES:
        return get_method(name), True
    from tfsep import Separator

    return Separator(name, quality=quality), False


def score(method, is_baseline: bool, tracks) -> tuple[dict[str, list[float]], float]:
    from tfsep.evaluation.metrics import global_sdr

    per_stem: dict[str, list[float]] = {s: [] for s in STEMS}
    seconds = 0.0
    for _, refs, mix in tracks:
        m = method.for_track(refs, 44100) if hasattr(method, "for_track") else method
        start = time.perf_counter()
        est = m.separate(mix, 44100)
        seconds += time.perf_counter() - start
        for s in STEMS:
            if s in est:
                per_stem[s].append(global_sdr(refs[s], est[s]))
    return {s: v for s, v in per_stem.items() if v}, seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=DEFAULT_ROOT)
    ap.add_argument("--methods", default="4stems-lite,2stems,hpss-repet4,irm2")
    ap.add_argument("--quality", default="default")
    ap.add_argument("--limit", type=int, default=None, help="first N test excerpts only")
    ap.add_argument("--json", default=None, help="also write per-track scores here")
    args = ap.parse_args(argv)

    tracks = test_tracks(args.root, args.limit)
    audio_s = sum(len(m) for _, _, m in tracks) / 44100
    print(f"{len(tracks)} real MUSDB18 test excerpts ({audio_s:.0f} s) from {os.path.normpath(args.root)}")
    print(f"global SDR (dB), mean over excerpts; quality preset {args.quality!r}\n")
    print("| method | " + " | ".join(STEMS) + " | x real time |")
    print("|---|" + "---|" * (len(STEMS) + 1))
    dump = {}
    for name in args.methods.split(","):
        method, is_baseline = make_method(name.strip(), args.quality)
        scores, seconds = score(method, is_baseline, tracks)
        cells = [f"{np.mean(scores[s]):.2f}" if s in scores else "–" for s in STEMS]
        print(f"| {name} | " + " | ".join(cells) + f" | {audio_s / seconds:.1f} |", flush=True)
        dump[name] = {s: dict(zip([t[0] for t in tracks], v)) for s, v in scores.items()}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dump, f, indent=1)


if __name__ == "__main__":
    main()
