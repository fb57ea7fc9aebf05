"""STFT, inverse STFT and mask layers on ``tf.signal``: the one implementation
used by training, separation and export.

Layout: waveforms are ``(batch, samples, channels)``; spectrograms are
``(batch, frames, bins, channels)``; masks are ``(batch, stems, frames, bins,
channels)``.

The framing is the one in the graph Deezer shipped with its pretrained
checkpoints, so that those weights see exactly the input they were trained
on: the first frame starts at sample 0, the end is zero-padded to a whole
number of frames (``ceil(samples / frame_step)`` frames), the window is a
periodic Hann window, and the inverse uses the overlap-add dual window (for
Hann at 75% overlap that is Spleeter's ``hann * 2/3`` compensation).  The
first and last ``frame_length - frame_step`` samples of a segment are seen by
fewer frames; the Separator's overlapping segments keep every join away from
them, and only the very start and end of a track are affected, as in
Spleeter.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def hann_window(frame_length, dtype=tf.float32):
    return tf.signal.hann_window(frame_length, periodic=True, dtype=dtype)


def num_frames(samples: int, frame_length: int, frame_step: int) -> int:
    """Frames that ``STFT`` yields for a waveform of ``samples`` samples."""
    return -(-samples // frame_step)


@keras.saving.register_keras_serializable(package="tfsep")
class STFT(keras.layers.Layer):
    """Waveform ``(batch, samples, channels)`` -> complex STFT ``(batch, frames, bins, channels)``."""

    def __init__(self, frame_length=4096, frame_step=1024, **kwargs):
        super().__init__(**kwargs)
        self.frame_length = int(frame_length)
        self.frame_step = int(frame_step)

    def call(self, waveform):
        x = tf.transpose(waveform, [0, 2, 1])
        spec = tf.signal.stft(
            x,
            self.frame_length,
            self.frame_step,
            window_fn=hann_window,
            pad_end=True,
        )
        return tf.transpose(spec, [0, 2, 3, 1])

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length, "frame_step": self.frame_step}


@keras.saving.register_keras_serializable(package="tfsep")
class InverseSTFT(keras.layers.Layer):
    """Complex STFT ``(batch, frames, bins, channels)`` -> waveform ``(batch, length, channels)``.

    ``length`` is the waveform length given to ``STFT``: the output is cropped to it.
    """

    def __init__(self, frame_length=4096, frame_step=1024, **kwargs):
        super().__init__(**kwargs)
        self.frame_length = int(frame_length)
        self.frame_step = int(frame_step)

    def call(self, spec, length=None):
        x = tf.transpose(spec, [0, 3, 1, 2])
        window_fn = tf.signal.inverse_stft_window_fn(self.frame_step, forward_window_fn=hann_window)
        wave = tf.signal.inverse_stft(x, self.frame_length, self.frame_step, window_fn=window_fn)
        wave = tf.transpose(wave, [0, 2, 1])
        if length is None:
            return wave
        return wave[:, :length, :]

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length, "frame_step": self.frame_step}


@keras.saving.register_keras_serializable(package="tfsep")
class ExtendMask(keras.layers.Layer):
    """Masks over the first ``F`` bins -> masks over all ``n_bins`` bins.

    ``zeros`` silences the bins the model does not see (Spleeter's 2/4-stem
    default: stems have no content above ~11 kHz); ``average`` fills each frame
    with the mean of its mask over the seen bins.
    """

    def __init__(self, n_bins, mode="zeros", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("zeros", "average"):
            raise ValueError(f"mask_extension must be 'zeros' or 'average', got {mode!r}")
        self.n_bins = int(n_bins)
        self.mode = mode

    def call(self, masks):
        extra = self.n_bins - tf.shape(masks)[3]
        if self.mode == "average":
            row = tf.reduce_mean(masks, axis=3, keepdims=True)
        else:
            row = tf.zeros_like(masks[:, :, :, :1, :])
        return tf.concat([masks, tf.repeat(row, extra, axis=3)], axis=3)

    def get_config(self):
        return {**super().get_config(), "n_bins": self.n_bins, "mode": self.mode}


def magnitude(spec, F):
    """|STFT| cropped to the first ``F`` bins: the model's input."""
    return tf.abs(spec)[:, :, :F, :]


