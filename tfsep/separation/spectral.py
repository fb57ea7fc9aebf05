"""Spectrogram models as separation functions: waveform segments -> STFT -> masks -> (Wiener) -> iSTFT -> stems.

The STFT layers, mask extension and blocking are :mod:`tfsep.audio.spectral`'s;
this module puts a mask model between them, as Open-Unmix keeps its
spectrogram model apart from the end-to-end separator.
"""

from __future__ import annotations

import tensorflow as tf

from ..audio.spectral import (
    STFT,
    ExtendMask,
    InverseSTFT,
    hann_window,
    magnitude,
    masks_in_blocks,
    overlap_add_frames,
)
from ..audio.wiener import fused_stereo_segment_em, wiener
from ..models import inference_function
from ..models.layers import RatioMask
from .presets import insert_residual, without_stem


class SpectralSeparation:
    """Waveform segments -> stems through a mask model: STFT, masks, iSTFT.

    ``model`` maps magnitude ``(batch, T, F, channels)`` to masks
    ``(batch, stems, T, F, channels)``.  Segments longer than ``T`` frames are
    cut into ``T``-frame blocks (zero-padded at the end), exactly as
    Spleeter partitions its spectrogram.

    ``wiener_iterations`` > 0 refines the masked spectrograms with that many
    multichannel Wiener EM iterations (:mod:`tfsep.audio.wiener`) before the
    inverse STFT: on the ``F`` bins the model sees, one covariance estimate
    per segment, for stereo models; the general form otherwise.

    ``residual`` (a stem index, or None): that stem is the input minus the
    other stems, and its own inverse STFT, which the residual would replace,
    is not computed (:func:`tfsep.separation.presets.with_residual` then
    leaves it as it is).
    """

    wiener_iterations = 0
    residual = None

    def __init__(self, model, config):
        self.model = model
        self.T = config["T"]
        self.F = config["F"]
        self.n_stems = len(config["stems"])
        self.frame_length = config["frame_length"]
        self.frame_step = config["frame_step"]
        self.n_bins = self.frame_length // 2 + 1
        self.stft = STFT(self.frame_length, self.frame_step)
        self.istft = InverseSTFT(self.frame_length, self.frame_step)
        self.extend = ExtendMask(self.n_bins, config["mask_extension"])
        self.mask_extension = config["mask_extension"]
        # A cascade's first stem (vocals) is Wiener-filtered against the rest as its own
        # two-stem model would be; the splitter's shares then divide the filtered rest.
        self.cascade_exponent = _cascade_exponent(config)
        # The same masks as ``model(mag, training=False)`` up to float rounding, faster.
        self._model_fn = inference_function(model, config) or (lambda mag: model(mag, training=False))

    def masks(self, spec):
        """Complex STFT ``(B, frames, bins, C)`` -> masks ``(B, stems, frames, bins, C)``."""
        return self.extend(self._blocked_masks(magnitude(spec, self.F)))

    def _blocked_masks(self, mag):
        """Magnitude ``(B, frames, F, C)`` -> masks ``(B, stems, frames, F, C)``, in ``T``-frame blocks."""
        return masks_in_blocks(self._model_fn, mag, self.T, self.n_stems)

    def __call__(self, waveform):
        """Waveform ``(B, L, C)`` -> stems ``(B, stems, L, C)``."""
        if self.wiener_iterations and waveform.shape[-1] != 2:
            return self._general_wiener(waveform)
        return self._separate(waveform)

    def _general_wiener(self, waveform):
        """Wiener filtering for any channel count, on the ``STFT``/``ExtendMask``/``InverseSTFT`` layers."""
        length = tf.shape(waveform)[1]
        spec = self.stft(waveform)
        masks = self.masks(spec)
        exponent = _mask_exponent(self.model)
        if self.mask_extension == "zeros":
            # Bins above F are silent in every stem: filter only the F bins the model sees.
            sub = wiener(spec[:, :, : self.F], masks[:, :, :, : self.F], self.wiener_iterations, mask_exponent=exponent)
            stems_spec = tf.pad(sub, [[0, 0], [0, 0], [0, 0], [0, self.n_bins - self.F], [0, 0]])
        else:
            stems_spec = wiener(spec, masks, self.wiener_iterations, mask_exponent=exponent)
        shape = tf.shape(stems_spec)
        flat = tf.reshape(stems_spec, [shape[0] * shape[1], shape[2], shape[3], shape[4]])
        wave = self.istft(flat, length=length)
        return tf.reshape(wave, [shape[0], shape[1], length, shape[4]])

    def _separate(self, waveform):
        """Masking (and, for stereo, Wiener filtering) computed channels-first.

        The same STFT, masks and inverse STFT as the ``STFT``/``ExtendMask``/
        ``InverseSTFT`` layers, up to float rounding, but faster on CPU:
        the complex spectrogram is never transposed (only the real magnitude
        and masks are), only the ``F`` bins the model sees are multiplied
        (``zeros`` extension: the rest is zero), and the overlap-add is a few
        shifted sums instead of ``tf.signal.overlap_and_add``'s general gather.
        Wiener EM refines the ``F`` bins the model sees
        (:func:`tfsep.audio.wiener.fused_stereo_segment_em`); above them, ``average``
        keeps the plain extended mask.
        """
        length = tf.shape(waveform)[1]
        spec = tf.signal.stft(
            tf.transpose(waveform, [0, 2, 1]),
            self.frame_length,
            self.frame_step,
            window_fn=hann_window,
            pad_end=True,
        )  # (B, C, frames, bins)
        seen = spec[..., : self.F]  # sliced once: the magnitude, the masking and Wiener all read it
        mag = tf.transpose(tf.abs(seen), [0, 2, 3, 1])
        masks = tf.transpose(self._blocked_masks(mag), [0, 1, 4, 2, 3])  # (B, S, C, frames, F)
        r = self.residual

        def synthesised(t):  # the stems whose waveforms come from their spectrograms (not the residual)
            return t if r is None else without_stem(t, r, 1)

        if self.wiener_iterations and self.cascade_exponent:
            low = synthesised(self._cascade_wiener(masks, seen))
        elif self.wiener_iterations:
            exponent = _mask_exponent(self.model)
            first = tf.pow(tf.maximum(masks, 0.0), 1.0 / exponent) if exponent != 1 else masks
            low = fused_stereo_segment_em(tf.cast(first, spec.dtype) * seen[:, None], seen, self.wiener_iterations)
            low = synthesised(low)
        else:
            low = tf.cast(synthesised(masks), spec.dtype) * seen[:, None]
        if self.mask_extension == "zeros":
            # irfft pads the bins above F with zeros itself (fft_length beyond the input's bins).
            stems = low
        else:  # ``average``: each frame's mean mask on every bin above F (extend_masks), broadcast
            row = tf.reduce_mean(synthesised(masks), axis=4, keepdims=True)
            stems = tf.concat([low, tf.cast(row, spec.dtype) * spec[:, None, :, :, self.F :]], axis=4)
        frames = tf.signal.irfft(stems, [self.frame_length])
        window_fn = tf.signal.inverse_stft_window_fn(self.frame_step, forward_window_fn=hann_window)
        frames = frames * window_fn(self.frame_length, dtype=frames.dtype)
        wave = overlap_add_frames(frames, self.frame_step)[..., :length]  # (B, S, C, length)
        wave = tf.transpose(wave, [0, 1, 3, 2])
        return wave if r is None else insert_residual(wave, waveform, r)

    def _cascade_wiener(self, masks, spec):
        """Wiener EM on (first stem, rest) as the first network's own model; the rest shared by the splitter.

        ``masks (B, S, C, frames, F)`` are the cascade's: ``m`` and ``(1 - m) s_j``
        with the splitter's softmax shares ``s_j``.  The first network's power
        ratio mask ``m`` seeds a two-source EM exactly as the two-stem model's
        own separation does; each other stem is ``s_j`` times the filtered rest.
        """
        first = tf.maximum(masks[:, 0], 0.0)
        rest = tf.maximum(1.0 - first, 0.0)
        p = 1.0 / self.cascade_exponent
        two = tf.stack([tf.pow(first, p), tf.pow(rest, p)], axis=1)
        two = fused_stereo_segment_em(tf.cast(two, spec.dtype) * spec[:, None], spec, self.wiener_iterations)
        # Where the first stem takes (nearly) everything, the rest is shared equally.
        eps = 1e-6
        shares = masks[:, 1:] + eps / (self.n_stems - 1)
        shares = shares / tf.reduce_sum(shares, axis=1, keepdims=True)
        return tf.concat([two[:, :1], tf.cast(shares, spec.dtype) * two[:, 1:]], axis=1)


def _cascade_exponent(config) -> float | None:
    """The first network's ratio-mask exponent of a cascade whose first model has a sigmoid head, else None."""
    model = config["model"]
    if model["type"] != "cascade":
        return None
    first = model["params"]["first"]
    if first["type"] != "unet" or first.get("params", {}).get("head", "sigmoid") != "sigmoid":
        return None
    return float(config["separation_exponent"])


def _mask_exponent(model) -> float:
    """``p`` of a model whose output is a power ratio mask (``RatioMask``), else 1."""
    last = model.layers[-1] if getattr(model, "layers", None) else None
    return float(last.exponent) if isinstance(last, RatioMask) else 1.0
