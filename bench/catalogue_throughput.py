"""Throughput of ``tfsep catalogue`` (Beam's local runner) with 1 and 2 workers, beside plain ``tfsep separate``.

Writes --files inputs of --seconds each (real music: the MUSDB18 test
excerpts of --musdb concatenated, or the Falcon 69 mixture looped), then runs,
each as a fresh command on the same files: ``tfsep separate`` on all of them,
and ``tfsep catalogue --workers N`` for each N.  Prints wall time, files per
minute, x real time, the speed-up over one worker, and the peak RSS of the
largest single process of the run (driver or worker: ``getrusage`` of the
children).  With --memory-minutes it also runs one worker on one file of each
length, to show that a worker's memory does not grow with the file.
Target: 2 workers >= 1.6x one worker for files of >= 30 s.

    .venv/bin/python bench/catalogue_throughput.py [--files 8] [--seconds 34] [--musdb ../shared/data/musdb18-7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import SAMPLE_RATE, falcon_mixture, machine, run_measured  # noqa: E402


def _musdb_music(root: str, seconds_needed: float):
    """Consecutive MUSDB18 test mixtures (the sum of the four stems), one long float32 array."""
    import numpy as np

    from tfsep.audio.io import load_stems

    folder = os.path.join(root, "test")
    parts, total = [], 0
    for name in sorted(os.listdir(folder)):
        stems, _ = load_stems(os.path.join(folder, name), sample_rate=SAMPLE_RATE)
        mix = sum(stems[k] for k in ("vocals", "drums", "bass", "other"))
        parts.append(mix)
        total += len(mix)
        if total >= seconds_needed * SAMPLE_RATE:
            break
    music = np.concatenate(parts).astype(np.float32)
    return np.tile(music, (-(-int(seconds_needed * SAMPLE_RATE) // len(music)), 1))


def write_inputs(folder: str, n: int, seconds: float, musdb: str | None) -> float:
    import soundfile as sf

    size = int(seconds * SAMPLE_RATE)
    music = _musdb_music(musdb, n * seconds) if musdb else falcon_mixture(n * seconds)
    for i in range(n):
        sf.write(os.path.join(folder, f"song{i:02d}.flac"), music[i * size : (i + 1) * size], SAMPLE_RATE)
    return n * seconds


def run(cmd) -> dict:
    result = run_measured(cmd)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {result['rc']}")
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=34.0)
    ap.add_argument("--model", default="2stems")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--musdb", default=None, help="a MUSDB18 root (its test songs are the music)")
    ap.add_argument("--memory-minutes", type=float, nargs="*", default=[], help="e.g. 1 5: one file per length")
    args = ap.parse_args()
    tfsep = [sys.executable, "-m", "tfsep.cli"]
    work = tempfile.mkdtemp(prefix="tfsep-bench-catalogue-")
    try:
        inputs = os.path.join(work, "in")
        os.makedirs(inputs)
        audio = write_inputs(inputs, args.files, args.seconds, args.musdb)
        files = sorted(os.path.join(inputs, f) for f in os.listdir(inputs))
        source = "MUSDB18 test mixtures" if args.musdb else "Falcon 69 looped"
        print(f"# {machine()}; {args.files} files x {args.seconds:.0f} s of real music ({source}); model {args.model}")
        rows = []
        r = run([*tfsep, "separate", *files, "-o", os.path.join(work, "plain"), "-m", args.model, "-q"])
        rows.append(("tfsep separate (one process)", r))
        for w in args.workers:
            out = os.path.join(work, f"cat{w}")
            r = run([*tfsep, "catalogue", inputs, "-o", out, "-m", args.model, "--workers", str(w), "-q"])
            rows.append((f"tfsep catalogue, {w} worker{'s' * (w > 1)}", r))
        # One worker held to one thread: what each of two workers gets on two cores.
        out = os.path.join(work, "cat1t1")
        r = run([*tfsep, "catalogue", inputs, "-o", out, "-m", args.model, "--workers", "1", "--threads", "1", "-q"])
        rows.append(("tfsep catalogue, 1 worker, 1 thread", r))
        one = next((r["wall"] for name, r in rows if name.endswith(", 1 worker")), None)
        print("| run | wall s | files/min | x real time | vs 1 worker | peak RSS of one process |")
        print("|---|---|---|---|---|---|")
        for name, r in rows:
            ratio = f"{one / r['wall']:.2f}x" if one else "-"
            print(
                f"| {name} | {r['wall']:.1f} | {args.files / r['wall'] * 60:.1f} | {audio / r['wall']:.1f} | "
                f"{ratio} | {r['maxrss_kb'] / 1024:.0f} MB |"
            )
        for minutes in args.memory_minutes:
            folder = os.path.join(work, f"mem{minutes}")
            os.makedirs(folder)
            write_inputs(folder, 1, minutes * 60, args.musdb)
            r = run([*tfsep, "catalogue", folder, "-o", folder + "-out", "-m", args.model, "--workers", "1", "-q"])
            print(f"memory: one {minutes:g}-min file, 1 worker: peak RSS {r['maxrss_kb'] / 1024:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
