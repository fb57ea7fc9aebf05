"""The browser's live mode in headless Chromium: underruns and x real time over N seconds of real music.

Usage: python bench/web_live.py [--model 2stems-fast] [--frames 64,128] [--latencies 0.5,1] [--seconds 30]

Exports MODEL (full graph, ``--frames`` per live window) into a temporary
folder, serves mobile/web, and plays the first minute of Falcon 69 (real
music: the sum of its true stems) into the live page through Chromium's
fake microphone.  For each export and latency it prints how the page split
the latency, the worker's x real time (input seconds per second spent in the
model and the stream) and the audio thread's underruns (render quanta that
found no remix to play: gaps a listener hears).  Needs Debian's chromium and
``npm ci`` in mobile/web.  Say which CPU with the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
WEB = os.path.join(HERE, "..", "mobile", "web")
sys.path.insert(0, WEB)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import headless  # noqa: E402
import serve  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="2stems-fast")
    ap.add_argument("--frames", default="64,128")
    ap.add_argument("--latencies", default="0.5,1")
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args(argv)

    from stempeg import __file__ as stempeg_file

    from tfsep.audio.io import load_stems
    from tfsep.export.tflite import export_tflite
    from tfsep.pretrained import load_model

    falcon = os.path.join(os.path.dirname(stempeg_file), "data", "The Easton Ellises - Falcon 69.stem.mp4")
    stems, _ = load_stems(falcon, sample_rate=44100)
    music = sum(stems[k] for k in ("drums", "bass", "other", "vocals"))[: 60 * 44100].astype(np.float32)
    model = load_model(args.model, quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        mic = os.path.join(tmp, "mic.wav")
        sf.write(mic, music, 44100, subtype="PCM_16")
        server, base = serve.serve_in_thread(port=0, models=tmp, quiet=True)
        print(
            f"{args.model} in headless Chromium (LiteRT.js WASM), {args.seconds:g} s of Falcon 69 on a fake microphone"
        )
        print("| window | latency | stream + block + buffer | hop | x real time | underruns |")
        print("|---|---:|---|---:|---:|---:|")
        try:
            for frames in [int(f) for f in args.frames.split(",")]:
                name = f"live{frames}.tflite"
                export_tflite(model, os.path.join(tmp, name), graph="full", frames=frames, overwrite=True)
                for latency in [float(v) for v in args.latencies.split(",")]:
                    with headless.Chromium(flags=headless.fake_microphone_flags(mic)) as browser:
                        try:
                            out = headless.run_live(browser, base, f"models/{name}", latency, args.seconds)
                        except headless.BrowserError as exc:
                            print(f"| {frames} frames | {latency:g} s | {str(exc).splitlines()[0][:90]} | | | |")
                            continue
                    p, f = out["plan"], out["figures"]
                    speed = f["received"] / 44100 / f["busy"] if f.get("busy") else float("nan")
                    print(
                        f"| {p['window'] / 44100:.2f} s | {latency:g} s | {p['latency'] / 44100:.2f} s + "
                        f"{p['block'] / 44100 * 1000:.0f} ms + {p['buffer']:.2f} s | {p['hop'] / 44100 * 1000:.0f} ms | "
                        f"{speed:.1f} | {f.get('underruns')} |",
                        flush=True,
                    )
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
