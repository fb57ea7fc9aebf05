"""Training: losses, the distributed loop, schedules and summaries.  Entry point: :func:`train`."""

from __future__ import annotations


def train(config, run_dir, **kwargs):
    """Train a model from ``config`` into ``run_dir``; see :class:`tfsep.training.loop.Trainer`."""
    from .loop import train as _train

    return _train(config, run_dir, **kwargs)
