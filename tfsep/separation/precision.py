"""The arithmetic a separation's network runs in: float32, or bfloat16 where the CPU does it natively.

``precision="auto"`` (every preset's) picks ``bfloat16`` when this CPU has
native bfloat16 dot products that TensorFlow's oneDNN kernels use (x86
AVX512-BF16 or AMX-BF16, Arm BF16), and ``float32`` everywhere else, so
that ``auto`` is never slower than float32: without those instructions
bfloat16 is emulated and slower.  Only the network runs in bfloat16 (Keras'
``mixed_bfloat16``: float32 weights, bfloat16 activations); the STFT,
magnitudes, masks, Wiener filtering and the inverse STFT stay float32.

There is no int8 path: Keras 3 quantizes dense layers only (no
convolutions), TensorFlow's CPU kernels run no int8 convolution from a Keras
graph, and the weight-only int8 TFLite export is no faster than float32
(README, Export).
"""

from __future__ import annotations

import os
import platform
import subprocess

from ..errors import TfsepError

PRECISIONS = ("auto", "float32", "bfloat16")
# oneDNN's ISA cap (ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA): the levels that still include bfloat16 dot products.
_BF16_ISAS = ("ALL", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512")


def cpu_features() -> set[str]:
    """This CPU's feature flags, lower case: ``/proc/cpuinfo`` flags (x86) or Features (Arm); macOS sysctl."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip().lower() in ("flags", "features"):
                    return set(value.lower().split())
    except OSError:
        pass
    if platform.system() == "Darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "hw.optional.arm.FEAT_BF16"], capture_output=True, text=True, timeout=5
            ).stdout
            return {"bf16"} if out.strip() == "1" else set()
        except (OSError, subprocess.SubprocessError):
            return set()
    return set()


def native_bfloat16(features=None) -> bool:
    """True when bfloat16 matmuls and convolutions run natively here (and oneDNN is not capped below them)."""
    flags = cpu_features() if features is None else {f.lower() for f in features}
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").strip().upper()
    if cap and cap not in _BF16_ISAS:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & flags) or ("bf16" in flags and platform.machine() in ("aarch64", "arm64"))


def resolve_precision(value, features=None) -> str:
    """``auto``/``float32``/``bfloat16`` -> the one to run: ``float32`` or ``bfloat16``.

    Raises:
        TfsepError: an unknown precision.
    """
    value = "auto" if value is None else str(value).lower()
    if value not in PRECISIONS:
        raise TfsepError(f"precision must be one of {', '.join(PRECISIONS)}, got {value!r}")
    if value == "auto":
        return "bfloat16" if native_bfloat16(features) and not _gpu_visible() else "float32"
    return value


def _gpu_visible() -> bool:
    # On a GPU, Keras' own mixed precision is the tool (not measured here): auto keeps float32 there.
    import sys

    if "tensorflow" not in sys.modules:
        return False
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def building_in(precision: str):
    """Within: Keras builds layers for ``precision`` (its global dtype policy); the caller's policy after."""
    from ..models import dtype_policy

    return dtype_policy(POLICIES[precision])


def model_precision(model) -> str:
    """The precision a TfsepModel's layers compute in: ``bfloat16`` if any layer with weights does."""
    from ..models import leaf_layers

    mixed = any(layer.dtype_policy.name == "mixed_bfloat16" for layer in leaf_layers(model.keras_model))
    return "bfloat16" if mixed else "float32"


def with_precision(model, precision: str):
    """``model`` (a TfsepModel) as ``precision`` runs it: itself if it already does, else a twin with its weights."""
    if model_precision(model) == precision:
        return model
    from .. import models
    from ..models import TfsepModel
    from ..pretrained.modeldir import without_init_from

    with building_in(precision):
        twin = models.build(without_init_from(model.config))
    twin.set_weights(model.keras_model.get_weights())
    return TfsepModel(twin, model.config, model.path)
