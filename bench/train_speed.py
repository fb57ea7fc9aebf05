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
            sf.write(
                d / f"{s}.wav", (0.1 * rng.standard_normal((seconds * sr, 2))).astype(np.float32), sr, subtype="FLOAT"
            )


def measure(cfg: dict, train_path, batch: int, steps: int, pipeline_batches: int = 0) -> dict:
    """Steps/s of ``cfg``'s train step (STFT or waveform task + model + loss + Adam) on ``train_path``
    excerpts, after one traced step; and, with ``pipeline_batches``, the input pipeline's examples/s."""
    import keras
    import tensorflow as tf

    from tfsep import models
    from tfsep.config import load_config
    from tfsep.data.pipeline import ExcerptSampler, StemCache, make_dataset, open_datasets
    from tfsep.training.tasks import make_task, stem_weights

    cfg = dict(
        cfg,
        training=dict(
            cfg["training"], batch_size=batch, train_path=str(train_path), validation_path=None, validation_tracks=1
        ),
    )
    cfg = load_config(cfg)
    train, _ = open_datasets(cfg)
    task = make_task(cfg)
    t0 = time.perf_counter()
    sampler = ExcerptSampler(StemCache(train, cfg["stems"], cfg["n_channels"]), task.excerpt_length, cfg)
    decode_s = time.perf_counter() - t0

    ds = make_dataset(sampler, 0, 10**6, batch)
    it = iter(ds)
    next(it)
    pipe_eps = None
    if pipeline_batches:  # input pipeline alone
        t0 = time.perf_counter()
        for _ in range(pipeline_batches):
            next(it)
        pipe_eps = pipeline_batches * batch / (time.perf_counter() - t0)

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

    batches = [next(it) for _ in range(steps + 1)]
    step(*batches[0]).numpy()  # trace
    t0 = time.perf_counter()
    for b in batches[1:]:
        step(*b).numpy()
    sps = steps / (time.perf_counter() - t0)
    return {
        "steps_per_s": sps,
        "examples_per_s": sps * batch,
        "pipeline_examples_per_s": pipe_eps,
        "decode_s": decode_s,
        "task": task,
        "model": model,
        "tracks": train,
        "config": cfg,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="2stems")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--pipeline-batches", type=int, default=30)
    args = ap.parse_args()

    from tfsep.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(args.config)
        make_tracks(Path(tmp), ["vocals", "drums", "bass", "other"])
        r = measure(cfg, tmp, args.batch, args.steps, args.pipeline_batches)
    task, model, model_eps, pipe_eps = r["task"], r["model"], r["examples_per_s"], r["pipeline_examples_per_s"]

    shape = f" ({task.frames} frames x {cfg['F']} bins)" if hasattr(task, "frames") else " (waveform)"
    print(
        f"config {cfg['name']}: batch {args.batch}, excerpt {task.excerpt_length} samples{shape}, "
        f"{len(cfg['stems'])} stems, {model.count_params():,} parameters, {os.cpu_count()} CPUs"
    )
    print(f"decode+cache {len(r['tracks'])} tracks: {r['decode_s']:.2f} s")
    print(f"train step:      {r['steps_per_s']:.3f} steps/s, {model_eps:.2f} examples/s")
    print(f"input pipeline:  {pipe_eps:.1f} examples/s")
    print(f"pipeline / model consumption: {pipe_eps / model_eps:.1f}x (must be >= 3x)")


if __name__ == "__main__":
    main()
