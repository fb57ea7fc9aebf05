"""STFT and inverse STFT from TFLite builtin ops only.

``tf.signal.stft``/``inverse_stft`` lower to ops TFLite has no builtin for
(``IRFFT``, complex multiplies, ``tf.signal.frame``'s gathers).  These
functions give the same framing as :mod:`tfsep.audio.spectral` (frames start
at sample 0, zero padding at the end, periodic Hann window, dual window on
the inverse) with reshapes, strided slices, pads and the builtin ``RFFT2D``:

- framing: with ``frame_length = r * frame_step`` the padded signal is cut
  into hops of ``frame_step`` samples and frame ``k`` is hops ``k .. k+r-1``;
- the inverse FFT is two forward real FFTs: for a Hermitian spectrum
  ``X = a + ib`` (``a`` even, ``b`` odd once extended to ``N`` bins),
  with ``c = -b`` extended oddly, ``N x[n] = Re RFFT(a)[n] - Im RFFT(c)[n]``
  for ``n <= N/2`` and ``N x[N-n] = Re RFFT(a)[n] + Im RFFT(c)[n]``;
- overlap-add: each frame's ``r`` hops are padded into place and summed.

Spectra travel as separate real and imaginary float tensors; only the
output of ``RFFT2D`` is complex, read back with the builtin ``REAL``/``IMAG``.
Shapes: signals ``(rows, samples)``, spectra ``(rows, frames, bins)``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import ModelError


def hann_periodic(frame_length: int) -> np.ndarray:
    n = np.arange(frame_length, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_length)).astype(np.float32)


def dual_window(frame_length: int, frame_step: int) -> np.ndarray:
    """``tf.signal.inverse_stft_window_fn``'s window for the periodic Hann window."""
    w = hann_periodic(frame_length).astype(np.float64)
    denom = np.sum(np.square(w).reshape(-1, frame_step), axis=0)
    return (w / np.tile(denom, frame_length // frame_step)).astype(np.float32)


def check_framing(frame_length: int, frame_step: int) -> int:
    """The overlap ratio ``frame_length / frame_step``; errors when builtin ops cannot frame it."""
    if frame_length % frame_step:
        raise ModelError(
            f"builtin-op STFT needs frame_length ({frame_length}) to be a multiple of frame_step ({frame_step})"
        )
    if frame_length & (frame_length - 1):
        raise ModelError(f"builtin-op STFT (TFLite RFFT2D) needs a power-of-two frame_length, got {frame_length}")
    return frame_length // frame_step


def _rfft(x, n):
    # Builtin RFFT2D wants rank >= 2 input; tf.signal.rfft converts to it.
    spec = tf.signal.rfft(x, fft_length=[n])
    return tf.math.real(spec), tf.math.imag(spec)


def stft(x, frame_length: int, frame_step: int, frames: int):
    """Signals ``(rows, samples)`` -> ``(re, im)`` each ``(rows, frames, frame_length//2+1)``.

    ``frames`` is ``ceil(samples / frame_step)`` (static: TFLite shapes are fixed).
    """
    r = check_framing(frame_length, frame_step)
    samples = x.shape[-1]
    padded = (frames + r - 1) * frame_step
    x = tf.pad(x, [[0, 0], [0, padded - samples]])
    hops = tf.reshape(x, [-1, frames + r - 1, frame_step])
    framed = tf.concat([hops[:, i : i + frames, :] for i in range(r)], axis=2)
    framed = framed * tf.constant(hann_periodic(frame_length))
    return _rfft(framed, frame_length)


def istft(re, im, frame_length: int, frame_step: int, length: int):
    """``(re, im)`` each ``(rows, frames, frame_length//2+1)`` -> signals ``(rows, length)``."""
    r = check_framing(frame_length, frame_step)
    n = frame_length
    k = n // 2 + 1
    frames = re.shape[1]
    even = tf.concat([re, tf.reverse(re[:, :, 1 : k - 1], axis=[2])], axis=2)
    odd = tf.concat([-im, tf.reverse(im[:, :, 1 : k - 1], axis=[2])], axis=2)
    # One RFFT2D call for both halves of the trick.
    fre, fim = _rfft(tf.concat([even, odd], axis=0), n)
    rows = tf.shape(re)[0]
    a, b = fre[:rows], fim[rows:]
    head = a - b  # n = 0 .. N/2
    tail = tf.reverse((a + b)[:, :, 1 : k - 1], axis=[2])  # n = N/2+1 .. N-1
    frames_t = tf.concat([head, tail], axis=2) * tf.constant(dual_window(n, frame_step) / n)
    chunks = tf.reshape(frames_t, [-1, frames, r, frame_step])
    out = 0
    for i in range(r):
        out = out + tf.pad(chunks[:, :, i, :], [[0, 0], [i, r - 1 - i], [0, 0]])
    out = tf.reshape(out, [-1, (frames + r - 1) * frame_step])
    return out[:, :length]
