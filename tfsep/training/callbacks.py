"""Learning-rate schedules, early stopping state and TensorBoard summaries for the training loop."""

from __future__ import annotations

import math

import numpy as np


def scheduled_lr(config: dict, step: int, plateau_scale: float) -> float:
    """Learning rate for ``step`` (0-based): linear warm-up, then constant/plateau-scaled/cosine."""
    tr = config["training"]
    base = float(tr["learning_rate"])
    warm = tr["warmup_steps"]
    if warm and step < warm:
        return base * (step + 1) / warm
    if tr["lr_schedule"] == "cosine":
        total = max(1, tr["train_max_steps"] - warm)
        t = min(1.0, (step - warm) / total)
        return float(tr["lr_min"] + 0.5 * (base - tr["lr_min"]) * (1 + math.cos(math.pi * t)))
    if tr["lr_schedule"] == "plateau":
        return max(float(tr["lr_min"]), base * plateau_scale)
    return base


class ValidationTracker:
    """Best validation SDR, early stopping and plateau decay, held in tf.Variables so checkpoints carry them."""

    def __init__(self, config: dict):
        import tensorflow as tf

        self.tr = config["training"]
        self.best = tf.Variable(-np.inf, dtype=tf.float64, trainable=False, name="best_sdr")
        self.bad = tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_validations")
        self.plateau_bad = tf.Variable(0, dtype=tf.int64, trainable=False, name="plateau_bad")
        self.lr_scale = tf.Variable(1.0, dtype=tf.float64, trainable=False, name="lr_scale")

    def variables(self) -> dict:
        return {
            "best_sdr": self.best,
            "bad_validations": self.bad,
            "plateau_bad": self.plateau_bad,
            "lr_scale": self.lr_scale,
        }

    def update(self, sdr: float) -> tuple[bool, bool]:
        """Record a validation SDR; returns (improved, stop)."""
        improved = bool(sdr > float(self.best.numpy()) + 1e-4)
        if improved:
            self.best.assign(sdr)
            self.bad.assign(0)
            self.plateau_bad.assign(0)
        else:
            self.bad.assign_add(1)
            self.plateau_bad.assign_add(1)
            if self.tr["lr_schedule"] == "plateau" and int(self.plateau_bad.numpy()) >= max(
                1, self.tr["lr_plateau_patience"]
            ):
                self.lr_scale.assign(float(self.lr_scale.numpy()) * self.tr["lr_plateau_factor"])
                self.plateau_bad.assign(0)
        patience = self.tr["early_stopping_patience"]
        stop = patience is not None and int(self.bad.numpy()) >= patience
        return improved, stop


class Summaries:
    """TensorBoard scalars and audio (chief only; other workers get a no-op writer)."""

    def __init__(self, logdir, enabled: bool, sample_rate: int):
        import tensorflow as tf

        self.tf = tf
        self.sample_rate = sample_rate
        self.writer = tf.summary.create_file_writer(str(logdir)) if enabled else tf.summary.create_noop_writer()

    def scalars(self, step: int, values: dict) -> None:
        with self.writer.as_default(step=step):
            for k, v in values.items():
                self.tf.summary.scalar(k, float(v))

    def audio(self, step: int, name: str, wave: np.ndarray, seconds: float = 10.0) -> None:
        n = int(seconds * self.sample_rate)
        clip = np.clip(np.asarray(wave[:n], np.float32), -1, 1)
        with self.writer.as_default(step=step):
            self.tf.summary.audio(name, clip[None], self.sample_rate, max_outputs=1)

    def flush(self) -> None:
        self.writer.flush()
