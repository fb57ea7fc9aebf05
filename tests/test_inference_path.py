"""The U-Net's fast inference path gives the model's own masks.

``tfsep.models.unet.inference_function`` calls a U-Net's layers one by one,
by name, and computes a softmax head as exp / sum.  Every separation, export
and benchmark goes through it, so a skipped layer, a wrong skip connection,
a batch norm in the wrong mode or a softmax on the wrong axis would change
every stem a user gets: these tests compare it with the model's own call,
with random weights and random batch-norm statistics.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

# Its results depend on the CPU's instructions: `make test` runs it again as the other class of CPU.
pytestmark = pytest.mark.cpu_sensitive


def _random_batch_norms(model, seed=0):
    """Running statistics and affine terms far from the identity, so that a norm in the wrong mode shows."""
    import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 2.0, n).astype(np.float32),
                    rng.normal(0, 0.5, n).astype(np.float32),
                    rng.normal(0, 0.5, n).astype(np.float32),
                    rng.uniform(0.2, 3.0, n).astype(np.float32),
                ]
            )


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # one U-Net, a two-stem sigmoid head
        {"params_unet_per_stem": True},  # Spleeter's layout: one U-Net per stem
        {"params_kernel_size": 3, "params_conv_n_filters": [4, 8, 8, 16]},
        {"params_normalization": "none"},
        {"stems": ["vocals", "drums", "bass", "other"], "params_head": "softmax"},
    ],
    ids=["shared", "per-stem", "kernel3-depth4", "no-norm", "softmax4"],
)
@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fast_path_gives_the_models_masks(overrides, policy):
    import tensorflow as tf

    from tfsep import models
    from tfsep.models import dtype_policy, inference_function

    with dtype_policy(policy):
        model = models.from_config(tiny_config(**overrides))
        km = model.keras_model
        _random_batch_norms(km)
        fn = inference_function(km, model.config)
        assert fn is not None
        mag = tf.random.stateless_uniform((2, 64, model.config["F"], 2), seed=[3, 4]) ** 4 * 30
        want = tf.cast(km(mag, training=False), tf.float32).numpy()
        got = tf.cast(tf.function(fn)(mag), tf.float32).numpy()
    assert got.shape == want.shape
    if policy == "float32":
        np.testing.assert_allclose(got, want, atol=1e-4)  # ratio masks amplify float32 rounding a little
    else:  # bfloat16 activations: the two orders of summation round differently, rarely by much
        assert np.mean(np.abs(got - want)) < 2e-3
        assert np.max(np.abs(got - want)) < 0.1


def test_a_mask_convolution_the_fast_head_cannot_run_falls_back_visibly():
    """A last convolution that is not the same-padded, stride-1 kind the fast head rewrites: warn, use the model."""
    from tfsep import models
    from tfsep.models import inference_function

    model = models.from_config(tiny_config())
    model.keras_model.get_layer("vocals_mask_conv").padding = "valid"
    with pytest.warns(RuntimeWarning, match="vocals_mask_conv is not a same-padded"):
        assert inference_function(model.keras_model, model.config) is None
