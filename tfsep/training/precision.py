"""Mixed precision for training: which Keras dtype policy ``training.mixed_precision`` asks for.

The models keep magnitudes, masks and output scaling in float32 under any
policy (``tfsep.models.layers.Float32Layer``); the STFT and the losses of the
training task are float32 too.  What stays in 16 bits is the body of the
network, and there the two formats differ:

- ``mixed_float16`` (max 65504) needs loss scaling, and Spleeter's U-Net,
  whose raw convolution outputs feed the decoder, overflows it on loud input:
  with the pretrained ``2stems`` weights, magnitudes of ~1000 (loud music
  through a 4096-point STFT) already give inf activations;
- ``mixed_bfloat16`` has float32's range (no overflow, no loss scaling) and
  runs on the tensor cores of GPUs of compute capability 8.0 and later.

So ``auto`` picks bfloat16 where the GPU has it, float16 on older GPUs.
"""

from __future__ import annotations

from ..models import dtype_policy

# training.mixed_precision value -> Keras policy, for the values that name one.
POLICIES = {"off": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}
BF16_COMPUTE_CAPABILITY = (8, 0)


def _gpu_supports_bfloat16(gpus) -> bool:
    import tensorflow as tf

    for gpu in gpus:
        try:
            capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        except Exception:  # details are best effort (and absent on some builds)
            capability = None
        if not capability or tuple(capability) < BF16_COMPUTE_CAPABILITY:
            return False
    return True


def choose_policy(setting: str) -> tuple[str, str | None]:
    """The Keras dtype policy for ``training.mixed_precision`` on this machine, and a note to log (or None)."""
    import tensorflow as tf

    if setting in POLICIES:
        policy = POLICIES[setting]
        if policy != "float32" and not tf.config.list_physical_devices("GPU"):
            return policy, f"mixed precision: {policy} on a CPU (slow; meant for checks)"
        return policy, None
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "float32", "mixed precision: no GPU, training in float32" if setting == "on" else None
    policy = "mixed_bfloat16" if _gpu_supports_bfloat16(gpus) else "mixed_float16"
    return policy, f"mixed precision: {policy}"


def needs_loss_scaling(policy: str) -> bool:
    """float16 gradients underflow without loss scaling; bfloat16 has float32's exponent range."""
    return policy == "mixed_float16"


# Keras' global dtype policy for a ``with`` block (one helper for training and separation).
global_policy = dtype_policy
