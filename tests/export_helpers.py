"""Helpers shared by the export, serving and mobile tests."""

from __future__ import annotations

import os

import pytest

# What an export bakes in, written out here and not read from tfsep.separation.presets.EXPORT (the code
# under test): the default preset's full band and residual, no Wiener step, no TTA, float32.  A change to
# what exports compute must change this line too.
EXPORTED = {
    "mask_extension": "average",
    "residual": "auto",
    "wiener_iterations": 0,
    "shifts": 0,
    "channel_swap": False,
    "precision": "float32",
}


def pretrained_2stems():
    """The pretrained 2stems model; skip when it cannot be fetched (fail with TFSEP_REQUIRE_PRETRAINED=1)."""
    from tfsep.errors import TfsepError
    from tfsep.pretrained import load_model

    try:
        return load_model("2stems", quiet=True)
    except TfsepError as exc:
        if os.environ.get("TFSEP_REQUIRE_PRETRAINED") == "1":
            raise
        pytest.skip(f"pretrained 2stems unavailable: {exc}")


def sdr(ref, est):
    from tfsep.evaluation.metrics import global_sdr

    return global_sdr(ref, est)


def with_export_residual(model, stems, mixture):
    """Stems ``(S, L, C)`` of one segment as an export gives them: its residual stem is the mixture minus the others."""
    import tensorflow as tf

    from tfsep.export.metadata import inference_options
    from tfsep.separation.presets import with_residual

    _, residual = inference_options(model)
    index = None if residual is None else model.config["stems"].index(residual)
    return with_residual(tf.constant(stems), tf.constant(mixture), index).numpy()


def segment_reference(model, segment):
    """What the Separator computes for one whole segment with the export's options (no Wiener, no TTA)."""
    import tensorflow as tf

    from tfsep.export.metadata import inference_options
    from tfsep.separation.spectral import SpectralSeparation

    cfg, _ = inference_options(model)
    stems = SpectralSeparation(model.keras_model, cfg)(tf.constant(segment[None]))[0].numpy()
    return with_export_residual(model, stems, segment)
