"""Configs: the one JSON schema of tfsep (load, convert from Spleeter, validate, defaults).

- :mod:`.loader`: top-level and separation sections; built-in config
  names; :func:`load_config` and :func:`validate`;
- :mod:`.training_section`: the ``training`` section's schema and checks;
- :mod:`.model_params`: the ``model.params`` schema of each model family;
- :mod:`.spleeter`: Spleeter's config files converted to tfsep's schema;
- :mod:`.schema`: the generic section checker they use.

Pure Python: nothing here imports TensorFlow.
"""

from .loader import (
    CONFIG_DIR,
    MASK_EXTENSIONS,
    MAX_BATCH_SIZE,
    MAX_OVERLAP,
    builtin_config_names,
    load_config,
    segment_samples,
    validate,
)
from .spleeter import from_spleeter

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
