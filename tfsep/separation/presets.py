"""``--quality`` presets: documented bundles of the inference options, chosen by measurement.

Each option of :class:`~tfsep.separation.Separator` left at None takes its
preset's value.  The figures behind the choices (real music, 44.1 kHz
stereo, global SDR against the true stems) are in docs/performance.md.

- ``mask_extension``: what Spleeter-style models (which see only the first
  ``F`` bins, 11 kHz) put above ``F``: ``zeros`` (Spleeter's output) or
  ``average`` (each frame's mean mask: full band);
- ``residual``: a stem computed as the mixture minus the other stems, so
  that the stems sum to the mixture (``auto``: ``accompaniment`` when the
  model has it, else ``other``; ``none``: every stem from its own mask);
- ``wiener``: multichannel Wiener EM iterations on the masked spectrograms;
- ``shifts``, ``channel_swap``: test-time augmentation (:mod:`.tta`);
- ``precision``: the network's arithmetic (:mod:`.precision`): ``auto`` is
  bfloat16 where the CPU runs it natively, float32 elsewhere.

Named bundles of :class:`~tfsep.separation.Separator` keyword arguments,
defined here once: :data:`SPLEETER_COMPATIBLE` (what Spleeter outputs) and
:data:`EXPORT` (what a SavedModel or TFLite export computes).
"""

from __future__ import annotations

from ..errors import TfsepError

QUALITIES = ("fast", "default", "best")
DEFAULT_QUALITY = "default"

_FULL_BAND = {"mask_extension": "average", "residual": "auto"}
PRESETS = {
    "fast": {**_FULL_BAND, "wiener": 0, "shifts": 0, "channel_swap": False, "precision": "auto"},
    "default": {**_FULL_BAND, "wiener": 1, "shifts": 0, "channel_swap": False, "precision": "auto"},
    "best": {**_FULL_BAND, "wiener": 1, "shifts": 2, "channel_swap": False, "precision": "auto"},
}

# Spleeter's own output: zeros above F, every stem from its own mask, no Wiener step, float32.
SPLEETER_COMPATIBLE = {
    "mask_extension": "zeros",
    "residual": "none",
    "wiener_iterations": 0,
    "shifts": 0,
    "channel_swap": False,
    "precision": "float32",
}
# What an export bakes in: the default preset's band and residual; Wiener and TTA stay with the host.
EXPORT = {**_FULL_BAND, "wiener_iterations": 0, "shifts": 0, "channel_swap": False, "precision": "float32"}


def preset(quality: str | None) -> dict:
    """The option values of a quality preset (``None``: the default one)."""
    quality = DEFAULT_QUALITY if quality is None else str(quality)
    if quality not in PRESETS:
        raise TfsepError(f"unknown quality {quality!r} (use {', '.join(QUALITIES)})")
    return dict(PRESETS[quality])


def residual_stem(residual, stems) -> str | None:
    """The stem a ``residual`` option makes the remainder of the mixture, or None."""
    if residual in (None, "none", False):
        return None
    if residual == "auto":
        for name in ("accompaniment", "other"):
            if name in stems:
                return name
        return None
    if residual not in stems:
        raise TfsepError(f"residual stem {residual!r} is not a stem of this model (its stems: {', '.join(stems)})")
    return residual


def with_residual(stems, mixture, residual_index):
    """Stems ``(..., S, L, C)`` with stem ``residual_index`` replaced by ``mixture (..., L, C)`` minus the others."""
    if residual_index is None:
        return stems
    return insert_residual(without_stem(stems, residual_index, -3), mixture, residual_index)


def without_stem(t, index: int, axis: int):
    """``t`` without entry ``index`` along its (static) stems ``axis``: one slice when it is the first or last."""
    import tensorflow as tf

    axis %= t.shape.rank
    n = t.shape[axis]

    def part(start, stop):
        return t[(slice(None),) * axis + (slice(start, stop),)]

    if index == n - 1:
        return part(None, index)
    if index == 0:
        return part(1, None)
    return tf.concat([part(None, index), part(index + 1, None)], axis=axis)


def insert_residual(others, mixture, index: int):
    """Stems ``(..., S, L, C)`` from the others ``(..., S - 1, L, C)``: ``mixture`` minus their sum put at ``index``.

    The one place the residual is formed, so a separation that makes it
    itself (``SpectralSeparation.residual``) and :func:`with_residual` after it
    agree bit for bit.
    """
    import tensorflow as tf

    rest = (mixture - tf.reduce_sum(others, axis=-3))[..., None, :, :]
    if index == others.shape[-3]:
        return tf.concat([others, rest], axis=-3)
    return tf.concat([others[..., :index, :, :], rest, others[..., index:, :, :]], axis=-3)
