"""Validation during training: the SDR of the separated validation excerpts, with TensorBoard summaries."""

from __future__ import annotations

import numpy as np


def validate_excerpts(
    separate, excerpts, stems, summaries, step: int, audio_summaries: int, mixture_audio: bool
) -> tuple[float, dict[str, float]]:
    """Separate the validation excerpts and write SDR (and a few audio) summaries for ``step``.

    Args:
        separate: the task's separator, ``mixture batch -> stems batch``.
        excerpts: dicts with ``name``, ``mixture`` and one array per stem.
        audio_summaries: how many excerpts get audio summaries of their estimates.
        mixture_audio: write those excerpts' mixtures too (once per run directory: they do not change).
    Returns:
        the mean SDR over stems and the SDR per stem (each averaged over excerpts), in dB.
    """
    import tensorflow as tf

    from ..evaluation.metrics import global_sdr

    sdrs = {s: [] for s in stems}
    for k, ex in enumerate(excerpts):
        est = np.asarray(separate(tf.constant(ex["mixture"][None])))[0]
        for i, s in enumerate(stems):
            sdrs[s].append(global_sdr(ex[s], est[i]))
        if k < audio_summaries:
            for i, s in enumerate(stems):
                summaries.audio(step, f"validation/{ex['name']}/{s}", est[i])
            if mixture_audio:
                summaries.audio(step, f"validation/{ex['name']}/mixture", ex["mixture"])
    per_stem = {s: float(np.mean(v)) for s, v in sdrs.items()}
    mean = float(np.mean(list(per_stem.values())))
    summaries.scalars(step, {"validation/sdr": mean, **{f"validation/sdr_{s}": v for s, v in per_stem.items()}})
    return mean, per_stem
