"""One training step under any ``tf.distribute`` strategy: the optimizer, the replica step, batch-norm statistics.

Keras 3's ``fit`` fails under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585), so the step is written out: each replica computes
its per-example losses, averages them over the global batch, and the Keras
optimizer all-reduces the gradients.
"""

from __future__ import annotations


def freeze_batch_norm(model) -> int:
    """Put every BatchNormalization layer (nested models too) in inference mode, untrained; returns how many."""
    import keras

    from ..models import leaf_layers

    frozen = 0
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
            frozen += 1
    return frozen


def make_optimizer(tr: dict, policy: str):
    """The configured Keras optimizer (loss-scaled under float16); call inside the strategy scope."""
    import keras

    from .precision import needs_loss_scaling

    opt_kwargs = {"learning_rate": tr["learning_rate"]}
    if tr["clipnorm"]:
        opt_kwargs["global_clipnorm"] = tr["clipnorm"]
    if tr["optimizer"] == "adam":
        optimizer = keras.optimizers.Adam(**opt_kwargs)
    elif tr["optimizer"] == "adamw":
        optimizer = keras.optimizers.AdamW(weight_decay=tr["weight_decay"], **opt_kwargs)
    else:
        optimizer = keras.optimizers.SGD(momentum=0.9, **opt_kwargs)
    return keras.optimizers.LossScaleOptimizer(optimizer) if needs_loss_scaling(policy) else optimizer


def make_train_step(strategy, model, optimizer, task, config: dict):
    """Build the distributed step.

    Returns:
        a ``tf.function`` mapping a distributed batch to the global mean loss, after one optimizer update.
    """
    import tensorflow as tf

    from .tasks import stem_weights

    G, n_rep = config["training"]["batch_size"], strategy.num_replicas_in_sync
    weights = tf.constant(stem_weights(config))
    stat_vars = [
        v for v in model.non_trainable_variables if "seed_generator" not in v.path and v.dtype.startswith("float")
    ]

    def replica_step(mixture, stems):
        with tf.GradientTape() as tape:
            per_example = task.loss(model, mixture, stems, weights, training=True)
            # Averaged over the global batch: the optimizer's all-reduce sums the replicas' gradients.
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

    @tf.function
    def train_step(batch):
        per_replica = strategy.run(replica_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return train_step
