"""Export tfsep models for TF Serving (SavedModel) and for devices (TFLite/LiteRT).

- :func:`tfsep.export.savedmodel.export_savedmodel`: TF Serving's versioned
  layout with a waveform signature and a spectrogram signature;
- :func:`tfsep.export.tflite.export_tflite`: builtin-ops-only flatbuffers,
  the spectrogram core or the full waveform graph, optionally quantized;
- :mod:`tfsep.export.serving_client`: separate through a running TF Serving.

Spectrogram models (magnitude ``(B, T, F, C)`` in) and waveform models
(``(B, samples, C)`` in) are both handled; what cannot be expressed raises
:class:`ExportError` naming the op.
"""

from __future__ import annotations

from ..errors import ModelError


class ExportError(ModelError):
    """A model cannot be exported in the requested form."""


def model_kind(model) -> str:
    """``'spectrogram'`` or ``'waveform'`` from the Keras model's input rank."""
    shape = model.keras_model.inputs[0].shape
    if len(shape) == 4:
        return "spectrogram"
    if len(shape) == 3:
        return "waveform"
    raise ExportError(f"model {model.config['name']}: cannot export a model with input shape {tuple(shape)}")


def separation_plan(model) -> dict:
    """Segmenting of the local ``Separator`` for this model: segment, hop, crossfade window."""
    from ..separator import Separator

    sep = Separator(model)
    return {"segment": sep.segment, "overlap": sep.overlap, "hop": sep.hop, "window": sep._window}


def metadata(model) -> dict:
    """What a client needs to run an exported model: rates, STFT, stems, segmenting."""
    cfg = model.config
    plan = separation_plan(model)
    return {
        "name": cfg["name"],
        "kind": model_kind(model),
        "stems": list(cfg["stems"]),
        "sample_rate": cfg["sample_rate"],
        "n_channels": cfg["n_channels"],
        "frame_length": cfg["frame_length"],
        "frame_step": cfg["frame_step"],
        "window": "hann_periodic",
        "T": cfg["T"],
        "F": cfg["F"],
        "n_bins": cfg["frame_length"] // 2 + 1,
        "mask_extension": cfg["mask_extension"],
        "segment": plan["segment"],
        "overlap": plan["overlap"],
        "crossfade_edge": cfg["frame_length"] - cfg["frame_step"],
    }


def export_savedmodel(*args, **kwargs):
    from .savedmodel import export_savedmodel as fn

    return fn(*args, **kwargs)


def export_tflite(*args, **kwargs):
    from .tflite import export_tflite as fn

    return fn(*args, **kwargs)
