"""Configs: the one JSON schema of tfsep (load, convert from Spleeter, validate, defaults).

- :mod:`.loader`: top-level, training and separation sections; built-in
  config names; :func:`load_config` and :func:`validate`;
- :mod:`.model_params`: the ``model.params`` schema of each model family;
- :mod:`.schema`: the generic section checker both use.

Pure Python: nothing here imports TensorFlow.
"""

from .loader import (
    CONFIG_DIR,
    MASK_EXTENSIONS,
    MAX_BATCH_SIZE,
    MAX_OVERLAP,
    builtin_config_names,
    from_spleeter,
    load_config,
    segment_samples,
    validate,
)

__all__ = [
    "CONFIG_DIR",
    "MASK_EXTENSIONS",
    "MAX_BATCH_SIZE",
    "MAX_OVERLAP",
    "builtin_config_names",
    "from_spleeter",
    "load_config",
    "segment_samples",
    "validate",
]
