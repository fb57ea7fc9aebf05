"""The options of a separation, checked against a model config alone: no weights, no TensorFlow.

:class:`~tfsep.separation.Separator` resolves its options here once its
model is loaded, and ``tfsep separate`` calls the same function on the
config before loading anything, so that a bad option fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import MASK_EXTENSIONS, MAX_BATCH_SIZE
from ..errors import TfsepError
from .plan import SegmentPlan, config_plan
from .precision import resolve_precision
from .presets import preset, residual_stem
from .tta import MAX_SHIFTS
from .waveform import separation_domain


def select_stems(all_stems, stems, model_name) -> list:
    """The requested subset of ``all_stems`` in model order (all when ``stems`` is empty)."""
    if not stems:
        return list(all_stems)
    unknown = [s for s in stems if s not in all_stems]
    if unknown:
        raise TfsepError(f"model {model_name} has no stem {', '.join(unknown)} (its stems: {', '.join(all_stems)})")
    return [s for s in all_stems if s in stems]


@dataclass(frozen=True)
class SeparationOptions:
    """Every inference option of one model, resolved (preset values filled in) and checked."""

    plan: SegmentPlan
    batch_size: int
    stems: list
    domain: str  # "spectrogram" or "waveform"
    mask_extension: str | None  # None for waveform models
    wiener_iterations: int
    residual: str | None
    shifts: int
    channel_swap: bool
    precision: str = "float32"  # the network's arithmetic, resolved: "float32" or "bfloat16"


def separation_options(
    cfg: dict,
    *,
    quality=None,
    segment=None,
    overlap=None,
    batch_size=None,
    stems=None,
    wiener_iterations=None,
    mask_extension=None,
    residual=None,
    shifts=None,
    channel_swap=None,
    precision=None,
) -> SeparationOptions:
    """Resolve the options of :class:`~tfsep.separation.Separator` for model config ``cfg``.

    Options left at None take the ``quality`` preset's value.
    Raises:
        TfsepError: an option out of range or not applicable to the model.
    """
    options = preset(quality)
    plan = config_plan(cfg, segment, overlap)
    batch = int(batch_size or cfg["separation"]["batch_size"])
    if not 1 <= batch <= MAX_BATCH_SIZE:
        raise TfsepError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {batch}")
    all_stems = list(cfg["stems"])
    selected = select_stems(all_stems, stems, cfg["name"])
    domain = separation_domain(cfg)
    spectral = domain == "spectrogram"

    def pick(value, key):
        return options[key] if value is None else value

    extension = pick(mask_extension, "mask_extension") if spectral else None
    if spectral and extension not in MASK_EXTENSIONS:
        raise TfsepError(f"mask_extension must be one of {', '.join(MASK_EXTENSIONS)}, got {extension!r}")
    wiener = int(pick(wiener_iterations, "wiener") if spectral else (wiener_iterations or 0))
    if wiener < 0:
        raise TfsepError(f"wiener_iterations must be >= 0, got {wiener_iterations}")
    if wiener and not spectral:
        raise TfsepError(f"--wiener refines spectrogram masks; model {cfg['name']} separates waveforms directly")
    n_shifts = int(pick(shifts, "shifts"))
    if not 0 <= n_shifts <= MAX_SHIFTS:
        raise TfsepError(
            f"shifts must be between 0 and {MAX_SHIFTS}, got {shifts}: each shift is one more pass of the model "
            f"over every segment ({MAX_SHIFTS} already make separation {MAX_SHIFTS + 1} times slower)"
        )
    return SeparationOptions(
        plan=plan,
        batch_size=batch,
        stems=selected,
        domain=domain,
        mask_extension=extension,
        wiener_iterations=wiener,
        residual=residual_stem(pick(residual, "residual"), all_stems),
        shifts=n_shifts,
        channel_swap=bool(pick(channel_swap, "channel_swap")) and cfg["n_channels"] == 2,
        precision=resolve_precision(pick(precision, "precision")),
    )
