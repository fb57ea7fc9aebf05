"""Training losses, chosen by name in ``training.loss``.

Every loss returns a per-example value ``(batch,)``: the per-stem terms
weighted by ``training.stem_weights`` and summed over stems (Spleeter sums
its per-instrument losses).  The loop averages over the global batch with
``tf.nn.compute_average_loss``.

- ``l1_masked_magnitude``: mean |mask * |X| - |Y_s||   (Spleeter)
- ``l1_mask`` / ``mse_mask``: mask vs the ideal ratio mask |Y_s| / sum_j |Y_j|
- ``l1_mrstft``: time-domain L1 * time_weight + multi-resolution STFT loss *
  stft_weight (spectral convergence + log-magnitude L1 at each FFT size, hop
  n/4), on waveform estimates
- ``neg_sdr``: negative signal-to-distortion ratio of waveform estimates

Magnitude and mask losses need a spectrogram model; the waveform losses work
for both kinds (a spectrogram model's estimate goes through the iSTFT).
"""

from __future__ import annotations

import tensorflow as tf

EPS = 1e-8
MASK_LOSSES = ("l1_masked_magnitude", "l1_mask", "mse_mask")
WAVEFORM_LOSSES = ("l1_mrstft", "neg_sdr")


def _weighted(per_stem, weights):
    """``(B, S)`` -> ``(B,)``."""
    return tf.reduce_sum(per_stem * weights[None, :], axis=1)


def l1_masked_magnitude(masks, mix_mag, stem_mag, weights):
    est = masks * mix_mag[:, None]
    return _weighted(tf.reduce_mean(tf.abs(est - stem_mag), axis=[2, 3, 4]), weights)


def ideal_ratio_mask(stem_mag):
    return stem_mag / (tf.reduce_sum(stem_mag, axis=1, keepdims=True) + EPS)


def l1_mask(masks, mix_mag, stem_mag, weights):
    return _weighted(tf.reduce_mean(tf.abs(masks - ideal_ratio_mask(stem_mag)), axis=[2, 3, 4]), weights)


def mse_mask(masks, mix_mag, stem_mag, weights):
    return _weighted(tf.reduce_mean(tf.square(masks - ideal_ratio_mask(stem_mag)), axis=[2, 3, 4]), weights)


def _stft_mag(x, n_fft):
    """``(N, L)`` -> ``(N, frames, bins)`` magnitude, hop n_fft/4."""
    spec = tf.signal.stft(x, n_fft, n_fft // 4, window_fn=tf.signal.hann_window, pad_end=True)
    return tf.abs(spec)


def multi_resolution_stft(est, ref, resolutions):
    """Per-(example, stem) MR-STFT loss of waveforms ``(B, S, L, C)`` -> ``(B, S)``."""
    shape = tf.shape(est)
    B, S = shape[0], shape[1]
    e = tf.reshape(tf.transpose(est, [0, 1, 3, 2]), [B * S * shape[3], shape[2]])
    r = tf.reshape(tf.transpose(ref, [0, 1, 3, 2]), [B * S * shape[3], shape[2]])
    total = 0.0
    for n_fft in resolutions:
        E = _stft_mag(e, n_fft)
        R = _stft_mag(r, n_fft)
        sc = tf.norm(R - E, axis=[1, 2]) / (tf.norm(R, axis=[1, 2]) + EPS)
        logmag = tf.reduce_mean(tf.abs(tf.math.log(R + 1e-5) - tf.math.log(E + 1e-5)), axis=[1, 2])
        total += sc + logmag
    total = total / len(resolutions)
    return tf.reduce_mean(tf.reshape(total, [B, S, -1]), axis=2)


def l1_mrstft(est, ref, weights, time_weight=0.85, stft_weight=0.15, resolutions=(512, 1024, 2048)):
    l1 = tf.reduce_mean(tf.abs(est - ref), axis=[2, 3])
    return _weighted(time_weight * l1 + stft_weight * multi_resolution_stft(est, ref, resolutions), weights)


def neg_sdr(est, ref, weights):
    num = tf.reduce_sum(tf.square(ref), axis=[2, 3])
    den = tf.reduce_sum(tf.square(ref - est), axis=[2, 3])
    sdr = 10.0 * (tf.math.log(num + EPS) - tf.math.log(den + EPS)) / tf.math.log(10.0)
    return _weighted(-sdr, weights)


def get(name: str):
    """The loss function named ``name`` and whether it works on masks (else on waveforms)."""
    table = {
        "l1_masked_magnitude": l1_masked_magnitude,
        "l1_mask": l1_mask,
        "mse_mask": mse_mask,
        "l1_mrstft": l1_mrstft,
        "neg_sdr": neg_sdr,
    }
    return table[name], name in MASK_LOSSES
