"""Weights named by a config: a network's own (``model.params.init_from``), a run's start (``training.warm_start``).

A stacked model's or a cascade's ``model.params.init_from`` names its first
network's weights; a cascade's ``splitter_init_from`` names a splitter that
was trained on its own.  ``tfsep.models.build`` is pure Keras and refuses
such a config; :func:`build_model` builds it and loads those weights from a
``.weights.h5`` file, a tfsep model directory or a pretrained model name
(``load_named``: :func:`tfsep.pretrained.lookup.load_model`, passed in so
that this module sits below the lookup).

``training.warm_start`` (:func:`copy_weights`) starts a whole model from
another one before training (copied once; the model does not refer to it): layer by layer by name, or (``NAME:STEM``) one
stem's U-Net of a per-stem model copied into every trainable U-Net.
"""

from __future__ import annotations

from pathlib import Path

from .. import models
from ..errors import ModelError
from .modeldir import is_model_dir, load_model_dir, without_init_from


def build_model(config: dict, load_named, *, splitter: bool = True):
    """The Keras model a validated config describes, with the weights its ``init_from`` keys name loaded.

    Args:
        config: a validated config.
        load_named: ``fn(name) -> TfsepModel`` for a pretrained model name.
        splitter: also load ``splitter_init_from`` (a model directory loading
            its own splitter weights passes False).
    """
    params = config["model"].get("params", {})
    sources = {"first": params.get("init_from")}
    if splitter:
        sources["splitter"] = params.get("splitter_init_from")
    if not any(sources.values()):
        return models.build(without_init_from(config))
    model = models.build(without_init_from(config))
    for part, source in sources.items():
        if source:
            load_part_weights(model.get_layer(part), models.sub_config(config, part), source, load_named, part)
    return model


def load_part_weights(net, config: dict, source: str, load_named, part: str = "first") -> None:
    """Load a nested network (``first`` or ``splitter``) from ``source``; its config must match ``config``."""
    key = "init_from" if part == "first" else f"{part}_init_from"
    path = Path(source)
    try:
        if str(source).endswith(".weights.h5"):
            if not path.is_file():
                raise ModelError(f"{key}: {source}: no such weights file")
            net.load_weights(str(path))
            return
        if is_model_dir(path):
            loaded = load_model_dir(path, build=lambda c: build_model(c, load_named, splitter=False))
        else:
            loaded = load_named(source)
    except ModelError:
        raise
    except Exception as exc:  # missing file, wrong shapes, failed download: one actionable message
        raise ModelError(f"{key}: cannot load the {part} network's weights from {source} ({exc})") from None
    if (
        loaded.config["model"] != config["model"]
        or loaded.config["F"] != config["F"]
        or loaded.config["stems"] != config["stems"]
    ):
        raise ModelError(
            f"{key}: {source} is a {loaded.config['model']['type']} model that differs from model.params.{part} "
            "(type, params, F and stems must match)"
        )
    net.set_weights(loaded.keras_model.get_weights())


def copy_weights(model, name: str, load_named) -> int:
    """``training.warm_start``: copy weights into ``model`` from a tfsep model; returns the layers copied.

    ``name`` (a model name or directory): layer by layer, by path (a
    nested model's name, then the layer's: ``splitter/unet_enc1_conv``), so
    a cascade's splitter comes from another cascade's even when their
    ``first`` networks differ; where no path matches (a plain U-Net into a
    cascade, or back), by the layers' own names.
    ``name:stem`` (e.g. ``2stems:accompaniment``): the U-Net of that stem of a
    per-stem model (layers ``<stem>_*``) into every trainable U-Net of
    ``model`` (layers ``<prefix>_*``, same shapes); the last convolution's
    kernel is tiled when ``model``'s head predicts several stems' masks.
    """
    source, _, stem = name.rpartition(":") if ":" in name and not Path(name).exists() else (name, "", "")
    src = load_named(source).keras_model
    src_layers = {layer.name: layer for layer in models.leaf_layers(src)}
    if stem:
        src_layers = {k[len(stem) + 1 :]: v for k, v in src_layers.items() if k.startswith(stem + "_")}
        if not src_layers:
            raise ModelError(f"warm_start {name}: {source} has no U-Net for stem {stem!r}")
        targets = [(layer, layer.name.split("_", 1)[-1]) for layer in models.leaf_layers(model) if layer.trainable]
    else:
        src_paths = dict(models.layer_paths(src))
        targets = [(layer, path) for path, layer in models.layer_paths(model)]
        if any(path in src_paths for _, path in targets):
            src_layers = src_paths
        else:
            targets = [(layer, layer.name) for layer in models.leaf_layers(model)]
    copied = 0
    for layer, key in targets:
        if key not in src_layers:
            continue
        w_src = src_layers[key].get_weights()
        w_dst = layer.get_weights()
        if stem:
            w_src = [_tile_last(w, d.shape) for w, d in zip(w_src, w_dst)]
        if [w.shape for w in w_src] != [w.shape for w in w_dst]:
            raise ModelError(f"warm_start {name}: layer {layer.name} has other weight shapes than this config's model")
        layer.set_weights(w_src)
        copied += 1
    if not copied:
        raise ModelError(
            f"warm_start {name}: no layer of that model matches this config's model (stems or architecture differ)"
        )
    return copied


def _tile_last(w, shape):
    """``w`` repeated along its last axis to ``shape`` (one stem's mask weights for every stem)."""
    import numpy as np

    if w.shape == tuple(shape) or w.shape[:-1] != tuple(shape[:-1]) or shape[-1] % w.shape[-1]:
        return w
    return np.tile(w, (1,) * (w.ndim - 1) + (shape[-1] // w.shape[-1],))
