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
fewer frames: the Separator's overlapping segments keep every join away from
them, and its plan pads a track with ``frame_length`` zeros at both ends so
that its first and last samples are not faded either (Spleeter >= 2 pads the
start the same way; its stored 1.x graph does not).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ..config import MASK_EXTENSIONS


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
        if mode not in MASK_EXTENSIONS:
            raise ValueError(f"mask_extension must be 'zeros' or 'average', got {mode!r}")
        self.n_bins = int(n_bins)
        self.mode = mode

    def call(self, masks):
        return extend_masks(masks, self.n_bins, self.mode, axis=3)

    def get_config(self):
        return {**super().get_config(), "n_bins": self.n_bins, "mode": self.mode}


def extend_masks(masks, n_bins: int, mode: str, axis: int):
    """Masks over the first ``F`` bins (along ``axis``) -> masks over ``n_bins`` bins.

    ``zeros`` pads (no zero constant in an exported graph); ``average``
    repeats each frame's mean mask over the seen bins.  Used by the
    ``ExtendMask`` layer, the separation graph and the TFLite full graph.
    """
    rank = masks.shape.rank
    axis = axis % rank
    F = masks.shape[axis]
    if F is not None and F >= n_bins:
        return masks
    extra = n_bins - (F if F is not None else tf.shape(masks)[axis])
    if mode == "average":
        row = tf.reduce_mean(masks, axis=axis, keepdims=True)
        reps = [1] * axis + [extra] + [1] * (rank - axis - 1)
        return tf.concat([masks, tf.tile(row, reps)], axis=axis)
    if mode == "zeros":
        return tf.pad(masks, [[0, 0]] * axis + [[0, extra]] + [[0, 0]] * (rank - axis - 1))
    raise ValueError(f"mask_extension must be one of {', '.join(MASK_EXTENSIONS)}, got {mode!r}")


def masks_in_blocks(mask_fn, magnitude, T: int, n_stems: int):
    """Magnitude ``(B, frames, F, C)`` -> masks ``(B, stems, frames, F, C)`` through ``mask_fn`` in ``T``-frame blocks.

    ``mask_fn`` maps ``(blocks, T, F, C)`` to ``(blocks, stems, T, F, C)``; the
    frames are zero-padded at the end to whole blocks, exactly as Spleeter
    partitions its spectrogram, and the masks cropped back.
    """
    shape = tf.shape(magnitude)
    batch, frames = shape[0], shape[1]
    # Static where known, so that the masks keep a static bin and channel count.
    F = magnitude.shape[2] if magnitude.shape[2] is not None else shape[2]
    channels = magnitude.shape[3] if magnitude.shape[3] is not None else shape[3]
    blocks = tf.maximum(1, -(-frames // T))
    mag = tf.pad(magnitude, [[0, 0], [0, blocks * T - frames], [0, 0], [0, 0]])
    mag = tf.reshape(mag, [batch * blocks, T, F, channels])
    masks = mask_fn(mag)
    masks = tf.reshape(masks, [batch, blocks, n_stems, T, F, channels])
    masks = tf.transpose(masks, [0, 2, 1, 3, 4, 5])
    masks = tf.reshape(masks, [batch, n_stems, blocks * T, F, channels])
    return masks[:, :, :frames]


def overlap_add_frames(frames, frame_step):
    """``tf.signal.overlap_and_add`` for rank-5 frames whose length is a multiple of the step, as shifted sums."""
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


def magnitude(spec, F):
    """|STFT| cropped to the first ``F`` bins: the model's input."""
    return tf.abs(spec)[:, :, :F, :]
