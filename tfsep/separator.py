"""Separator: any-length audio -> stems, in overlapping segments.

The input is cut into segments of ``segment`` samples (by default the
model's ``T`` frames, ~11.9 s for Spleeter's models) that overlap by
``overlap`` of their length.  Each segment is separated on its own; the
results are blended with linear crossfades and normalised by the summed
weights, so every output sample is a convex combination of segment outputs
(no seam, exact length, no gain change).  Segments are processed as they
arrive from a block iterator, so memory stays bounded whatever the length of
the input.
"""

from __future__ import annotations

import warnings
from typing import Iterable, Iterator

import numpy as np

from .config import segment_samples
from .errors import AudioError, ModelError, TfsepError


def _crossfade_window(length: int, overlap: int, edge: int = 0) -> np.ndarray:
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


def select_stems(all_stems, stems, model_name) -> list:
    """The requested subset of ``all_stems`` in model order (all when ``stems`` is empty)."""
    if not stems:
        return list(all_stems)
    unknown = [s for s in stems if s not in all_stems]
    if unknown:
        raise TfsepError(f"model {model_name} has no stem {', '.join(unknown)} (its stems: {', '.join(all_stems)})")
    return [s for s in all_stems if s in stems]


def overlap_add_stream(blocks, run, *, segment, hop, window, n_stems, channels, batch_size=1, on_segment=None):
    """Stream blocks ``(n, C)`` through ``run`` in overlapping segments -> stem blocks ``(stems, m, C)``.

    Segments start every ``hop`` samples and hold up to ``segment`` samples;
    ``run(list of segments)`` returns, per segment, stems ``(stems, >= len(seg), C)``.
    Outputs are blended with ``window`` and normalised by the summed weights;
    the concatenated output has exactly as many samples as the input.  The one
    loop behind ``Separator`` and the TF Serving client.
    """
    L, H, S = segment, hop, n_stems
    pending = np.zeros((0, channels), dtype=np.float32)  # input from absolute position `start`
    acc = np.zeros((S, 0, channels), dtype=np.float32)  # weighted output sum from `out_pos`
    wsum = np.zeros(0, dtype=np.float32)
    start = out_pos = 0
    exhausted = False
    it = iter(blocks)
    while True:
        # Read enough for a full batch of segments plus one sample: that
        # sample tells whether the batch's last segment ends the input.
        need = (batch_size - 1) * H + L + 1
        parts, have = [pending], len(pending)
        while have < need and not exhausted:
            block = next(it, None)
            if block is None:
                exhausted = True
                break
            block = np.asarray(block, dtype=np.float32)
            if block.ndim != 2 or block.shape[1] != channels:
                raise AudioError(f"expected blocks of shape (n, {channels}), got {block.shape}")
            parts.append(block)
            have += len(block)
        if len(parts) > 1:
            pending = np.concatenate(parts)
        if len(pending) == 0:
            return  # empty input; a non-final batch always leaves input pending
        segs, offsets, off, final = [], [], 0, False
        while len(segs) < batch_size:
            segs.append(pending[off : off + L])
            offsets.append(off)
            if off + L >= len(pending):  # only when exhausted: see `need`
                final = True
                break
            off += H
        result = run(segs)
        end = start + offsets[-1] + len(segs[-1])
        grow = end - out_pos - acc.shape[1]
        if grow > 0:
            acc = np.concatenate([acc, np.zeros((S, grow, channels), np.float32)], axis=1)
            wsum = np.concatenate([wsum, np.zeros(grow, np.float32)])
        for seg, o, stems in zip(segs, offsets, result):
            n, a = len(seg), start + o - out_pos
            w = window[:n]
            acc[:, a : a + n] += stems[:, :n] * w[None, :, None]
            wsum[a : a + n] += w
        # Everything before the next segment's start is final.
        done = end if final else start + off
        emit = done - out_pos
        yield acc[:, :emit] / wsum[None, :emit, None]
        acc, wsum, out_pos = acc[:, emit:], wsum[emit:], done
        if on_segment is not None:
            on_segment(out_pos)
        if final:
            return
        pending, start = pending[off:], start + off


