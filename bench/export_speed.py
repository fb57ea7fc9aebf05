"""Speed, size and fidelity of exported models against the Keras Separator.

Usage: ``python bench/export_speed.py [--model 2stems] [--seconds 30] [--threads 1] [--input FILE]``

For a ``--seconds`` excerpt of real music (the Falcon 69 stem file shipped
with stempeg, tiled if short, or ``--input``, e.g. a song of Debian's
fretsonfire-songs-sectoid) prints, per runtime: x real time (audio seconds
per wall second, after one warm-up call), model size, and the global SDR of
each stem against the Keras Separator's output (inf = equal).  The Keras
reference separates as the exports do: the default preset's mask extension
and residual, no Wiener.  Runtimes: Keras Separator, SavedModel
(``tf.saved_model.load``, ``serving_default``), TFLite core and full graphs
in fp32/fp16/int8 through the mobile runner (LiteRT + numpy), on
``--threads`` LiteRT threads (default 1: a stand-in for one phone core).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _music(seconds, sr, path=None):
    import stempeg

    from tfsep.audio import io

    path = path or os.path.join(os.path.dirname(stempeg.__file__), "data", "The Easton Ellises - Falcon 69.stem.mp4")
    x, _ = io.load(path, sample_rate=sr, channels=2)
    n = int(seconds * sr)
    return np.resize(x, (n, 2)).astype(np.float32) if len(x) < n else x[:n]


def _timed(fn, x, warm):
    fn(warm)
    t0 = time.perf_counter()
    out = fn(x)
    return out, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="2stems")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--threads", type=int, default=1, help="LiteRT threads (default 1)")
    ap.add_argument("--input", default=None, help="audio file (default: the Falcon 69 mixture)")
    ap.add_argument("--graphs", default="core,full")
    args = ap.parse_args()

    import tensorflow as tf

    from tfsep.evaluation.metrics import global_sdr
    from tfsep.export import export_savedmodel
    from tfsep.export.tflite import export_tflite
    from tfsep.pretrained import load_model
    from tfsep.separation import Separator

    spec = importlib.util.spec_from_file_location("separate_tflite", ROOT / "mobile" / "separate_tflite.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)

    model = load_model(args.model)
    sr = model.config["sample_rate"]
    x = _music(args.seconds, sr, args.input)
    warm = x[: sr // 2]
    dur = len(x) / sr
    tmp = Path(tempfile.mkdtemp(prefix="tfsep-bench-"))
    rows = []

    sep = Separator(model, wiener_iterations=0, shifts=0, channel_swap=False)
    ref, secs = _timed(lambda w: sep.separate(w, sr), x, warm)
    stems = list(ref)
    keras_size = _size(Path(model.path) / "model.weights.h5") if model.path else 0
    rows.append(("Keras Separator", secs, keras_size, ref))

    t0 = time.perf_counter()
    sm_path = export_savedmodel(model, tmp / "sm")
    export_s = {"SavedModel": time.perf_counter() - t0}
    fn = tf.saved_model.load(str(sm_path)).signatures["serving_default"]
    out, secs = _timed(lambda w: {k: v.numpy() for k, v in fn(waveform=tf.constant(w)).items()}, x, warm)
    rows.append(("SavedModel serving_default", secs, _size(sm_path), out))

    runs = [(g, q) for g in args.graphs.split(",") for q in ("none", "float16", "int8")]
    for graph, quantize in runs:
        name = f"TFLite {graph} {'fp32' if quantize == 'none' else quantize}"
        t0 = time.perf_counter()
        path = export_tflite(model, tmp / f"{graph}_{quantize}.tflite", graph=graph, quantize=quantize)
        export_s[name] = time.perf_counter() - t0
        tsep = runner.TFLiteSeparator(str(path), num_threads=args.threads)
        out, secs = _timed(tsep.separate, x, warm)
        lat = np.mean(tsep.latencies[1:]) if len(tsep.latencies) > 1 else float("nan")
        rows.append((f"{name} (mobile runner, {lat * 1000:.0f} ms/segment)", secs, _size(path), out))

    source = args.input or "Falcon 69 mixture"
    print(
        f"model {model.config['name']}, {dur:.1f} s of {source}, {os.cpu_count()} CPU cores, LiteRT threads {args.threads}"
    )
    print(f"{'runtime':<58} {'x real time':>11} {'size MB':>8} " + " ".join(f"{'SDR ' + s:>18}" for s in stems))
    for name, secs, size, out in rows:
        sdrs = [global_sdr(ref[s], out[s]) if out is not ref else float("inf") for s in stems]
        print(f"{name:<58} {dur / secs:>11.2f} {size / 1e6:>8.1f} " + " ".join(f"{v:>18.1f}" for v in sdrs))
    print("export seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in export_s.items()))


if __name__ == "__main__":
    sys.exit(main())
