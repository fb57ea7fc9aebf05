"""Models whose config names starting weights on disk: a stacked model's ``model.params.init_from``.

``tfsep.models.build`` is pure Keras and refuses such a config;
:func:`build_model` builds it and loads the first network's weights from a
``.weights.h5`` file, a tfsep model directory or a pretrained model name.
"""

from __future__ import annotations

from pathlib import Path

from .. import models
from ..errors import ModelError
from .lookup import load_model
from .modeldir import is_model_dir, load_model_dir, without_init_from


def build_model(config: dict):
    """The Keras model a validated config describes, with ``init_from`` weights loaded where it names any."""
    source = config["model"].get("params", {}).get("init_from")
    if not source:
        return models.build(config)
    from ..models.stacked import first_config  # Keras: only when a model is built

    model = models.build(without_init_from(config))
    load_first_weights(model.get_layer("first"), first_config(config), source)
    return model


def load_first_weights(first, config: dict, source: str) -> None:
    """Load the first network of a stacked model from ``source``; its config must match ``config``."""
    path = Path(source)
    try:
        if str(source).endswith(".weights.h5"):
            if not path.is_file():
                raise ModelError(f"init_from: {source}: no such weights file")
            first.load_weights(str(path))
            return
        loaded = load_model_dir(path) if is_model_dir(path) else load_model(source)
    except ModelError:
        raise
    except Exception as exc:  # missing file, wrong shapes, failed download: one actionable message
        raise ModelError(f"init_from: cannot load the first network's weights from {source} ({exc})") from None
    if (
        loaded.config["model"] != config["model"]
        or loaded.config["F"] != config["F"]
        or loaded.config["stems"] != config["stems"]
    ):
        raise ModelError(
            f"init_from: {source} is a {loaded.config['model']['type']} model that differs from model.params.first "
            "(type, params, F and stems must match)"
        )
    first.set_weights(loaded.keras_model.get_weights())
