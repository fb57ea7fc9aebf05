"""The training loop: a run's state built once, then steps, validation and checkpoints on schedule.

The step itself is :mod:`.step`'s (a custom ``strategy.run`` step: Keras 3's
``fit`` fails under ``MultiWorkerMirroredStrategy``), the strategy
:mod:`.strategy`'s, and what the run directory holds :mod:`.rundir`'s.

The data position is the step: the pipeline draws example ``i`` from
``default_rng([seed, i])`` (see :mod:`tfsep.data.pipeline`), so a resumed run
sees exactly the batches an uninterrupted one would.  A checkpoint therefore
has to hold exactly ``step`` optimizer updates: SIGINT and SIGTERM only set a
flag that the loop reads between steps (never an exception out of a step that
has already updated the weights), and the run stops there with a checkpoint.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import numpy as np

from ..config import load_config
from ..config.budget import check_training_memory
from ..errors import ConfigError, TfsepError
from ..pretrained import copy_weights_from
from ..pretrained.modeldir import stored_part
from .precision import global_policy
from .rundir import (
    BEST_WEIGHTS,
    CHECKPOINT_DIR,
    check_run_dir,
    prepare_out_dir,
    save_weights_atomic,
    write_atomic,
    write_model_dir,
)
from .signals import StopSignals
from .step import freeze_batch_norm, make_optimizer, make_train_step
from .strategy import start_strategy
from .validation import validate_excerpts


class _StepRate:
    """Steps per second since the previous call (for the TensorBoard throughput scalar)."""

    def __init__(self, step: int):
        self.time, self.step = time.perf_counter(), step

    def __call__(self, step: int) -> float:
        now = time.perf_counter()
        rate = (step - self.step) / max(now - self.time, 1e-9)
        self.time, self.step = now, step
        return rate


class Trainer:
    """Train a model from a config into a run directory.

    Args:
        config: a config path, built-in name or dict (validated here).
        run_dir: the run directory (created).
        resume: continue from the latest checkpoint in ``run_dir``.
        max_steps: stop at this step (a checkpoint and a model directory, as at the end);
            the schedule stays the config's (``training.train_max_steps``), so a later
            ``resume`` continues exactly where an uninterrupted run would be.
        quiet: no progress bar or messages.
        hooks: callables ``hook(step, loss)`` run after every step (tests use them to interrupt).
        keep_worker_dirs: keep non-chief workers' outputs (``run_dir/.worker-<id>``).
        log: where messages go (``log(msg)``; default nowhere), on the chief only.

    Construction checks the request (config, memory, run directory, datasets), then builds
    the whole run's state once, in the order the numerics need: strategy, seed and dtype
    policy, model, optimizer, checkpoint (restored on resume, else ``warm_start``), the
    datasets from the checkpointed step, the distributed step and the logs.  Every
    attribute is set there; :meth:`run` only steps, validates and saves.
    """

    def __init__(
        self, config, run_dir, *, resume=False, max_steps=None, quiet=False, hooks=(), keep_worker_dirs=False, log=None
    ):
        self.config = load_config(config)
        self.tr = self.config["training"]
        planned = self.tr["train_max_steps"]
        if max_steps is not None:
            if max_steps < 1:
                raise ConfigError("--max-steps must be >= 1")
            if max_steps > planned:
                raise ConfigError(
                    f"--max-steps {max_steps} is beyond training.train_max_steps ({planned}), where the learning-rate "
                    "schedule ends: raise train_max_steps in the config instead"
                )
        # Where this invocation stops; the schedule and the data always follow train_max_steps.
        self.stop_step = planned if max_steps is None else int(max_steps)
        if self.stop_step:
            check_training_memory(self.config)
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.quiet = quiet
        self.hooks = list(hooks)
        self.keep_worker_dirs = keep_worker_dirs
        self._log = log or (lambda msg: None)
        check_run_dir(self.run_dir, self.config, self.resume)
        # Datasets are opened before TensorFlow starts: a wrong path fails in a second.
        from ..data.pipeline import open_datasets, open_stem_pools

        if self.stop_step == 0:  # no steps: nothing to read
            self.train_tracks, self.valid_tracks, self.pool_tracks = [], [], {}
        else:
            self.train_tracks, self.valid_tracks = open_datasets(self.config)
            self.pool_tracks = open_stem_pools(self.config)
        self.is_chief = True  # until the strategy says otherwise (log() reads it)
        import tensorflow as tf

        from ..pretrained import build_model
        from .callbacks import ValidationTracker
        from .tasks import make_task

        # Then the run's state, once, in the order numerics need (TensorFlow starts here).  Keras' global
        # dtype policy is the run's only while the state is built and while run() steps: the caller's after.
        self.strategy, self.is_chief, self.role, self.policy, notes = start_strategy(self.config)
        for note in notes:
            self.log(note)
        with global_policy(self.policy):
            self.task = make_task(self.config)
            self.out_dir = prepare_out_dir(self.run_dir, self.config, self.is_chief, self.role)
            with self.strategy.scope():
                self.model = build_model(self.config)
                if self.tr["freeze_batch_norm"]:
                    freeze_batch_norm(self.model)
                self.optimizer = make_optimizer(self.tr, self.policy)
                self.optimizer.build(self.model.trainable_variables)
                self.step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.tracker = ValidationTracker(self.config)
            self.manager, self.restored = self._open_checkpoints()
            self.start = self._step()
            if self.stop_step:
                self.sampler, self.valid, self.batches = self._build_datasets()
                self.train_step = make_train_step(self.strategy, self.model, self.optimizer, self.task, self.config)
                self.summaries, self.separate, self.history_path, self.history = self._open_logs()
            else:  # no steps: the run directory becomes a model directory of the starting weights
                self.sampler, self.valid, self.batches, self.train_step = None, [], None, None
                self.summaries, self.separate, self.history_path, self.history = None, None, None, []
        self._stop = None  # the StopSignals of the loop, while it runs
        self._in_step = False  # between a weight update and the step's count (a checkpoint must wait)

    def log(self, msg):
        if not self.quiet and self.is_chief:
            self._log(msg)

    def run(self) -> dict:
        """Train from the state built at construction; returns a summary (steps, best SDR, stopped reason).

        Keras' global dtype policy is the run's (mixed precision) while it
        steps, and the caller's again afterwards.
        """
        if self.stop_step == 0:
            stop_reason, losses = "no_steps", []
        else:
            with global_policy(self.policy):
                stop_reason, losses = self._train_loop(self.batches)
        final_step = int(self.step_var.numpy())
        if stop_reason != "interrupted":
            self._save_final(final_step)
        if not self.is_chief and not self.keep_worker_dirs:
            shutil.rmtree(self.out_dir, ignore_errors=True)
        return {
            "steps": final_step,
            # Where --resume continues: the last step, or the last checkpoint if a second signal cut a step short.
            "resume_step": self._checkpoint_step(),
            "stop_reason": stop_reason,
            "policy": self.policy,
            "best_sdr": float(self.tracker.best.numpy()) if self.history else None,
            "last_loss": losses[-1] if losses else None,
            "losses": losses,
            "run_dir": str(self.run_dir),
            "role": self.role,
        }

    # -- state: checkpoint -------------------------------------------------------------------------

    def _open_checkpoints(self):
        """``(checkpoint manager, restored?)``: the latest checkpoint restored on resume (else ``warm_start`` applied)."""
        import tensorflow as tf

        tr = self.tr
        # Keras seed generators (dropout) are checkpointed too, so a resumed run draws the same masks.
        seed_states = [v for v in self.model.variables if "seed_generator_state" in v.path]
        ckpt = tf.train.Checkpoint(
            model=self.model,
            optimizer=self.optimizer,
            step=self.step_var,
            seed_states=seed_states,
            **self.tracker.variables(),
        )
        manager = tf.train.CheckpointManager(
            ckpt, str(self.out_dir / CHECKPOINT_DIR), max_to_keep=tr["keep_checkpoints"]
        )
        latest = manager.latest_checkpoint
        restored = bool(self.resume and latest)
        if restored:
            ckpt.restore(latest).assert_existing_objects_matched()
            self.log(f"resumed from {latest} at step {int(self.step_var.numpy())}")
        elif self.resume:
            self.log(f"{self.run_dir}: no checkpoint yet, starting from step 0")
        if not restored and tr["warm_start"]:
            n = copy_weights_from(self.model, tr["warm_start"], quiet=self.quiet)
            self.log(f"warm_start {tr['warm_start']}: {n} layers copied")
        return manager, restored

    def save_checkpoint(self) -> None:
        """Checkpoint model, optimizer, step (the data position) and validation state, numbered by the step."""
        self.manager.save(checkpoint_number=int(self.step_var.numpy()))

    def _checkpoint_step(self) -> int:
        """The step of the latest checkpoint (the start step when there is none)."""
        latest = self.manager.latest_checkpoint
        return int(latest.rsplit("-", 1)[1]) if latest else self.start

    # -- data --------------------------------------------------------------------------------------

    def _build_datasets(self):
        """``(sampler, validation excerpts, batches)``: the training batches from the checkpointed step on.

        The batches are a distributed dataset: one global batch per step, split over the replicas.
        """
        from ..data.pipeline import ExcerptSampler, StemCache, make_dataset, source_weights, validation_excerpts

        cfg, tr = self.config, self.tr
        G, start, max_steps = tr["batch_size"], self.start, self.stop_step
        # Decoded once; examples are a pure function of (seed, index), so resuming needs only the step.
        cache = StemCache(self.train_tracks, cfg["stems"], cfg["n_channels"], tr["data_cache"])
        pools = {s: StemCache(t, [s], cfg["n_channels"], tr["data_cache"]) for s, t in self.pool_tracks.items()}
        sampler = ExcerptSampler(cache, self.task.excerpt_length, cfg, pools, source_weights(cfg, self.train_tracks))
        valid = validation_excerpts(
            self.valid_tracks, cfg["stems"], cfg["n_channels"], cfg["sample_rate"], tr["validation_seconds"]
        )

        def dataset_fn(ctx):
            per_pipeline = G // ctx.num_input_pipelines
            ds = make_dataset(
                sampler, start, max_steps, G, ctx.input_pipeline_id, per_pipeline, tr["num_parallel_calls"]
            )
            per_replica = ctx.get_per_replica_batch_size(G)
            # Several replicas per pipeline (Mirrored): re-batch the pipeline's share per replica.
            return ds.unbatch().batch(per_replica, drop_remainder=True) if per_pipeline != per_replica else ds

        return sampler, valid, self.strategy.distribute_datasets_from_function(dataset_fn)

    # -- the loop ----------------------------------------------------------------------------------

    def _open_logs(self):
        """``(TensorBoard summaries, validation separator, history path, validation history up to the checkpoint)``."""
        from .callbacks import Summaries

        summaries = Summaries(self.run_dir / "logs", self.is_chief, self.config["sample_rate"])
        path = self.out_dir / "history.json"
        history = json.loads(path.read_text()) if self.restored and path.is_file() else []
        # Steps after the checkpoint are redone.
        return summaries, self.task.separator(self.model), path, [h for h in history if h["step"] <= self.start]

    def _train_loop(self, batches) -> tuple[str, list[float]]:
        """Run the steps; Ctrl-C or SIGTERM ends the run after the current step, as ``interrupted``, with a checkpoint.

        Returns:
            the stop reason (``max_steps``, ``early_stopping``, ``interrupted``) and the loss of every step run.
        """
        from ..console.progress import progress

        losses = []
        bar = None

        def notify(signum):
            self.log(f"{signal.Signals(signum).name}: stopping after this step (again to stop at once)")

        with StopSignals(notify) as self._stop:
            try:
                bar = progress(
                    self.stop_step,
                    "train",
                    "step",
                    initial=self.start,
                    enabled=not self.quiet and self.is_chief,
                    every=self.tr["log_every"],
                )
                stop_reason = self._run_steps(iter(batches), bar, losses)
                self.summaries.flush()
            except KeyboardInterrupt:
                # A second signal or a hook.  Between steps the weights and the step agree: checkpoint them.
                # Within a step they may not; the last checkpoint is then where --resume continues.
                stop_reason = "interrupted"
            finally:
                if bar is not None:
                    bar.close()
            if stop_reason == "interrupted" and not self._in_step and self._checkpoint_step() != self._step():
                self.save_checkpoint()
        return stop_reason, losses

    def _step(self) -> int:
        return int(self.step_var.numpy())

    def _run_steps(self, iterator, bar, losses: list) -> str:
        """Step from the checkpointed step to max_steps, logging, validating and checkpointing on schedule.

        Returns:
            ``max_steps``, ``early_stopping``, or ``interrupted`` (a signal arrived; the caller checkpoints).
        """
        from .callbacks import scheduled_lr

        tr, max_steps = self.tr, self.stop_step
        step = self.start
        rate = _StepRate(step)
        while step < max_steps:
            if self._stop.received is not None:
                return "interrupted"
            lr = scheduled_lr(self.config, step, float(self.tracker.lr_scale.numpy()))
            self.optimizer.learning_rate.assign(lr)
            batch = next(iterator)
            # From the weight update until the step is counted, a checkpoint would hold one update too many.
            self._in_step = True
            loss = float(self.train_step(batch))
            if not np.isfinite(loss):
                raise TfsepError(f"training diverged at step {step + 1}: loss is {loss}; lower training.learning_rate")
            step += 1
            self.step_var.assign(step)
            self._in_step = False
            losses.append(loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4g}", lr=f"{lr:.3g}", refresh=False)
            for hook in self.hooks:
                hook(step, loss)
            if step % tr["log_every"] == 0 or step == max_steps:
                self.summaries.scalars(
                    step, {"train/loss": loss, "train/learning_rate": lr, "train/steps_per_second": rate(step)}
                )
            stop = False
            if step % tr["validate_every"] == 0 or step == max_steps:
                stop = self._validate_and_track(step, loss, lr, bar)
            if step % tr["checkpoint_every"] == 0 or stop:
                self.save_checkpoint()
            if stop:
                return "early_stopping"
        return "max_steps"

    def _validate_and_track(self, step: int, loss: float, lr: float, bar) -> bool:
        """Validate, update best/early-stopping/plateau state, history and best weights; returns whether to stop."""
        mean, per_stem = self.validate(step)
        improved, stop = self.tracker.update(mean)
        self.history.append(
            {"step": step, "sdr": mean, "sdr_per_stem": per_stem, "train_loss": loss, "learning_rate": lr}
        )
        write_atomic(self.history_path, json.dumps(self.history, indent=1))
        if improved:
            save_weights_atomic(stored_part(self.model, self.config), self.out_dir / BEST_WEIGHTS)
        if not self.quiet and self.is_chief:
            per_stem_text = ", ".join(f"{s} {v:.2f}" for s, v in per_stem.items())
            bar.write(f"step {step}: validation SDR {mean:.2f} dB ({per_stem_text})" + (" *" if improved else ""))
        return stop

    def validate(self, step: int) -> tuple[float, dict[str, float]]:
        """Separate the validation excerpts and write SDR (and a few audio) summaries for ``step``.

        Returns:
            the mean SDR over stems and the SDR per stem (each averaged over excerpts), in dB.
        """
        # The mixtures do not change: their audio once per run directory.
        return validate_excerpts(
            self.separate,
            self.valid,
            self.config["stems"],
            self.summaries,
            step,
            self.tr["audio_summaries"],
            mixture_audio=not self.history,
        )

    def _save_final(self, final_step: int) -> None:
        """Checkpoint the last step (unless just done) and turn the run directory into a model directory."""
        latest = self.manager.latest_checkpoint
        if latest is None or not latest.endswith(f"-{final_step}"):
            self.save_checkpoint()
        write_model_dir(self.out_dir, self.config, self.model)


def train(config, run_dir, **kwargs) -> dict:
    """Train ``config`` into ``run_dir`` (see :class:`Trainer`)."""
    return Trainer(config, run_dir, **kwargs).run()
