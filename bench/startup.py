"""Where `tfsep separate` spends its time on a short file: start-up apart from separation.

Each figure is a fresh process (as a user's command is), median of --repeat
runs: `import tensorflow`; `tfsep --help`; inside one process, importing
tfsep's separation, Keras (TensorFlow with it; without scikit-learn and
pandas, as the CLI imports it), building the Separator (model and weights),
the first separation of the excerpt (tracing the model call and, with the
default preset, XLA-compiling the Wiener step) and a second one (the steady
state the x-real-time tables of docs/performance.md measure); and the whole `tfsep
separate` command, wall clock.  `--avx2` caps oneDNN and XLA to AVX2 in the
child processes, as on a CPU without AVX-512 (`auto` then picks float32).

    python bench/startup.py [--model 2stems-fast] [--seconds 7] [--repeat 3] [--avx2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

STEPS = r"""
import json, sys, time
t = time.perf_counter()
from tfsep.console import quiet
quiet.lean()  # as the CLI does
from tfsep.separation import Separator
import soundfile as sf
out = {"import tfsep.separation": time.perf_counter() - t}
t = time.perf_counter()
import keras
out["import keras (TensorFlow with it)"] = time.perf_counter() - t
t = time.perf_counter()
sep = Separator(sys.argv[1])
out["model build and weights"] = time.perf_counter() - t
x, sr = sf.read(sys.argv[2], dtype="float32")
for name in ("first separation", "second separation"):
    t = time.perf_counter()
    sep.separate(x, sr)
    out[name] = time.perf_counter() - t
out["precision"] = sep.precision
print(json.dumps(out))
"""


def _wall(cmd, env) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="2stems-fast")
    ap.add_argument("--seconds", type=float, default=7.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--avx2", action="store_true", help="cap oneDNN and XLA to AVX2 in the measured processes")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.avx2:
        env.update(ONEDNN_MAX_CPU_ISA="AVX2", XLA_FLAGS="--xla_cpu_max_isa=AVX2")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as tmp:
        song = os.path.join(tmp, "excerpt.wav")
        rng = np.random.default_rng(0)
        sf.write(song, (rng.standard_normal((int(44100 * args.seconds), 2)) * 0.1).astype(np.float32), 44100)
        rows: dict[str, list] = {}
        precision = None
        for _ in range(args.repeat):
            rows.setdefault("python -c 'import tensorflow'", []).append(
                _wall([sys.executable, "-c", "import tensorflow"], env)
            )
            rows.setdefault("tfsep --help", []).append(_wall([sys.executable, "-m", "tfsep.cli", "--help"], env))
            res = subprocess.run(
                [sys.executable, "-c", STEPS, args.model, song], env=env, check=True, capture_output=True, text=True
            )
            steps = json.loads(res.stdout.strip().splitlines()[-1])
            precision = steps.pop("precision")
            for name, seconds in steps.items():
                rows.setdefault(f"in one process: {name}", []).append(seconds)
            out = os.path.join(tmp, "out")
            cmd = [
                sys.executable,
                "-m",
                "tfsep.cli",
                "separate",
                song,
                "-o",
                out,
                "-m",
                args.model,
                "--overwrite",
                "-q",
            ]
            rows.setdefault("tfsep separate (whole command)", []).append(_wall(cmd, env))
    cpu = "AVX2 (oneDNN and XLA capped)" if args.avx2 else "this CPU's own instructions"
    print(f"# start-up of `tfsep separate` on {args.seconds:.0f} s, model {args.model}, precision {precision}, {cpu}")
    print(f"# median of {args.repeat} fresh processes each\n")
    print("| step | seconds |")
    print("|---|---:|")
    for name, values in rows.items():
        print(f"| {name} | {statistics.median(values):.2f} |")
    steady = statistics.median(rows["in one process: second separation"])
    print(
        f"\nsteady state: {args.seconds / steady:.1f}x real time; the whole command: "
        f"{args.seconds / statistics.median(rows['tfsep separate (whole command)']):.1f}x"
    )


if __name__ == "__main__":
    main()
