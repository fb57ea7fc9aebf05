"""How a model family trains: waveforms in, loss out; and how it separates for validation.

- ``SpectrogramTask`` (U-Net and other mask models): STFT of the mixture and
  stems in the train step (on the accelerator), magnitude of the first ``F``
  bins in, masks ``(B, S, T, F, C)`` out; mask losses on magnitudes, waveform
  losses through the iSTFT of the masked mixture.
- ``WaveformTask`` (Wave-U-Net, Demucs-style): ``(B, L, C)`` in, ``(B, S, L,
  C)`` out; waveform losses only.

The STFT, its inverse and the losses run in float32 under a mixed-precision
policy; the model's output is cast to float32 before any loss.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..audio.spectral import STFT, ExtendMask, InverseSTFT, magnitude
from ..config.budget import training_frames
from ..errors import ConfigError
from ..separation.spectral import SpectralSeparation
from . import losses
from .precision import global_policy


def _frame_multiple(config) -> int:
    """Frames an excerpt must be a multiple of: 2**depth of the deepest U-Net (a cascade's nested ones too)."""
    params = config["model"].get("params", {})
    filters = params.get("conv_n_filters")
    own = 2 ** len(filters) if filters else 1
    nested = [_frame_multiple({"model": params[k]}) for k in ("first", "splitter") if isinstance(params.get(k), dict)]
    return max([own, *nested])


class SpectrogramTask:
    def __init__(self, config):
        self.config = config
        tr = config["training"]
        self.F = config["F"]
        self.n_bins = config["frame_length"] // 2 + 1
        step = config["frame_step"]
        frames = training_frames(config)
        if tr["excerpt_seconds"] is not None:
            mult = _frame_multiple(config)
            frames -= frames % mult
            if frames < mult:
                raise ConfigError(
                    f"training.excerpt_seconds ({tr['excerpt_seconds']}) is shorter than {mult} STFT frames"
                )
        self.frames = frames
        # Live training: the model's window is the excerpt's first `frames` frames, scored on its last
        # `edge` frames; the targets are computed on `future` frames more (whole U-Net blocks).
        self.edge = (
            None if tr["live_edge"] is None else max(1, int(round(tr["live_edge"] * config["sample_rate"] / step)))
        )
        mult = _frame_multiple(config)
        future = int(round(tr["live_future"] * config["sample_rate"] / step))
        self.future = -(-future // mult) * mult
        # pad_end framing gives ceil(L / step) frames: L = frames * step gives exactly `frames`.
        self.window_length = frames * step
        self.excerpt_length = (frames + self.future) * step
        # float32 under any global policy: tf.signal's FFTs take no float16, and loud magnitudes overflow it.
        self.stft = STFT(config["frame_length"], step, dtype="float32")
        self.istft = InverseSTFT(config["frame_length"], step, dtype="float32")
        self.extend = ExtendMask(self.n_bins, config["mask_extension"], dtype="float32")
        self.loss_fn, self.on_masks = losses.get(tr["loss"])
        self.loss_params = dict(tr["loss_params"])
        self.teacher, self.distill_weight = _teacher(config), float(tr["distill_weight"])

    def _stem_spec(self, stems):
        shape = tf.shape(stems)
        flat = tf.reshape(stems, [shape[0] * shape[1], shape[2], shape[3]])
        spec = self.stft(flat)
        s2 = tf.shape(spec)
        return tf.reshape(spec, [shape[0], shape[1], s2[1], s2[2], s2[3]])

    def loss(self, model, mixture, stems, weights, training=True):
        """Per-example loss ``(B,)`` for waveforms ``mixture (B, L, C)``, ``stems (B, S, L, C)``."""
        spec = self.stft(mixture)
        mag = magnitude(spec, self.F)
        if self.edge is not None:
            return self._live_loss(model, mixture, mag, stems, weights, training)
        masks = tf.cast(model(mag, training=training), tf.float32)
        if self.on_masks:
            stem_mag = self._targets(mag, stems)
            return self.loss_fn(masks, mag, stem_mag, weights, **self.loss_params)
        est = self.waveforms(masks, spec, tf.shape(mixture)[1])
        return self.loss_fn(est, stems, weights, **self.loss_params)

    def _live_loss(self, model, mixture, full_mag, stems, weights, training):
        """The masks of the window's last ``edge`` frames against targets that heard ``future`` frames more.

        The model's STFT is the window's own (zero-padded at its end, as a live
        stream's window is), not the first frames of the longer excerpt's.
        """
        window = self.stft(mixture[:, : self.window_length])
        mag = magnitude(window, self.F)
        masks = tf.cast(model(mag, training=training), tf.float32)
        lo, hi = self.frames - self.edge, self.frames
        if self.teacher is not None and self.distill_weight >= 1:
            # The teacher's masks (it heard the future) on the window's own magnitudes, as the model's are used.
            taught = tf.stop_gradient(tf.cast(self.teacher(full_mag), tf.float32))[:, :, : self.frames]
            targets = taught * mag[:, None]
        else:
            targets = self._targets(full_mag, stems)
        return self.loss_fn(masks[:, :, lo:hi], mag[:, lo:hi], targets[:, :, lo:hi], weights, **self.loss_params)

    def _targets(self, mag, stems):
        """What the stems' magnitudes should be: the true stems', or (distilling) the teacher's masked mixture."""
        if self.teacher is None or self.distill_weight < 1:
            truth = tf.abs(self._stem_spec(stems))[:, :, :, : self.F]
            if self.teacher is None:
                return truth
        taught = tf.stop_gradient(tf.cast(self.teacher(mag), tf.float32)) * mag[:, None]
        if self.distill_weight >= 1:
            return taught
        return self.distill_weight * taught + (1.0 - self.distill_weight) * truth

    def waveforms(self, masks, spec, length):
        full = self.extend(masks)
        est_spec = tf.cast(full, spec.dtype) * spec[:, None]
        s = tf.shape(est_spec)
        wave = self.istft(tf.reshape(est_spec, [s[0] * s[1], s[2], s[3], s[4]]), length=length)
        return tf.reshape(wave, [s[0], s[1], length, s[4]])

    def separator(self, model):
        """``(1, L, C)`` waveform -> ``(1, S, L, C)`` estimates, for validation."""
        # Its STFT layers take the global policy when built: float32, whatever the model's.
        with global_policy("float32"):
            return SpectralSeparation(model, self.config)


class WaveformTask:
    def __init__(self, config):
        self.config = config
        tr = config["training"]
        if tr["excerpt_seconds"] is None:
            raise ConfigError("training.excerpt_seconds must be set for waveform models")
        self.excerpt_length = int(round(tr["excerpt_seconds"] * config["sample_rate"]))
        self.loss_fn, on_masks = losses.get(tr["loss"])
        if on_masks:
            raise ConfigError(
                f"training.loss {tr['loss']!r} needs masks; waveform models train with {' or '.join(losses.WAVEFORM_LOSSES)}"
            )
        self.loss_params = dict(tr["loss_params"])

    def loss(self, model, mixture, stems, weights, training=True):
        est = tf.cast(model(mixture, training=training), tf.float32)
        return self.loss_fn(est, stems, weights, **self.loss_params)

    def separator(self, model):
        return lambda wave: tf.cast(model(wave, training=False), tf.float32)


def _teacher(config):
    """``training.distill_from``'s mask function (frozen, inference mode), or None."""
    name = config["training"]["distill_from"]
    if not name:
        return None
    from ..models import inference_function
    from ..pretrained import load_model

    teacher = load_model(name, quiet=True)
    t = teacher.config
    for key in ("stems", "sample_rate", "n_channels", "frame_length", "frame_step", "F"):
        if t[key] != config[key]:
            raise ConfigError(
                f"training.distill_from {name}: its {key} ({t[key]}) differs from this model's ({config[key]}); "
                "a teacher must see the same spectrogram and give the same stems"
            )
    model = teacher.keras_model
    model.trainable = False
    return inference_function(model, t) or (lambda mag: model(mag, training=False))


def make_task(config):
    from ..separation.waveform import separation_domain

    if separation_domain(config) == "spectrogram":
        return SpectrogramTask(config)
    return WaveformTask(config)


def stem_weights(config) -> np.ndarray:
    w = config["training"]["stem_weights"] or {}
    return np.array([float(w.get(s, 1.0)) for s in config["stems"]], np.float32)
