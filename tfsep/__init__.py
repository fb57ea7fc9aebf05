"""tfsep: music source separation on Keras 3 / TensorFlow.

Heavy imports (TensorFlow) are deferred: ``import tfsep`` stays cheap so the
CLI starts fast; ``Separator`` and ``load_model`` import TensorFlow on use.
"""

__version__ = "0.13.0"

from .console import quiet as _quiet  # noqa: E402
from .errors import TfsepError  # noqa: E402

_quiet.install()

__all__ = ["Separator", "load_model", "load_config", "TfsepError", "__version__"]


def __getattr__(name):
    if name == "Separator":
        from .separation import Separator

        return Separator
    if name == "load_model":
        from .pretrained import load_model

        return load_model
    if name == "load_config":
        from .config import load_config

        return load_config
    raise AttributeError(f"module 'tfsep' has no attribute {name!r}")
