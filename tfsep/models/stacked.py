"""Stacked refinement: a second U-Net refines the masks of a first spectrogram model.

The first model (a spectrogram mask model: ``unet``,
``enhanced_unet``) gives masks ``m1``; the stems it implies,
``m1 * |X|``, and (``use_mixture``) the mixture magnitude are stacked as
channels and fed to a second U-Net (``unet.unet_branch`` with the
``refine`` params; 2D or 1D by ``refine.conv_dim``), which predicts a
correction ``delta`` per stem.  The output masks are
``softmax_stems(log m1 + delta)`` (``RefineMasks``): they sum to one, and a
zero correction leaves the first masks unchanged.

``init_from`` (a tfsep model directory, a pretrained model name, or a
``.weights.h5`` file) names the first model's starting weights; they are
files, so ``tfsep.pretrained.build_model`` loads them into the layer
``first`` after building (``build`` refuses such a config); ``freeze`` makes the first model non-trainable and runs it in
inference mode (no dropout, BN statistics fixed), so training only moves the
refinement network.  The nested first model is the layer named ``first``.
"""

from __future__ import annotations

import keras
from keras import layers

from ..errors import ModelError
from .blocks import ApplyMasks, RefineMasks
from .layers import LogMagnitude
from .unet import unet_branch


def _build_first(config: dict):
    from .enhanced_unet import build_enhanced_unet
    from .unet import build_unet

    builders = {"unet": build_unet, "enhanced_unet": build_enhanced_unet}
    return builders[config["model"]["type"]](config)


def first_config(config: dict) -> dict:
    """The config of the first network: the stacked config with ``model`` = ``params.first``."""
    out = dict(config)
    out["model"] = config["model"]["params"]["first"]
    return out


def build_stacked_unet(config):
    """Magnitude ``(B, T, F, C)`` -> refined masks ``(B, stems, T, F, C)`` summing to one."""
    p = config["model"]["params"]
    stems = config["stems"]
    n_stems = len(stems)
    C, F = config["n_channels"], config["F"]
    fcfg = first_config(config)
    first = _build_first(fcfg)
    first.name = "first"
    if p["init_from"]:
        raise ModelError(
            f"model {config['name']}: model.params.init_from names weights on disk; "
            "build it with tfsep.pretrained.build_model, which loads them"
        )
    if p["freeze"]:
        first.trainable = False

    mag = keras.Input(shape=(None, F, C), name="magnitude")
    masks1 = first(mag, training=False) if p["freeze"] else first(mag)
    est = ApplyMasks(name="first_stems")([masks1, mag])  # (B, S, T, F, C)
    x = layers.Permute((2, 3, 1, 4), name="stems_last")(est)
    x = layers.Reshape((-1, F, n_stems * C), name="stems_as_channels")(x)
    if p["use_mixture"]:
        x = layers.Concatenate(axis=-1, name="with_mixture")([x, mag])
    r = p["refine"]
    if r["input_scale"] == "log":
        x = LogMagnitude(name="refine_log_magnitude")(x)
    delta = unet_branch(x, r, n_stems * C, "refine_", r["seed"], None)
    delta = layers.Reshape((-1, F, n_stems, C), name="refine_split_stems")(delta)
    delta = layers.Permute((3, 1, 2, 4), name="refine_stems_first")(delta)
    masks = RefineMasks(name="masks")([masks1, delta])
    return keras.Model(mag, masks, name=f"stacked_unet_{config['name']}")
