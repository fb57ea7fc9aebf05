"""GPU check (run by ``bench/gpu_check.sh``): train the Spleeter-size 2stems U-Net, then separate 10 minutes.

Prints, for each ``training.mixed_precision`` setting asked for, the Keras
policy it chose and the train steps/s (batch 4, 512 x 1024 magnitude
excerpts of a 4096/1024 STFT, one U-Net per stem: ``configs/musdb/2stems-unet.json``)
on generated noise stems, timed from step 11 (after tracing) to the last;
then how fast the trained model separates 10 minutes of stereo audio,
in times real time.  Fails (exit 1) without a GPU unless ``--allow-cpu``, and
on a non-finite loss (the Trainer stops as diverged).

    python bench/gpu_check.py [--steps 200] [--minutes 10] [--precisions auto,float16,off]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SR = 44100
WARMUP_STEPS = 10


def make_stems(root: Path, n_tracks=4, seconds=30.0) -> Path:
    """Noise stems (speed does not depend on the content): ``root/track<i>/{vocals,accompaniment}.wav``."""
    rng = np.random.default_rng(0)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    for i in range(n_tracks):
        d = root / f"track{i}"
        d.mkdir(parents=True)
        vocals = 0.2 * np.sin(2 * np.pi * rng.uniform(200, 800) * t)[:, None] * rng.uniform(0.5, 1, (1, 2))
        acc = 0.1 * rng.standard_normal((n, 2))
        sf.write(d / "vocals.wav", vocals.astype(np.float32), SR, subtype="FLOAT")
        sf.write(d / "accompaniment.wav", acc.astype(np.float32), SR, subtype="FLOAT")
    return root


def spleeter_config(data: Path, steps: int, precision: str, frames: int, batch: int) -> dict:
    cfg = json.loads((ROOT / "configs" / "musdb" / "2stems-unet.json").read_text())
    cfg["T"] = frames
    cfg["training"].update(
        dataset="folders",
        train_path=str(data),
        data_cache=None,
        validation_tracks=1,
        validation_seconds=5.0,
        batch_size=batch,
        train_max_steps=steps,
        validate_every=steps,
        checkpoint_every=steps,
        log_every=max(1, steps // 4),
        audio_summaries=0,
        early_stopping_patience=None,
        mixed_precision=precision,
    )
    return cfg


def train_speed(cfg: dict, run_dir: Path) -> dict:
    from tfsep.training import Trainer

    stamps = {}
    trainer = Trainer(
        cfg, run_dir, quiet=True, hooks=[lambda step, loss: stamps.__setitem__(step, time.perf_counter())]
    )
    t0 = time.perf_counter()
    summary = trainer.run()
    steps = summary["steps"]
    first = WARMUP_STEPS if steps > WARMUP_STEPS + 1 else 1
    rate = (steps - first) / (stamps[steps] - stamps[first]) if steps > first else float("nan")
    return {
        "policy": summary["policy"],
        "steps_per_s": rate,
        "first_step_s": stamps[1] - t0,
        "last_loss": summary["last_loss"],
        "losses_finite": bool(np.isfinite(summary["losses"]).all()),
        "parameters": trainer.model.count_params(),
    }


def separation_speed(model_dir: Path, minutes: float, work: Path) -> dict:
    from tfsep.separation import Separator

    n = int(minutes * 60 * SR)
    rng = np.random.default_rng(1)
    song = work / "song.wav"
    with sf.SoundFile(song, "w", SR, 2, subtype="PCM_16") as f:
        for start in range(0, n, 60 * SR):  # written a minute at a time: bounded memory
            m = min(60 * SR, n - start)
            t = (start + np.arange(m)) / SR
            tone = 0.3 * np.sin(2 * np.pi * 220 * t)[:, None]
            f.write((tone + 0.05 * rng.standard_normal((m, 2))).astype(np.float32))
    t0 = time.perf_counter()
    sep = Separator(str(model_dir))
    sep.separate(np.zeros((15 * SR, 2), np.float32), SR)  # load and trace once, as a long-running service would
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sep.separate_file(str(song), str(work / "separated"))
    seconds = time.perf_counter() - t0
    return {"audio_s": n / SR, "seconds": seconds, "x_real_time": n / SR / seconds, "load_s": load_s}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--precisions", default="auto,float16,off", help="training.mixed_precision values, in order")
    ap.add_argument("--frames", type=int, default=512, help="excerpt frames (T); 512 is Spleeter's")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--allow-cpu", action="store_true", help="run without a GPU (a dry run of this script)")
    args = ap.parse_args()

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and not args.allow_cpu:
        print(
            "gpu_check: error: TensorFlow sees no GPU (driver, CUDA libraries of tensorflow[and-cuda]?)",
            file=sys.stderr,
        )
        return 1
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    print(f"TensorFlow {tf.__version__}; GPUs: {', '.join(names) or 'none (CPU dry run)'}")

    with tempfile.TemporaryDirectory(prefix="tfsep-gpu-check-") as tmp:
        work = Path(tmp)
        data = make_stems(work / "data")
        results = {}
        for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
            cfg = spleeter_config(data, args.steps, precision, args.frames, args.batch)
            r = train_speed(cfg, work / f"run-{precision}")
            results[precision] = r
            print(
                f"train {args.steps} steps, mixed_precision={precision!r} -> {r['policy']}: "
                f"{r['steps_per_s']:.2f} steps/s ({r['steps_per_s'] * args.batch:.1f} examples/s), "
                f"first step {r['first_step_s']:.1f} s, last loss {r['last_loss']:.4g}, "
                f"{r['parameters']:,} parameters",
                flush=True,
            )
            if not r["losses_finite"]:
                print(f"gpu_check: error: non-finite loss under {r['policy']}", file=sys.stderr)
                return 1
        base = results.get("off")
        for precision, r in results.items():
            if base and precision != "off":
                print(f"speed-up of {r['policy']} over float32: {r['steps_per_s'] / base['steps_per_s']:.2f}x")
        first = next(iter(results))
        s = separation_speed(work / f"run-{first}", args.minutes, work)
        print(
            f"separate {s['audio_s'] / 60:g} min of stereo 44.1 kHz audio (WAV to WAV, 2 stems): "
            f"{s['seconds']:.1f} s = {s['x_real_time']:.1f}x real time (model load and trace before: {s['load_s']:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
