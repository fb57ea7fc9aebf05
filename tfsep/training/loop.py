"""The training loop: a custom ``strategy.run`` step under any ``tf.distribute`` strategy.

Keras 3's ``fit`` fails under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585), so the step is written out: each replica computes
its per-example losses, averages them over the global batch, and the Keras
optimizer all-reduces the gradients.

A run directory holds::

    config.json, model.weights.h5   a tfsep model directory (best validation weights,
                                    or the last ones if never validated): `tfsep separate -m RUN_DIR`
    checkpoints/                    tf.train.CheckpointManager: model, optimizer, step,
                                    validation state (best SDR, early stopping, LR plateau)
    best.weights.h5                 weights at the best validation SDR so far
    logs/                           TensorBoard: losses, learning rate, validation SDR, audio
    history.json                    validation results per step

The data position is the step: the pipeline draws example ``i`` from
``default_rng([seed, i])`` (see :mod:`tfsep.data.pipeline`), so a resumed run
sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np

from ..config import load_config
from ..errors import ConfigError, ModelError, TfsepError

CHECKPOINT_DIR = "checkpoints"
BEST_WEIGHTS = "best.weights.h5"


class RunDirError(TfsepError):
    """The run directory cannot be used as asked (exists without --resume, holds another model)."""


def choose_strategy(name: str):
    """``auto``: MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored on several GPUs, else default."""
    import tensorflow as tf

    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    n_workers = sum(len(v) for k, v in tf_config.get("cluster", {}).items() if k in ("chief", "worker"))
    if name == "multi_worker" or (name == "auto" and n_workers > 1):
        if not tf_config:
            raise ConfigError("training.strategy 'multi_worker' needs the TF_CONFIG environment variable")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored" or (name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _worker_role(strategy) -> tuple[bool, str]:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, "chief"
    task_type, task_id = resolver.task_type, resolver.task_id or 0
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief)
    return chief, f"{task_type}-{task_id}"


def _model_section(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("stems", "sample_rate", "n_channels", "frame_length", "frame_step", "F", "model")}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _save_weights_atomic(model, path: Path) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")  # keras wants the .weights.h5 suffix
    model.save_weights(str(tmp))
    os.replace(tmp, path)


def _init_from(model, name: str, quiet: bool) -> int:
    """Copy weights layer by layer (by name) from a pretrained tfsep model; returns the layers copied."""
    from ..pretrained import load_model

    src = load_model(name, quiet=quiet).keras_model
    src_layers = {layer.name: layer for layer in src.layers if layer.weights}
    copied = 0
    for layer in model.layers:
        if not layer.weights or layer.name not in src_layers:
            continue
        w_src = src_layers[layer.name].get_weights()
        w_dst = layer.get_weights()
        if [w.shape for w in w_src] != [w.shape for w in w_dst]:
            raise ModelError(f"init_from {name}: layer {layer.name} has other weight shapes than this config's model")
        layer.set_weights(w_src)
        copied += 1
    if not copied:
        raise ModelError(
            f"init_from {name}: no layer of that model matches this config's model (stems or architecture differ)"
        )
    return copied


class Trainer:
    """Train a model from a config into a run directory.

    Args:
        config: a config path, built-in name or dict (validated here).
        run_dir: the run directory (created).
        resume: continue from the latest checkpoint in ``run_dir``.
        max_steps: override ``training.train_max_steps``.
        quiet: no progress bar or messages.
        hooks: callables ``hook(step, loss)`` run after every step (tests use them to interrupt).
        keep_worker_dirs: keep non-chief workers' outputs (``run_dir/.worker-<id>``).
    """

    def __init__(
        self, config, run_dir, *, resume=False, max_steps=None, quiet=False, hooks=(), keep_worker_dirs=False, log=None
    ):
        self.config = load_config(config)
        if max_steps is not None:
            if max_steps < 1:
                raise ConfigError("--max-steps must be >= 1")
            self.config["training"]["train_max_steps"] = int(max_steps)
        self.tr = self.config["training"]
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.quiet = quiet
        self.hooks = list(hooks)
        self.keep_worker_dirs = keep_worker_dirs
        self._log = log or (lambda msg: None)
        self._check_run_dir()
        # Datasets are opened before TensorFlow starts: a wrong path fails in a second.
        from ..data.pipeline import open_datasets

        self.train_tracks, self.valid_tracks = open_datasets(self.config)

    def _check_run_dir(self):
        ckpt = self.run_dir / CHECKPOINT_DIR
        has_ckpt = ckpt.is_dir() and any(ckpt.iterdir())
        if has_ckpt and not self.resume:
            raise RunDirError(
                f"{self.run_dir}: already holds a training run; pass --resume to continue it or choose another directory"
            )
        saved = self.run_dir / "config.json"
        if self.resume and saved.is_file():
            old = load_config(saved)
            if _model_section(old) != _model_section(self.config):
                raise RunDirError(
                    f"{self.run_dir}: was trained with another model/audio config; resume with the same config"
                )

    def log(self, msg):
        if not self.quiet and self.is_chief:
            self._log(msg)

    def run(self) -> dict:
        """Train; returns a summary (steps, best SDR, stopped reason)."""
        import keras
        import tensorflow as tf

        from ..data.pipeline import ExcerptSampler, StemCache, make_dataset, validation_excerpts
        from ..pretrained import build_model
        from .callbacks import Summaries, ValidationTracker, scheduled_lr
        from .tasks import make_task, stem_weights

        cfg, tr = self.config, self.tr
        strategy = choose_strategy(tr["strategy"])
        self.is_chief, role = _worker_role(strategy)
        gpus = tf.config.list_logical_devices("GPU")
        mixed = tr["mixed_precision"] != "off" and bool(gpus)
        if tr["mixed_precision"] == "on" and not gpus:
            self.log("mixed precision: no GPU, training in float32")
        keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
        keras.utils.set_random_seed(tr["random_seed"])

        n_rep = strategy.num_replicas_in_sync
        G = tr["batch_size"]
        if G % n_rep:
            raise ConfigError(f"training.batch_size ({G}) must be a multiple of the {n_rep} replicas")
        task = make_task(cfg)
        max_steps = tr["train_max_steps"]

        out_dir = self.run_dir if self.is_chief else self.run_dir / f".worker-{role}"
        out_dir.mkdir(parents=True, exist_ok=True)
        if self.is_chief:
            _write_atomic(self.run_dir / "config.json", json.dumps(cfg, indent=2) + "\n")

        with strategy.scope():
            model = build_model(cfg)
            opt_kwargs = {"learning_rate": tr["learning_rate"]}
            if tr["clipnorm"]:
                opt_kwargs["global_clipnorm"] = tr["clipnorm"]
            if tr["optimizer"] == "adam":
                optimizer = keras.optimizers.Adam(**opt_kwargs)
            elif tr["optimizer"] == "adamw":
                optimizer = keras.optimizers.AdamW(weight_decay=tr["weight_decay"], **opt_kwargs)
            else:
                optimizer = keras.optimizers.SGD(momentum=0.9, **opt_kwargs)
            if mixed:
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(model.trainable_variables)
            step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        tracker = ValidationTracker(cfg)
        seed_states = [v for v in model.variables if "seed_generator_state" in v.path]
        ckpt = tf.train.Checkpoint(
            model=model, optimizer=optimizer, step=step_var, seed_states=seed_states, **tracker.variables()
        )
        manager = tf.train.CheckpointManager(ckpt, str(out_dir / CHECKPOINT_DIR), max_to_keep=tr["keep_checkpoints"])
        restored = self.resume and manager.latest_checkpoint
        if restored:
            ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            self.log(f"resumed from {manager.latest_checkpoint} at step {int(step_var.numpy())}")
        elif self.resume:
            self.log(f"{self.run_dir}: no checkpoint yet, starting from step 0")
        if not restored and tr["init_from"]:
            n = _init_from(model, tr["init_from"], self.quiet)
            self.log(f"init_from {tr['init_from']}: {n} layers copied")
        start = int(step_var.numpy())

        # Data: decoded once; examples as a pure function of (seed, index).
        cache = StemCache(self.train_tracks, cfg["stems"], cfg["n_channels"], tr["data_cache"])
        sampler = ExcerptSampler(cache, task.excerpt_length, cfg)
        valid = validation_excerpts(
            self.valid_tracks, cfg["stems"], cfg["n_channels"], cfg["sample_rate"], tr["validation_seconds"]
        )

        def dataset_fn(ctx):
            per_pipeline = G // ctx.num_input_pipelines
            ds = make_dataset(
                sampler, start, max_steps, G, ctx.input_pipeline_id, per_pipeline, tr["num_parallel_calls"]
            )
            return (
                ds.unbatch().batch(ctx.get_per_replica_batch_size(G), drop_remainder=True)
                if per_pipeline != ctx.get_per_replica_batch_size(G)
                else ds
            )

        dist_ds = strategy.distribute_datasets_from_function(dataset_fn)
        weights = tf.constant(stem_weights(cfg))
        stat_vars = [
            v for v in model.non_trainable_variables if "seed_generator" not in v.path and v.dtype.startswith("float")
        ]

        @tf.function
        def train_step(batch):
            def step_fn(mixture, stems):
                with tf.GradientTape() as tape:
                    per_example = task.loss(model, mixture, stems, weights, training=True)
                    loss = tf.nn.compute_average_loss(per_example, global_batch_size=G)
                    scaled = optimizer.scale_loss(loss)
                grads = tape.gradient(scaled, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))
                if n_rep > 1:
                    # Batch-norm statistics are per replica (Keras makes them unaggregated):
                    # average them every step so every replica and worker holds the
                    # statistics of the global batch, and checkpoints agree.
                    ctx = tf.distribute.get_replica_context()
                    for v in stat_vars:
                        v.assign(ctx.all_reduce(tf.distribute.ReduceOp.MEAN, tf.identity(v)))
                return loss

            per_replica = strategy.run(step_fn, args=batch)
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        self.model, self.task, self.sampler, self.strategy = model, task, sampler, strategy
        summaries = Summaries(self.run_dir / "logs", self.is_chief, cfg["sample_rate"])
        separate = task.separator(model)
        history_path = out_dir / "history.json"
        history = json.loads(history_path.read_text()) if restored and history_path.is_file() else []
        history = [h for h in history if h["step"] <= start]  # steps after the checkpoint are redone

        def validate(step):
            sdrs = {s: [] for s in cfg["stems"]}
            from ..evaluation.metrics import global_sdr

            for k, ex in enumerate(valid):
                est = separate(tf.constant(ex["mixture"][None]))
                est = np.asarray(est)[0]
                for i, s in enumerate(cfg["stems"]):
                    sdrs[s].append(global_sdr(ex[s], est[i]))
                if k < tr["audio_summaries"]:
                    for i, s in enumerate(cfg["stems"]):
                        summaries.audio(step, f"validation/{ex['name']}/{s}", est[i])
                    if not history:
                        summaries.audio(step, f"validation/{ex['name']}/mixture", ex["mixture"])
            per_stem = {s: float(np.mean(v)) for s, v in sdrs.items()}
            mean = float(np.mean(list(per_stem.values())))
            summaries.scalars(step, {"validation/sdr": mean, **{f"validation/sdr_{s}": v for s, v in per_stem.items()}})
            return mean, per_stem

        def save_checkpoint():
            manager.save(checkpoint_number=int(step_var.numpy()))

        stop_reason = "max_steps"
        interrupted = False
        losses = []
        bar = None
        old_handler = None
        if threading.current_thread() is threading.main_thread():

            def on_term(signum, frame):
                raise KeyboardInterrupt

            old_handler = signal.signal(signal.SIGTERM, on_term)
        try:
            from tqdm import tqdm

            bar = tqdm(
                total=max_steps,
                initial=start,
                unit="step",
                disable=self.quiet or not self.is_chief,
                dynamic_ncols=True,
                desc="train",
            )
            iterator = iter(dist_ds)
            step = start
            t_last, s_last = time.perf_counter(), step
            while step < max_steps:
                lr = scheduled_lr(cfg, step, float(tracker.lr_scale.numpy()))
                optimizer.learning_rate.assign(lr)
                loss = float(train_step(next(iterator)))
                if not np.isfinite(loss):
                    raise TfsepError(
                        f"training diverged at step {step + 1}: loss is {loss}; lower training.learning_rate"
                    )
                step += 1
                step_var.assign(step)
                losses.append(loss)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4g}", lr=f"{lr:.3g}", refresh=False)
                for hook in self.hooks:
                    hook(step, loss)
                if step % tr["log_every"] == 0 or step == max_steps:
                    now = time.perf_counter()
                    summaries.scalars(
                        step,
                        {
                            "train/loss": loss,
                            "train/learning_rate": lr,
                            "train/steps_per_second": (step - s_last) / max(now - t_last, 1e-9),
                        },
                    )
                    t_last, s_last = now, step
                stop = False
                if step % tr["validate_every"] == 0 or step == max_steps:
                    mean, per_stem = validate(step)
                    improved, stop = tracker.update(mean)
                    history.append(
                        {"step": step, "sdr": mean, "sdr_per_stem": per_stem, "train_loss": loss, "learning_rate": lr}
                    )
                    _write_atomic(history_path, json.dumps(history, indent=1))
                    if improved:
                        _save_weights_atomic(model, out_dir / BEST_WEIGHTS)
                    bar.write(
                        f"step {step}: validation SDR {mean:.2f} dB ({', '.join(f'{s} {v:.2f}' for s, v in per_stem.items())})"
                        + (" *" if improved else "")
                    ) if not self.quiet and self.is_chief else None
                    if stop:
                        stop_reason = "early_stopping"
                if step % tr["checkpoint_every"] == 0 or stop:
                    save_checkpoint()
                if stop:
                    break
            summaries.flush()
        except KeyboardInterrupt:
            interrupted = True
            save_checkpoint()
            stop_reason = "interrupted"
        finally:
            if bar is not None:
                bar.close()
            if old_handler is not None:
                signal.signal(signal.SIGTERM, old_handler)
        final_step = int(step_var.numpy())
        if not interrupted:
            if manager.latest_checkpoint is None or not manager.latest_checkpoint.endswith(f"-{final_step}"):
                save_checkpoint()
            self._write_model(model, out_dir)
        if not self.is_chief and not self.keep_worker_dirs:
            shutil.rmtree(out_dir, ignore_errors=True)
        return {
            "steps": final_step,
            "stop_reason": stop_reason,
            "best_sdr": float(tracker.best.numpy()) if history else None,
            "last_loss": losses[-1] if losses else None,
            "losses": losses,
            "run_dir": str(self.run_dir),
            "role": role,
        }

    def _write_model(self, model, out_dir: Path):
        """The run directory becomes a tfsep model directory: best validation weights (else the last)."""
        best = out_dir / BEST_WEIGHTS
        target = out_dir / "model.weights.h5"
        if best.is_file():
            tmp = target.with_name(f".tmp-{os.getpid()}-model.weights.h5")
            shutil.copyfile(best, tmp)
            os.replace(tmp, target)
        else:
            _save_weights_atomic(model, target)
        _write_atomic(out_dir / "config.json", json.dumps(self.config, indent=2) + "\n")


def train(config, run_dir, **kwargs) -> dict:
    """Train ``config`` into ``run_dir`` (see :class:`Trainer`)."""
    return Trainer(config, run_dir, **kwargs).run()
