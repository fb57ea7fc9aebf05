"""Peak memory (RSS) of the ``tfsep separate`` CLI against input length.

Writes FLAC inputs of --minutes lengths (the Falcon 69 mixture looped) to a
temporary folder, runs ``tfsep separate`` on each in a fresh subprocess and
reads the child's peak RSS from ``getrusage(RUSAGE_CHILDREN)`` (one child per
measurement, so each figure is that run's own maximum).  Targets: peak RSS
under 1.5 GB, and RSS(longest) <= 1.2 x RSS(shortest): memory must not grow
with the length of the input.

    .venv/bin/python bench/separate_memory.py [--minutes 1 10 60] [--model 2stems]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import SAMPLE_RATE, falcon_mixture, machine, run_measured  # noqa: E402


def write_input(path: str, minutes: float, loop) -> None:
    import soundfile as sf

    n = int(round(minutes * 60 * SAMPLE_RATE))
    with sf.SoundFile(path, "w", SAMPLE_RATE, 2, format="FLAC", subtype="PCM_16") as f:
        done = 0
        while done < n:
            block = loop[: n - done]
            f.write(block)
            done += len(block)


def measure(cli: list[str], path: str, out_dir: str, extra: list[str]) -> dict:
    return run_measured([*cli, "separate", path, "-o", out_dir, "--quiet", "--overwrite", *extra])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    p.add_argument("--model", default="2stems")
    p.add_argument("--codec", default="flac", help="output codec passed to tfsep separate (-c)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args()

    cli = [os.path.join(os.path.dirname(sys.executable), "tfsep")]
    if not os.path.exists(cli[0]):
        cli = [sys.executable, "-m", "tfsep.cli"]
    loop = (falcon_mixture(6.0) * 32767).round().astype("int16")
    tmp = tempfile.mkdtemp(prefix="tfsep-bench-mem-")
    print(f"tfsep separate peak RSS, model {args.model}, FLAC input (Falcon 69 looped), {machine()}")
    print(f"  temp folder {tmp}")
    results = []
    try:
        for minutes in args.minutes:
            path = os.path.join(tmp, f"input_{minutes:g}min.flac")
            write_input(path, minutes, loop)
            out_dir = os.path.join(tmp, f"out_{minutes:g}")
            r = measure(cli, path, out_dir, ["-m", args.model, "-c", args.codec])
            if r["rc"] != 0:
                raise SystemExit(f"tfsep separate exited with {r['rc']} on {minutes:g} min")
            rss_mb = r["maxrss_kb"] / 1024
            results.append((minutes, rss_mb, r["wall"]))
            print(
                f"  {minutes:6g} min input: peak RSS {rss_mb:7.0f} MB, wall {r['wall']:7.1f} s "
                f"({minutes * 60 / r['wall']:5.1f}x real time)",
                flush=True,
            )
            for name in os.listdir(out_dir) if os.path.isdir(out_dir) else []:
                _remove(os.path.join(out_dir, name))
            if not args.keep:
                os.remove(path)
    finally:
        if not args.keep:
            _remove(tmp)
    if len(results) >= 2:
        (m0, r0, _), (m1, r1, _) = results[0], results[-1]
        peak = max(r for _, r, _ in results)
        print(f"  ratio RSS({m1:g} min) / RSS({m0:g} min) = {r1 / r0:.2f}  (target <= 1.2)")
        print(f"  largest peak {peak:.0f} MB  (target < 1536 MB)")


def _remove(path):
    import shutil

    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)


if __name__ == "__main__":
    main()
