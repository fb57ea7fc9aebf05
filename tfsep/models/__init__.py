"""Models: the registry of model families and the Keras building blocks they share.

``build(config) -> keras.Model`` dispatches on ``config["model"]["type"]``
to one module per family (``unet`` and its Conv1D form ``unet1d``,
``enhanced_unet``, ``stacked``, ``cascade``, ``wave_unet``, ``demucs``), which share
``unet_body``, ``blocks`` and ``layers``.  Adding a family means a module
here, a line in ``_builders`` and its schema in ``tfsep.config.model_params``.
Pure Keras: nothing here reads or writes files or downloads anything; model
directories and pretrained weights are :mod:`tfsep.pretrained`'s job
(``tfsep.pretrained.build_model`` also applies a stacked model's
``init_from``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..config import validate
from ..errors import ModelError


def _builders() -> dict:
    """``model.type`` -> ``fn(config) -> keras.Model``; imported on first use (Keras is heavy)."""
    from .cascade import build_cascade
    from .demucs import build_demucs
    from .enhanced_unet import build_enhanced_unet
    from .stacked import build_stacked_unet
    from .unet import build_unet
    from .wave_unet import build_wave_unet

    return {
        "unet": build_unet,
        "enhanced_unet": build_enhanced_unet,
        "stacked_unet": build_stacked_unet,
        "wave_unet": build_wave_unet,
        "demucs": build_demucs,
        "cascade": build_cascade,
    }


@contextlib.contextmanager
def dtype_policy(name: str):
    """Within: Keras' global dtype policy is ``name`` (layers built here compute in it); the previous one after."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def leaf_layers(model):
    """Every layer with weights, nested models (a cascade's ``first`` and ``splitter``) opened up."""
    for _, layer in layer_paths(model):
        yield layer


def layer_paths(model, prefix: str = ""):
    """``(path, layer)`` for every layer with weights: ``splitter/unet_enc1_conv`` inside a nested model."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from layer_paths(layer, f"{prefix}{layer.name}/")
        elif layer.weights:
            yield f"{prefix}{layer.name}", layer


def build(config: dict):
    """Build the (untrained) Keras model a validated config describes.

    A stacked model's ``init_from`` names weights on disk: build it with
    ``tfsep.pretrained.build_model``, which loads them.
    """
    builders = _builders()
    mtype = config["model"]["type"]
    if mtype not in builders:
        raise ModelError(f"model type {mtype!r} is not known (known: {', '.join(sorted(builders))})")
    return builders[mtype](config)


def inference_function(model, config: dict):
    """A faster ``model(magnitude, training=False)`` for the U-Net families (same results), or None."""
    mtype = config["model"]["type"]
    if mtype == "unet":
        from .unet import inference_function as fn
    elif mtype == "cascade":
        from .cascade import inference_function as fn
    else:
        return None
    return fn(model, config)


def sub_config(config: dict, part: str) -> dict:
    """The config of a nested network (``first`` of a stacked model or cascade, ``splitter`` of a cascade)."""
    if config["model"]["type"] == "cascade":
        from .cascade import first_config, splitter_config

        return first_config(config) if part == "first" else splitter_config(config)
    from .stacked import first_config

    if part != "first":
        raise ModelError(f"a {config['model']['type']} model has no {part!r} network")
    return first_config(config)


@dataclass
class TfsepModel:
    """A built Keras model with the config it was built from (and the directory it came from, if any)."""

    keras_model: object
    config: dict
    path: str | None = None

    @property
    def stems(self):
        return list(self.config["stems"])


def from_config(config: dict) -> TfsepModel:
    """An untrained model for a config dict (validated here)."""
    config = validate(config)
    return TfsepModel(build(config), config, None)
