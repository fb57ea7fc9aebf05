"""Models whose config names starting weights on disk.

A stacked model's or a cascade's ``model.params.init_from`` names its first
network's weights; a cascade's ``splitter_init_from`` names a splitter that
was trained on its own.  ``tfsep.models.build`` is pure Keras and refuses
such a config; :func:`build_model` builds it and loads those weights from a
``.weights.h5`` file, a tfsep model directory or a pretrained model name
(``load_named``: :func:`tfsep.pretrained.lookup.load_model`, passed in so
that this module sits below the lookup).
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
