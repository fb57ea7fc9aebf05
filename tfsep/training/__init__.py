"""Training: losses, tasks, the distributed loop, schedules and summaries.

- :mod:`.loop`: :class:`Trainer` (``tfsep train``): tf.distribute strategy,
  checkpoints, resume, validation, early stopping;
- :mod:`.tasks`: what a model is trained to output (masked spectrograms or
  waveforms) and its loss; :mod:`.losses`: the loss functions;
- :mod:`.callbacks`: learning-rate schedules, validation tracking, TensorBoard summaries;
- :mod:`.precision`: the dtype policy ``training.mixed_precision`` picks (bfloat16/float16/float32);
- :mod:`.signals`: SIGINT/SIGTERM stop a run between steps, so its checkpoint is exact.

TensorFlow is imported when training starts, not here.
"""

from .loop import Trainer, train

__all__ = ["Trainer", "train"]