class SpectralSeparation:
    """Waveform segments -> stems through a mask model: STFT, masks, iSTFT.

    ``model`` maps magnitude ``(batch, T, F, channels)`` to masks
    ``(batch, stems, T, F, channels)``.  Segments longer than ``T`` frames are
    cut into ``T``-frame blocks (zero-padded at the end), exactly as
    Spleeter partitions its spectrogram.

    ``wiener_iterations`` > 0 refines the masked spectrograms with that many
    multichannel Wiener EM iterations (``tfsep.audio.wiener``) before the
    inverse STFT.
    """

    wiener_iterations = 0

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
        from ..models.unet import inference_function

        # The same masks as ``model(mag, training=False)`` up to float rounding, faster.
        self._model_fn = inference_function(model, config) or (lambda mag: model(mag, training=False))

    def masks(self, spec):
        """Complex STFT ``(B, frames, bins, C)`` -> masks ``(B, stems, frames, bins, C)``."""
        return self.extend(self._blocked_masks(magnitude(spec, self.F)))

    def _blocked_masks(self, mag):
        """Magnitude ``(B, frames, F, C)`` -> masks ``(B, stems, frames, F, C)``, in ``T``-frame blocks."""
        batch = tf.shape(mag)[0]
        frames = tf.shape(mag)[1]
        channels = tf.shape(mag)[3]
        blocks = -(-frames // self.T)
        mag = tf.pad(mag, [[0, 0], [0, blocks * self.T - frames], [0, 0], [0, 0]])
        mag = tf.reshape(mag, [batch * blocks, self.T, self.F, channels])
        masks = self._model_fn(mag)
        masks = tf.reshape(masks, [batch, blocks, self.n_stems, self.T, self.F, channels])
        masks = tf.transpose(masks, [0, 2, 1, 3, 4, 5])
        masks = tf.reshape(masks, [batch, self.n_stems, blocks * self.T, self.F, channels])
        return masks[:, :, :frames]

    def __call__(self, waveform):
        """Waveform ``(B, L, C)`` -> stems ``(B, stems, L, C)``."""
        if not self.wiener_iterations:
            return self._masked(waveform)
        from .wiener import wiener

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

    def _masked(self, waveform):
        """``__call__`` without Wiener filtering, computed channels-first.

        The same STFT, masks and inverse STFT as the ``STFT``/``ExtendMask``/
        ``InverseSTFT`` layers, up to float rounding, but faster on CPU:
        the complex spectrogram is never transposed (only the real magnitude
        and masks are), only the ``F`` bins the model sees are multiplied
        (``zeros`` extension: the rest is zero), and the overlap-add is a few
        shifted sums instead of ``tf.signal.overlap_and_add``'s general gather.
        """
        length = tf.shape(waveform)[1]
        spec = tf.signal.stft(
            tf.transpose(waveform, [0, 2, 1]),
            self.frame_length,
            self.frame_step,
            window_fn=hann_window,
            pad_end=True,
        )  # (B, C, frames, bins)
        mag = tf.transpose(tf.abs(spec[..., : self.F]), [0, 2, 3, 1])
        masks = tf.transpose(self._blocked_masks(mag), [0, 1, 4, 2, 3])  # (B, S, C, frames, F)
        if self.mask_extension == "zeros":
            stems = tf.cast(masks, spec.dtype) * spec[:, None, :, :, : self.F]
            stems = tf.pad(stems, [[0, 0], [0, 0], [0, 0], [0, 0], [0, self.n_bins - self.F]])
        else:
            extra = tf.repeat(tf.reduce_mean(masks, axis=4, keepdims=True), self.n_bins - self.F, axis=4)
            stems = tf.cast(tf.concat([masks, extra], axis=4), spec.dtype) * spec[:, None]
        frames = tf.signal.irfft(stems, [self.frame_length])
        window_fn = tf.signal.inverse_stft_window_fn(self.frame_step, forward_window_fn=hann_window)
        frames = frames * window_fn(self.frame_length, dtype=frames.dtype)
        wave = _overlap_add(frames, self.frame_step)[..., :length]  # (B, S, C, length)
        return tf.transpose(wave, [0, 1, 3, 2])


def _overlap_add(frames, frame_step):
    """``tf.signal.overlap_and_add`` for rank-5 frames whose length is a multiple of the step."""
    frame_length = frames.shape[-1]
    if frame_length is None or frame_length % frame_step:
        return tf.signal.overlap_and_add(frames, frame_step)
    overlap = frame_length // frame_step
    shape = tf.shape(frames)
    n = shape[-2]
    parts = tf.reshape(frames, tf.concat([shape[:-2], [n, overlap, frame_step]], axis=0))
    out = None
    for j in range(overlap):
        part = tf.pad(parts[..., j, :], [[0, 0], [0, 0], [0, 0], [j, overlap - 1 - j], [0, 0]])
        out = part if out is None else out + part
    return tf.reshape(out, tf.concat([shape[:-2], [(n + overlap - 1) * frame_step]], axis=0))


def _mask_exponent(model) -> float:
    """``p`` of a model whose output is a power ratio mask (``RatioMask``), else 1."""
    from ..models.layers import RatioMask

    last = model.layers[-1] if getattr(model, "layers", None) else None
    return float(last.exponent) if isinstance(last, RatioMask) else 1.0
