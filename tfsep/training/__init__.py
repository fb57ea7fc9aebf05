"""Training: losses, tasks, the distributed loop, schedules and summaries.

- :mod:`.loop`: :class:`Trainer` (``tfsep train``): the run's state, checkpoints,
  resume, validation and early stopping on schedule;
- :mod:`.strategy`: the tf.distribute strategy, worker role, seed and dtype policy;
- :mod:`.step`: the optimizer and the distributed training step;
- :mod:`.rundir`: what a run directory holds, its checks and atomic writes;
- :mod:`.validation`: validation SDR and its summaries;
- :mod:`.tasks`: what a model is trained to output (masked spectrograms or
  waveforms) and its loss; :mod:`.losses`: the loss functions;
- :mod:`.callbacks`: learning-rate schedules, validation tracking, TensorBoard summaries;
- :mod:`.precision`: the dtype policy ``training.mixed_precision`` picks (bfloat16/float16/float32);
- :mod:`.signals`: SIGINT/SIGTERM stop a run between steps, so its checkpoint is exact.

TensorFlow is imported when training starts, not here.
"""

from .loop import Trainer, train

__all__ = ["Trainer", "train"]
