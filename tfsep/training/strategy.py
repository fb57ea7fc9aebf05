"""Where a run's steps execute: the ``tf.distribute`` strategy, this worker's role, seed and dtype policy.

``training.strategy`` ``auto`` takes MultiWorkerMirrored when ``TF_CONFIG``
names a cluster, Mirrored on several GPUs, else the default strategy.  The
chief writes the run directory; other workers write their own.
"""

from __future__ import annotations

import json
import os

from ..errors import ConfigError


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


def worker_role(strategy) -> tuple[bool, str]:
    """``(is this worker the chief?, its role as "<task type>-<task id>")``."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, "chief"
    task_type, task_id = resolver.task_type, resolver.task_id or 0
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief)
    return chief, f"{task_type}-{task_id}"


def start_strategy(config: dict):
    """``(strategy, is_chief, role, dtype policy, notes to log)``; sets the random seed before any weight is drawn."""
    import keras

    from .precision import choose_policy

    tr = config["training"]
    strategy = choose_strategy(tr["strategy"])
    is_chief, role = worker_role(strategy)
    policy, note = choose_policy(tr["mixed_precision"])
    notes = [note] if note else []
    if policy == "mixed_float16" and config["model"].get("params", {}).get("input_scale") == "linear":
        notes.append(
            "mixed_float16 with linear magnitudes: loud music can overflow float16 inside the U-Net; "
            'prefer training.mixed_precision "bfloat16" (GPUs of compute capability 8.0+) or input_scale "log"'
        )
    keras.utils.set_random_seed(tr["random_seed"])
    n_rep = strategy.num_replicas_in_sync
    if tr["batch_size"] % n_rep:
        raise ConfigError(f"training.batch_size ({tr['batch_size']}) must be a multiple of the {n_rep} replicas")
    return strategy, is_chief, role, policy, notes