class Separator:
    """Separate waveforms or files into stems with a tfsep model.

    Args:
        model: a model name (``2stems``, ``4stems``, ...), a path to a tfsep
            model directory, a ``TfsepModel``, or None for the default.
        segment: segment length in seconds (None: the model's ``T`` frames).
        overlap: overlap of consecutive segments as a fraction of a segment.
        batch_size: segments per model call.
        stems: keep only these stems (names from the model's config).
        wiener_iterations: multichannel Wiener EM iterations applied to the
            masked spectrograms of each segment (0: plain masking).
    """

    def __init__(self, model=None, *, segment=None, overlap=None, batch_size=None, stems=None, progress=None, wiener_iterations=0):
        from .models import TfsepModel

        if not isinstance(model, TfsepModel):
            from .pretrained import load_model

            model = load_model(model)
        self.model = model
        cfg = model.config
        self.config = cfg
        self.sample_rate = cfg["sample_rate"]
        self.channels = cfg["n_channels"]
        sep_cfg = cfg["separation"]
        max_segment = segment_samples(cfg)
        if segment is None:
            segment = sep_cfg["segment"]
        if segment is None:
            self.segment = max_segment
        else:
            self.segment = int(round(float(segment) * self.sample_rate))
            if self.segment < cfg["frame_length"] or self.segment > max_segment:
                raise TfsepError(
                    f"segment must be between {cfg['frame_length'] / self.sample_rate:.3f} and "
                    f"{max_segment / self.sample_rate:.2f} seconds for model {cfg['name']} "
                    f"(T={cfg['T']} frames), got {segment}"
                )
        overlap = sep_cfg["overlap"] if overlap is None else float(overlap)
        if not 0 <= overlap <= 0.5:
            raise TfsepError(f"overlap must be a fraction between 0 and 0.5, got {overlap}")
        self.overlap = int(round(overlap * self.segment))
        self.hop = self.segment - self.overlap
        self.batch_size = int(batch_size or sep_cfg["batch_size"])
        if self.batch_size < 1:
            raise TfsepError(f"batch_size must be >= 1, got {self.batch_size}")
        all_stems = list(cfg["stems"])
        self.stems = select_stems(all_stems, stems, cfg["name"])
        self._stem_index = [all_stems.index(s) for s in self.stems]
        from .audio.waveform import separation_domain

        self.domain = separation_domain(cfg)
        # A segment's first frame_length - frame_step samples come out of the
        # inverse STFT attenuated; waveform models have no such edge.
        edge = cfg["frame_length"] - cfg["frame_step"] if self.domain == "spectrogram" else 0
        self._window = _crossfade_window(self.segment, self.overlap, edge)
        self.wiener_iterations = int(wiener_iterations or 0)
        if self.wiener_iterations < 0:
            raise TfsepError(f"wiener_iterations must be >= 0, got {wiener_iterations}")
        if self.wiener_iterations and self.domain == "waveform":
            raise TfsepError(f"--wiener refines spectrogram masks; model {cfg['name']} separates waveforms directly")
        self._fn = None

    # -- model call ---------------------------------------------------------------

    def _compiled(self):
        if self._fn is None:
            import tensorflow as tf

            if self.domain == "waveform":
                from .audio.waveform import WaveformSeparation

                spectral = WaveformSeparation(self.model.keras_model, self.config)
            else:
                from .audio.spectral import SpectralSeparation

                spectral = SpectralSeparation(self.model.keras_model, self.config)
                spectral.wiener_iterations = self.wiener_iterations
            index = tf.constant(self._stem_index)
            # All stems in model order (the usual case): skip the gather's copy.
            every_stem = self._stem_index == list(range(len(self.config["stems"])))

            @tf.function(input_signature=[tf.TensorSpec([None, self.segment, self.channels], tf.float32)])
            def fn(batch):
                stems = spectral(batch)
                return stems if every_stem else tf.gather(stems, index, axis=1)

            self._fn = fn
        return self._fn

    def _run(self, segments: list[np.ndarray]) -> np.ndarray:
        """Segments (each <= segment samples) -> stems ``(n, stems, segment, C)``."""
        batch = np.zeros((len(segments), self.segment, self.channels), dtype=np.float32)
        for i, seg in enumerate(segments):
            batch[i, : len(seg)] = seg
        out = self._compiled()(batch).numpy()
        if not np.all(np.isfinite(out)):
            raise ModelError(f"model {self.config['name']} produced non-finite output")
        return out

    # -- streaming core ---------------------------------------------------------------

    def iter_separate(self, blocks: Iterable[np.ndarray], on_segment=None) -> Iterator[np.ndarray]:
        """Blocks ``(n, C)`` at the model rate -> stem blocks ``(stems, m, C)`` in order.

        The concatenated output has exactly as many samples as the input.
        ``on_segment(samples_done)`` is called after each batch of segments.
        """
        return overlap_add_stream(
            blocks,
            self._run,
            segment=self.segment,
            hop=self.hop,
            window=self._window,
            n_stems=len(self.stems),
            channels=self.channels,
            batch_size=self.batch_size,
            on_segment=on_segment,
        )

    # -- in-memory API ------------------------------------------------------------------

    def separate(self, waveform, sample_rate: int) -> dict[str, np.ndarray]:
        """Waveform ``(samples, channels)`` or ``(samples,)`` -> ``{stem: waveform}``, same shape and rate."""
        from .audio.io import check_waveform, resample

        wave, squeeze = check_waveform(waveform)
        n_in, c_in = wave.shape
        if sample_rate is None or int(sample_rate) <= 0:
            raise AudioError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        sample_rate = int(sample_rate)
        x = _to_channels(wave, self.channels)
        if sample_rate != self.sample_rate:
            x = resample(x, sample_rate, self.sample_rate)
        outs = list(self.iter_separate(_chunks(x, 1 << 18)))
        stems = np.concatenate(outs, axis=1)
        result = {}
        for i, name in enumerate(self.stems):
            y = stems[i]
            if sample_rate != self.sample_rate:
                y = _fit_length(resample(y, self.sample_rate, sample_rate), n_in)
            y = _from_channels(y, c_in)
            result[name] = y[:, 0] if squeeze else y
        return result

    def separate_file(self, path, output_dir, **options):
        """Separate one file and write its stems; see ``tfsep.stemfiles.separate_file`` for options."""
        from .stemfiles import separate_file

        return separate_file(self, path, output_dir, **options)


def _chunks(x: np.ndarray, size: int):
    for i in range(0, len(x), size):
        yield x[i : i + size]


def _to_channels(x: np.ndarray, channels: int) -> np.ndarray:
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1:
        return np.repeat(x, channels, axis=1)
    if channels == 1:
        return x.mean(axis=1, keepdims=True)
    if c > 2:
        warnings.warn(f"downmixing {c} channels to stereo", UserWarning, stacklevel=3)
        return np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1)
    raise AudioError(f"cannot map {c} channels to {channels}")


def _from_channels(y: np.ndarray, channels: int) -> np.ndarray:
    c = y.shape[1]
    if channels == c:
        return y
    if channels == 1:
        return y.mean(axis=1, keepdims=True)
    # More channels in than the model has: each stem comes back as stereo.
    return y


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros((n - len(x), x.shape[1]), x.dtype)])
