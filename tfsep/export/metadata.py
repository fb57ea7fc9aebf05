"""What every export shares: the export error, the model kind, and the metadata a client needs."""

from __future__ import annotations

from ..errors import ModelError
from ..separation.plan import config_plan
from ..separation.presets import EXPORT, residual_stem


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


def inference_options(model) -> tuple[dict, str | None]:
    """``(config, residual stem)`` an export computes with: the :data:`~tfsep.separation.presets.EXPORT` bundle.

    Exports bake in what needs no extra model calls (mask extension above
    ``F``, the residual stem); Wiener filtering and test-time augmentation
    stay on the host's side.
    """
    cfg = model.config
    if model_kind(model) == "spectrogram":
        cfg = dict(cfg, mask_extension=EXPORT["mask_extension"])
    return cfg, residual_stem(EXPORT["residual"], cfg["stems"])


def metadata(model) -> dict:
    """What a client needs to run an exported model: rates, STFT, stems, segmenting, the options baked in."""
    cfg, residual = inference_options(model)
    plan = config_plan(cfg)
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
        "segment": plan.segment,
        "overlap": plan.overlap,
        "crossfade_edge": plan.edge,
        "padding": plan.padding,
        "residual": residual,
    }
