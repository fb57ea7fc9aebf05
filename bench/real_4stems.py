"""4-stem separation on real recorded music: a model beside the classical methods, the oracles and the floor.

Usage: python bench/real_4stems.py [--model 4stems-lite] [--quality default] [--wiener N] [--loop 0] [--guitar-seconds 20]

1. Falcon 69 (stempeg's excerpt, 6 s, mixture = sum of its four stems):
   global SDR per stem for the model, ``nmf4``, ``hpss-repet4``, the ideal
   ratio masks and the mixture itself as the estimate (the floor).
   ``--loop N`` also scores an N-second loop of it.
2. Debian's fretsonfire songs (``fretsonfire-songs-sectoid``, MIT, and
   ``-muldjord``, CC BY-SA 3.0): each song's lead guitar is its own track
   (``guitar.ogg`` beside ``song.ogg``).  The mixture of both is separated
   and the share of the guitar found in each stem is printed:
   ``<stem_estimate, guitar> / <guitar, guitar>`` (the shares add up to about
   one; a model that puts guitar where it belongs has most of it in
   ``other``).  The window scored is the ``--guitar-seconds`` of most guitar
   energy.  Songs whose guitar track 4stems-lite trained on (its last stage's
   ``stem_pools``) are marked; the median is over the others.

Prints Markdown tables; all numbers are on real music.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import falcon_path, looped  # noqa: E402

STEMS = ("vocals", "drums", "bass", "other")
SONGS = "/usr/share/games/fretsonfire/data/songs"
# 4stems-lite's last stage adds some of these guitar tracks to `other` in training
# (training.stem_pools): those songs are marked, and only the others are held out.
TRAINING_CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "4stems-lite", "splitter-real.json")


def trained_on() -> set[str]:
    """Paths of the recordings the shipped splitter's last stage trained on."""
    if not os.path.isfile(TRAINING_CONFIG):
        return set()
    with open(TRAINING_CONFIG) as f:
        pools = json.load(f)["training"].get("stem_pools") or {}
    return {os.path.realpath(p) for paths in pools.values() for p in paths}


def falcon(loop_seconds: float = 0.0):
    from tfsep.audio.io import load_stems

    stems, sr = load_stems(falcon_path())
    refs = {s: stems[s] for s in STEMS}
    if loop_seconds:
        n = int(loop_seconds * sr)
        refs = {s: looped(a, n) for s, a in refs.items()}
    mix = np.sum([refs[s] for s in STEMS], axis=0).astype(np.float32)
    return refs, mix, sr


def methods(model: str, quality: str, with_baselines: bool, wiener=None):
    from tfsep import Separator
    from tfsep.baselines import get_method

    out = {model: Separator(model, quality=quality, wiener_iterations=wiener)}
    if with_baselines:
        for name in ("nmf4", "hpss-repet4"):
            out[name] = get_method(name)
    return out


def score_falcon(methods_, refs, mix, sr) -> list[tuple]:
    from tfsep.baselines import get_method
    from tfsep.evaluation.metrics import global_sdr

    rows = []
    for name, m in methods_.items():
        t0 = time.perf_counter()
        est = m.separate(mix, sr)
        dt = time.perf_counter() - t0
        rows.append((name, {s: global_sdr(refs[s], est[s]) for s in STEMS if s in est}, len(mix) / sr / dt))
    for name in ("irm1", "irm2", "mixture"):
        o = get_method(name).for_track(refs, sr)
        est = o.separate(mix, sr)
        rows.append((name, {s: global_sdr(refs[s], est[s]) for s in STEMS if s in est}, None))
    return rows


def guitar_songs(seconds: float):
    from tfsep.audio.io import load

    for song in sorted(glob.glob(f"{SONGS}/*/*/guitar.ogg")):
        folder = os.path.dirname(song)
        g, sr = load(song, sample_rate=44100)
        r, _ = load(os.path.join(folder, "song.ogg"), sample_rate=44100)
        n = min(len(g), len(r))
        # The busiest stretch of guitar: the window of most guitar energy.
        win = int(seconds * sr)
        if n > win:
            # energy of each window starting on a whole second (cumulative sum: O(n))
            c = np.concatenate([[0.0], np.cumsum(np.sum(g[:n].astype(np.float64) ** 2, axis=1))])
            starts = np.arange(0, n - win + 1, sr)
            start = int(starts[np.argmax(c[starts + win] - c[starts])])
        else:
            start, win = 0, n
        yield os.path.basename(folder), g[start : start + win], r[start : start + win], sr, os.path.realpath(song)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="4stems-lite")
    ap.add_argument("--quality", default="default")
    ap.add_argument("--wiener", type=int, default=None, help="Wiener EM iterations (default: the preset's)")
    ap.add_argument("--loop", type=float, default=0.0, help="also score an N-second loop of Falcon")
    ap.add_argument("--guitar-seconds", type=float, default=20.0, help="0: skip the guitar check")
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()

    ms = methods(args.model, args.quality, not args.no_baselines, args.wiener)
    for loop in [0.0] + ([args.loop] if args.loop else []):
        refs, mix, sr = falcon(loop)
        print(f"\n### Falcon 69, {len(mix) / sr:.1f} s (real; global SDR, dB)\n")
        print("| method | " + " | ".join(STEMS) + " | x real time |")
        print("|---|" + "---|" * (len(STEMS) + 1))
        for name, sdr, speed in score_falcon(ms, refs, mix, sr):
            cells = [f"{sdr[s]:.2f}" if s in sdr else "" for s in STEMS]
            print(f"| {name} | " + " | ".join(cells) + f" | {'' if speed is None else f'{speed:.1f}'} |")

    if args.guitar_seconds:
        sep = ms[args.model]
        print(f"\n### Lead guitar (fretsonfire songs, real): share found in each stem, {args.model}\n")
        print("| song | " + " | ".join(sep.stems) + " |")
        print("|---|" + "---|" * len(sep.stems))
        held_out, seen = [], trained_on()
        for name, g, r, sr, path in guitar_songs(args.guitar_seconds):
            est = sep.separate((g + r).astype(np.float32), sr)
            gg = float(np.sum(g.astype(np.float64) ** 2))
            share = {s: float(np.sum(est[s].astype(np.float64) * g)) / gg for s in sep.stems}
            if path in seen:
                name += " (in 4stems-lite's training)"
            else:
                held_out.append(share.get("other", np.nan))
            print(f"| {name} | " + " | ".join(f"{share[s]:.2f}" for s in sep.stems) + " |")
        print(f"\nmedian share in other, songs held out of training: {np.median(held_out):.2f}")


if __name__ == "__main__":
    main()
