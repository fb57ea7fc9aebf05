"""In-browser separation speed: the mobile/web page (LiteRT.js, WASM/XNNPACK) in headless Chromium.

Usage: ``python bench/web_speed.py [--model 2stems] [--seconds 30] [--repeats 2]``
(needs Debian's chromium and ``npm ci`` in mobile/web).

Exports the model's full TFLite graph (fp32), serves the page on 127.0.0.1,
and for a ``--seconds`` excerpt of real music (Falcon 69, looped) prints x
real time (audio seconds per wall second of separation, median of
``--repeats`` after one warm-up; model compile not included) for LiteRT.js
with threads (COOP/COEP, as serve.py serves it) and single-threaded (as a
plain ``python -m http.server`` serves it), next to native LiteRT (the
mobile/separate_tflite.py runner, 1 thread) and the Keras Separator with the
same options, and each one's global SDR against the Keras output.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import SAMPLE_RATE, falcon_mixture, machine, median  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "mobile" / "web"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _sdr(ref, est):
    from tfsep.evaluation.metrics import global_sdr

    return np.mean([global_sdr(ref[k], est[k]) for k in ref])


def _browser(headless, serve, models, name, wav, isolate, repeats):
    import soundfile as sf

    server, base = serve.serve_in_thread(port=0, models=models, quiet=True, isolate=isolate)
    try:
        with headless.Chromium() as browser:
            page = headless.open_page(browser, base, f"models/{name}.tflite", accelerator="wasm")
            load = page.evaluate("tfsepWeb.model.loadSeconds")
            first = headless.separate_file(page, wav, wav_bits=32)
            if first["error"]:
                raise SystemExit(f"page: {first['error']}")
            runs = [headless.separate_file(page, None, downloads=False)["result"] for _ in range(repeats)]
    finally:
        server.shutdown()
        server.server_close()
    stems = {k: sf.read(io.BytesIO(v), dtype="float32")[0] for k, v in first["wavs"].items()}
    return median([r["seconds"] for r in runs]), stems, load, runs[0]["backend"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="2stems")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    serve = _load(WEB / "serve.py", "serve")
    headless = _load(WEB / "headless.py", "headless")
    if not headless.chromium_binary() or not headless.node_modules_ready():
        raise SystemExit("needs chromium (apt-get install chromium) and mobile/web/node_modules (npm ci)")
    import soundfile as sf

    from tfsep.export.tflite import export_tflite
    from tfsep.pretrained import load_model
    from tfsep.separation import Separator

    x = falcon_mixture(args.seconds)
    model = load_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        tfl = export_tflite(model, Path(tmp) / "model.tflite", graph="full")
        meta = json.loads(tfl.with_suffix(".json").read_text())
        wav = os.path.join(tmp, "falcon.wav")
        sf.write(wav, x, SAMPLE_RATE, subtype="FLOAT")

        sep = Separator(
            model,
            wiener_iterations=0,
            shifts=0,
            channel_swap=False,
            mask_extension=meta.get("mask_extension"),
            residual=meta.get("residual") or "none",
        )
        sep.separate(x[:SAMPLE_RATE], SAMPLE_RATE)  # warm-up: tf.function trace
        t0 = time.perf_counter()
        ref = sep.separate(x, SAMPLE_RATE)
        rows = [("Keras Separator (reference, TF threads)", time.perf_counter() - t0, float("inf"), "")]

        runner = _load(ROOT / "mobile" / "separate_tflite.py", "separate_tflite").TFLiteSeparator(
            str(tfl), num_threads=1
        )
        runner.separate(x[:SAMPLE_RATE])
        t0 = time.perf_counter()
        native = runner.separate(x)
        rows.append(("LiteRT native, 1 thread (mobile runner)", time.perf_counter() - t0, _sdr(ref, native), ""))

        for isolate, label in ((True, "LiteRT.js WASM, threads (serve.py)"), (False, "LiteRT.js WASM, 1 thread")):
            secs, stems, load, backend = _browser(headless, serve, tmp, "model", wav, isolate, args.repeats)
            rows.append((label, secs, _sdr(ref, stems), f"compile {load:.1f} s, {backend}"))

    print(f"{args.model} full graph fp32, {args.seconds:.0f} s of Falcon 69 ({machine()})")
    print(f"{'runtime':42s} {'x real time':>11s} {'SDR vs Keras (dB)':>18s}")
    for label, secs, score, note in rows:
        print(f"{label:42s} {args.seconds / secs:11.2f} {score:18.1f}  {note}")


if __name__ == "__main__":
    main()
