"""The segment plan: how a track is cut into overlapping segments and blended back.

One plan serves the local ``Separator``, the exported SavedModel's
``serving_default`` signature and the TF Serving client, so that all three
cut, weight and blend segments identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import MAX_OVERLAP, segment_samples
from ..errors import TfsepError
from .waveform import separation_domain


@dataclass(frozen=True)
class SegmentPlan:
    """Segments of ``segment`` samples starting every ``hop``; consecutive ones share ``overlap`` samples.

    ``window`` (``segment`` weights) blends them; ``edge`` is the number of
    leading samples of a segment that get no weight (see :func:`crossfade_window`).
    ``padding`` zeros go before the first and after the last sample of a
    track and are cropped from the stems: a spectrogram model's STFT sees the
    first and last samples with as many frames as any other (Spleeter >= 2
    pads ``frame_length`` zeros at the start the same way).
    """

    segment: int
    overlap: int
    hop: int
    edge: int
    window: np.ndarray
    padding: int = 0


def crossfade_window(length: int, overlap: int, edge: int = 0) -> np.ndarray:
    """Weights of one segment: linear ramps over ``overlap`` samples at both ends, never zero.

    The fade-in starts after the first ``edge`` samples (``frame_length -
    frame_step``), which the inverse STFT rebuilds from fewer frames and so
    attenuates: weighting them would dip the output at every join.  They get
    a negligible weight instead, which only matters at the start of a track.
    """
    w = np.ones(length, dtype=np.float32)
    if overlap > 0:
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        w[-overlap:] = ramp[::-1]
        edge = min(max(edge, 0), overlap)
        if edge:
            w[:edge] = 1e-6
        if overlap > edge:
            fade_in = (np.arange(overlap - edge, dtype=np.float32) + 0.5) / (overlap - edge)
            w[edge:overlap] = np.minimum(w[edge:overlap], fade_in)
    return w


def make_plan(segment: int, overlap_fraction: float, edge: int, padding: int = 0) -> SegmentPlan:
    """A plan for segments of ``segment`` samples overlapping by ``overlap_fraction`` of their length."""
    if not 0 <= overlap_fraction <= MAX_OVERLAP:
        raise TfsepError(f"overlap must be a fraction between 0 and {MAX_OVERLAP}, got {overlap_fraction}")
    overlap = int(round(overlap_fraction * segment))
    window = crossfade_window(segment, overlap, edge)
    return SegmentPlan(segment, overlap, segment - overlap, edge, window, int(padding))


def config_plan(config: dict, segment=None, overlap=None) -> SegmentPlan:
    """The plan for a model config: ``segment`` in seconds and ``overlap`` as a fraction override its defaults.

    The segment defaults to the model's ``T`` frames and may not be longer.
    Spectrogram models do not weight a segment's first ``frame_length -
    frame_step`` samples, which the inverse STFT attenuates, and pad a track
    with ``frame_length`` zeros at both ends; waveform models need neither.
    """
    rate = config["sample_rate"]
    sep_cfg = config["separation"]
    max_segment = segment_samples(config)
    if segment is None:
        segment = sep_cfg["segment"]
    if segment is None:
        length = max_segment
    else:
        length = int(round(float(segment) * rate))
        if length < config["frame_length"] or length > max_segment:
            raise TfsepError(
                f"segment must be between {config['frame_length'] / rate:.3f} and "
                f"{max_segment / rate:.2f} seconds for model {config['name']} "
                f"(T={config['T']} frames), got {segment}"
            )
    overlap = sep_cfg["overlap"] if overlap is None else float(overlap)
    spectral = separation_domain(config) == "spectrogram"
    edge = config["frame_length"] - config["frame_step"] if spectral else 0
    padding = config["frame_length"] if spectral else 0
    return make_plan(length, overlap, edge, padding)
