"""SavedModel export in TF Serving's versioned layout.

``<out>/<version>/saved_model.pb`` + ``variables/``, written through
``keras.export.ExportArchive`` so every variable is a tracked resource (never
an unresolved handle), with three signatures:

- ``serving_default``: ``waveform`` ``(samples, channels)`` float32 at the
  model's rate, any length (0 or less than one frame included) -> one
  output per stem, named after the stem, same shape.  Inside: exactly the
  local ``Separator``'s segmenting (segments of ``segment`` samples every
  ``hop`` samples, the last one zero-padded, the same crossfade weights,
  normalised overlap-add), so its output equals ``Separator.separate`` up to
  float rounding.  Segments run one at a time (``tf.map_fn``): memory is
  bounded by one segment whatever the length.
- ``separate_spectrogram`` (spectrogram models): ``magnitude``
  ``(batch, frames, F, channels)``, any number of frames (cut into ``T``-frame
  blocks as the separator does) -> ``masks`` ``(batch, stems, frames, F,
  channels)`` over the first ``F`` bins, for clients with their own STFT.
- ``config``: ``unused`` (a float32 scalar, ignored: TF Serving's REST API
  wants an input) -> ``config``, a JSON string with the stems, rates, STFT
  and segmenting parameters.  The serving client reads it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..audio.spectral import masks_in_blocks
from ..separation.plan import config_plan
from ..separation.presets import with_residual
from .metadata import ExportError, inference_options, metadata, model_kind
from .outputs import check_export_output

META_FILE = "assets.extra/tfsep.json"


def _functions(model):
    import tensorflow as tf

    cfg, residual = inference_options(model)
    meta = metadata(model)
    plan = config_plan(cfg)
    kind = model_kind(model)
    keras_model = model.keras_model
    stems = list(cfg["stems"])
    n_stems, C = len(stems), cfg["n_channels"]
    S, H, pad = plan.segment, plan.hop, plan.padding
    window = tf.constant(plan.window)
    residual_index = None if residual is None else stems.index(residual)

    if kind == "spectrogram":
        from ..separation.spectral import SpectralSeparation

        spectral = SpectralSeparation(keras_model, cfg)
        spectral.residual = residual_index  # its own inverse STFT is not computed

        def model_call(segment):
            return spectral(segment)
    else:

        def model_call(segment):
            return keras_model(segment, training=False)

    def run(segment):
        return with_residual(model_call(segment), segment, residual_index)

    def serving_default(waveform):
        # The plan's zeros at both ends (Separator does the same), then segments of S every H samples.
        length = tf.shape(waveform)[0] + 2 * pad
        n = 1 + tf.maximum(0, (length - S + H - 1) // H)
        padded = tf.pad(waveform, [[pad, (n - 1) * H + S - length + pad], [0, 0]])
        segments = tf.signal.frame(padded, S, H, axis=0)  # (n, S, C)
        stem_segments = tf.map_fn(
            lambda seg: run(seg[None])[0],
            segments,
            fn_output_signature=tf.TensorSpec([n_stems, S, C], tf.float32),
            parallel_iterations=1,
        )
        weighted = stem_segments * window[None, None, :, None]
        total = tf.signal.overlap_and_add(tf.transpose(weighted, [1, 3, 0, 2]), H)  # (stems, C, samples)
        weights = tf.signal.overlap_and_add(tf.tile(window[None], [n, 1]), H)
        out = tf.transpose(total[:, :, pad : length - pad] / weights[pad : length - pad], [0, 2, 1])
        return {stem: tf.identity(out[i], name=stem) for i, stem in enumerate(stems)}

    def separate_segment(waveform):
        # One segment as the local Separator runs it: the client streams, pads and blends.
        out = run(waveform[None])[0]
        return {stem: tf.identity(out[i], name=stem) for i, stem in enumerate(stems)}

    waveform_spec = [tf.TensorSpec([None, C], tf.float32, name="waveform")]
    fns = {"serving_default": (serving_default, waveform_spec), "separate_segment": (separate_segment, waveform_spec)}

    if kind == "spectrogram":
        T, F = cfg["T"], cfg["F"]

        def separate_spectrogram(magnitude):
            masks = masks_in_blocks(lambda mag: keras_model(mag, training=False), magnitude, T, n_stems)
            return {"masks": masks}

        fns["separate_spectrogram"] = (
            separate_spectrogram,
            [tf.TensorSpec([None, None, F, C], tf.float32, name="magnitude")],
        )

    config_json = json.dumps(meta)

    def config(unused):
        del unused
        return {"config": tf.constant(config_json)}

    fns["config"] = (config, [tf.TensorSpec([], tf.float32, name="unused")])
    return fns, meta


def _dedupe_variables(archive):
    # ExportArchive checkpoints the tracked Keras variables and, again, the
    # tf.Variables its endpoints capture (``_all_variables``): twice the
    # weights on disk.  The endpoints only need the captured ones.
    trackable = getattr(archive, "_tf_trackable", None)
    for attr in ("variables", "trainable_variables", "non_trainable_variables"):
        if trackable is not None and isinstance(getattr(trackable, attr, None), list):
            setattr(trackable, attr, [])


def export_savedmodel(model, out, version: int = 1, overwrite: bool = False) -> Path:
    """Write ``<out>/<version>/`` (saved_model.pb, variables/, assets.extra/tfsep.json).

    Args:
        model: a ``TfsepModel``.
        out: the model base directory TF Serving is pointed at.
        version: the numeric version sub-directory.
        overwrite: replace an existing version.
    Returns:
        The version directory.
    """
    import keras

    check_export_output(out, "savedmodel", version=version, overwrite=overwrite)
    out = Path(out)
    target = out / str(int(version))
    fns, meta = _functions(model)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=out))
    try:
        archive = keras.export.ExportArchive()
        archive.track(model.keras_model)
        for name, (fn, signature) in fns.items():
            archive.add_endpoint(name, fn, input_signature=signature)
        _dedupe_variables(archive)
        try:
            archive.write_out(str(tmp / "sm"), verbose=False)
        except TypeError:  # older Keras without ``verbose``
            archive.write_out(str(tmp / "sm"))
        except Exception as exc:
            raise ExportError(f"cannot export model {model.config['name']} as a SavedModel: {exc}") from None
        sm = tmp / "sm"
        (sm / "assets.extra").mkdir(exist_ok=True)
        (sm / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.chmod(sm, 0o755)
        if target.exists():
            shutil.rmtree(target)
        os.rename(sm, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
