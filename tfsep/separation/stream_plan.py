"""Where a stream's windows sit, and which of their samples it keeps: the geometry behind a fixed latency.

A stream runs the model on windows of ``window`` samples that start every
``hop`` samples at fixed positions of the input's timeline (``origin + k *
hop``; input before sample 0 is silence), so that how the input is cut
into blocks never changes what the model sees.  Each window's stems are
weighted by ``weights`` (zero outside ``support``) and blended by weighted
overlap-add, like the offline :mod:`.overlap_add`.

- **live** (latency shorter than an offline segment): a window is run as
  soon as its last sample has arrived, and only a region that ends
  ``latency - hop - crossfade`` samples before its right edge is kept.  So
  every kept sample was computed with between ``latency - hop`` and
  ``latency`` samples of the future in view, and the past fills the rest of
  the window.  Consecutive regions overlap by ``crossfade`` samples with
  linear ramps.
- **offline** (latency of at least an offline segment): the windows,
  weights and padding of the offline plan (:mod:`.plan`), so the stream's
  stems equal :meth:`Separator.separate`'s up to float rounding.

Sample ``s`` of the stems is final once the input has reached ``s +
latency``: a stream that returns as many samples as it is given, delayed by
``latency``, never waits for a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TfsepError

#: The shortest latency a stream takes, in seconds: below it, a window per few milliseconds.
MIN_LATENCY = 0.05
#: Default live window, in seconds of the model's rate, before rounding to whole frame blocks.
DEFAULT_WINDOW = 2.9


@dataclass(frozen=True)
class StreamPlan:
    """Windows of ``window`` samples at ``origin + k * hop``; ``weights[support[0]:support[1]]`` kept of each."""

    window: int
    hop: int
    weights: np.ndarray
    support: tuple[int, int]
    origin: int
    latency: int  # samples (model rate) from an input sample to its stems
    mode: str  # "live" or "offline"
    padding: int = 0  # offline: zeros after the input, as the offline plan pads

    @property
    def lookahead(self) -> tuple[int, int]:
        """Samples of future a kept sample of weight 1 had in view: (least, most)."""
        a, b = self.support
        if self.mode == "offline":
            return (0, self.window)
        return (self.window - a - self.hop, self.window - a)

    def windows_to_run(self, total: int) -> int:
        """How many windows a stream of ``total`` input samples runs in all (from window 0)."""
        if total <= 0:
            return 0
        if self.mode == "offline":
            # As the offline loop: up to the first window that reaches the padded end.
            end = total + self.padding
            return max(1, -(-(end - self.origin - self.window) // self.hop) + 1)
        # Every window whose kept region starts before the end.
        return -(-(total - self.origin - self.support[0]) // self.hop)


def live_plan(window: int, latency: int, *, hop: int, crossfade: int, edge: int = 0) -> StreamPlan:
    """A live plan: windows of ``window`` samples, ``hop`` apart, each kept from ``window - latency`` on.

    ``edge`` leading samples of a window are never kept (an inverse STFT's
    first ``frame_length - frame_step`` samples are attenuated).
    """
    if hop < 1 or crossfade < 0 or hop + crossfade > latency:
        raise TfsepError(f"a stream's hop ({hop}) and crossfade ({crossfade}) must fit in its latency ({latency})")
    a = window - latency
    if a < edge:
        raise TfsepError(f"a {latency}-sample latency needs windows of at least {latency + edge} samples, got {window}")
    b = a + hop + crossfade
    weights = np.zeros(window, np.float32)
    weights[a:b] = 1.0
    if crossfade:
        ramp = (np.arange(crossfade, dtype=np.float32) + 0.5) / crossfade
        weights[a : a + crossfade] = ramp
        weights[b - crossfade : b] = ramp[::-1]
    # Window 0's region starts `crossfade` samples before the input: it alone covers sample 0 on.
    return StreamPlan(window, hop, weights, (a, b), -(a + crossfade), latency, "live")


def offline_stream_plan(segment_plan, latency: int) -> StreamPlan:
    """The offline plan's windows as a stream (``latency`` >= its segment)."""
    p = segment_plan
    if latency < p.segment:
        raise TfsepError(f"an offline-equal stream needs a latency of at least {p.segment} samples, got {latency}")
    weights = np.asarray(p.window, np.float32)
    return StreamPlan(p.segment, p.hop, weights, (0, p.segment), -p.padding, latency, "offline", p.padding)


def stream_plan(config: dict, segment_plan, latency: int, *, window=None, hop=None) -> StreamPlan:
    """The plan of a stream with ``latency`` samples (model rate) for model ``config``.

    Args:
        segment_plan: the offline :class:`~tfsep.separation.plan.SegmentPlan`
            (used as it is when ``latency`` covers a whole segment).
        window: live window in samples (None: about :data:`DEFAULT_WINDOW`
            seconds, longer for long latencies), rounded up to whole frame blocks.
        hop: samples between live windows (None: half the latency, in whole
            STFT frames; smaller hops mean more model calls per second).
    """
    rate = config["sample_rate"]
    if latency < int(MIN_LATENCY * rate):
        raise TfsepError(f"latency must be at least {MIN_LATENCY} s, got {latency / rate:.3f} s")
    if window is None and hop is None and latency >= segment_plan.segment:
        return offline_stream_plan(segment_plan, latency)
    from .waveform import separation_domain

    spectral = separation_domain(config) == "spectrogram"
    step = config["frame_step"] if spectral else 1
    edge = segment_plan.edge
    if hop is None:
        hop = max(step, (latency // 2) // step * step)
    hop = int(hop)
    if hop > latency - step:
        hop = max(1, latency - step) if not spectral else max(step, (latency - step) // step * step)
    crossfade = min(hop, max(step, hop // 4), latency - hop)
    if window is None:
        window = max(int(DEFAULT_WINDOW * rate), 2 * latency + edge)
    window = max(int(window), latency + edge)
    window = min(round_window(config, window), segment_plan.segment)
    if window < latency + edge:  # the latency is (nearly) a whole segment: the offline windows serve it
        return offline_stream_plan(segment_plan, max(latency, segment_plan.segment))
    return live_plan(window, latency, hop=hop, crossfade=crossfade, edge=edge)


def round_window(config: dict, samples: int) -> int:
    """``samples`` rounded up to a window the model can run: whole blocks of the frames its strides divide."""
    from .waveform import separation_domain

    if separation_domain(config) == "waveform":
        return int(samples)
    step = config["frame_step"]
    block = frame_block(config)
    frames = -(-int(samples) // step)
    return -(-frames // block) * block * step


def frame_block(config: dict) -> int:
    """The fewest frames a spectrogram model's window may grow by (a U-Net's 2**depth), from its own check."""
    from ..config import validate
    from ..errors import ConfigError

    block = 1
    while block < config["T"]:
        try:
            validate(dict(config, T=block))
            return block
        except ConfigError:
            block *= 2
    return config["T"]
