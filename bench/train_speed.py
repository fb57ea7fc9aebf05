"""Training speed of the Spleeter 2D U-Net (2stems size) and of the input pipeline alone.

Prints steps/s and examples/s of the train step (batch 4, 512 x 1024
magnitude excerpts of a 4096/1024 STFT, STFT inside the step) on this
machine, the pipeline's examples/s (decoded-once audio, random excerpts,
gain/swap/remix), and their ratio: the pipeline must deliver >= 3x what the
model consumes.

    python bench/train_speed.py [--steps 5] [--batch 4] [--config 2stems]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import soundfile as sf


def make_tracks(root: Path, stems, n_tracks=4, seconds=40, sr=44100):
    rng = np.random.default_rng(0)
    for t in range(n_tracks):
        d = root / f"track{t}"
        d.mkdir(parents=True)
        for s in stems:
            sf.write(d / f"{s}.wav", (0.1 * rng.standard_normal((seconds * sr, 2))).astype(np.float32), sr, subtype="FLOAT")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="2stems")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--pipeline-batches", type=int, default=30)
    args = ap.parse_args()

    import keras
    import tensorflow as tf

    from tfsep import models
    from tfsep.config import load_config
    from tfsep.data.pipeline import ExcerptSampler, StemCache, make_dataset, open_datasets
    from tfsep.training.tasks import make_task, stem_weights

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(args.config)
        make_tracks(Path(tmp), ["vocals", "drums", "bass", "other"])
        cfg["training"].update(batch_size=args.batch, train_path=tmp, validation_tracks=1)
        cfg = load_config(cfg)
        train, _ = open_datasets(cfg)
        task = make_task(cfg)
        t0 = time.perf_counter()
        sampler = ExcerptSampler(StemCache(train, cfg["stems"], cfg["n_channels"]), task.excerpt_length, cfg)
        decode_s = time.perf_counter() - t0

        # Input pipeline alone.
        ds = make_dataset(sampler, 0, 10**6, args.batch)
        it = iter(ds)
        next(it)
        t0 = time.perf_counter()
        for _ in range(args.pipeline_batches):
            next(it)
        pipe_s = time.perf_counter() - t0
        pipe_eps = args.pipeline_batches * args.batch / pipe_s

        # Model train step (STFT + U-Net + loss + Adam), default strategy.
        model = models.build(cfg)
        opt = keras.optimizers.Adam(1e-4)
        w = tf.constant(stem_weights(cfg))

        @tf.function
        def step(mix, stems):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(task.loss(model, mix, stems, w, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        batches = [next(it) for _ in range(args.steps + 1)]
        step(*batches[0]).numpy()  # trace
        t0 = time.perf_counter()
        for b in batches[1:]:
            step(*b).numpy()
        train_s = time.perf_counter() - t0
        sps = args.steps / train_s
        model_eps = sps * args.batch

    shape = f" ({task.frames} frames x {cfg['F']} bins)" if hasattr(task, "frames") else " (waveform)"
    print(f"config {cfg['name']}: batch {args.batch}, excerpt {task.excerpt_length} samples{shape}, "
          f"{len(cfg['stems'])} stems, {model.count_params():,} parameters, {os.cpu_count()} CPUs")
    print(f"decode+cache {len(train)} tracks: {decode_s:.2f} s")
    print(f"train step:      {sps:.3f} steps/s, {model_eps:.2f} examples/s")
    print(f"input pipeline:  {pipe_eps:.1f} examples/s")
    print(f"pipeline / model consumption: {pipe_eps / model_eps:.1f}x (must be >= 3x)")


if __name__ == "__main__":
    main()
