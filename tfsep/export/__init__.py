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

from .metadata import ExportError, metadata, model_kind

__all__ = ["ExportError", "export_savedmodel", "export_tflite", "metadata", "model_kind"]


def export_savedmodel(*args, **kwargs):
    """Write a SavedModel for TF Serving; see :func:`tfsep.export.savedmodel.export_savedmodel`."""
    from .savedmodel import export_savedmodel as fn

    return fn(*args, **kwargs)


def export_tflite(*args, **kwargs):
    """Write a builtin-ops TFLite model; see :func:`tfsep.export.tflite.export_tflite`."""
    from .tflite import export_tflite as fn

    return fn(*args, **kwargs)
