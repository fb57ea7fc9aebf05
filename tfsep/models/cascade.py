"""Cascade: a (frozen) vocal separator, then a splitter of what it leaves.

The first model (``params.first``: a spectrogram mask model such as
Spleeter's 2stems U-Net) sees the first ``first_F`` bins and gives the
mask ``m`` of its first stem (vocals); above ``first_F`` the mask is
extended (``vocal_mask_extension``, as separation extends masks).  The
splitter (``params.splitter``, a softmax mask model over all ``F`` bins)
sees the remainder ``(1 - m) |X|`` and shares it among the other stems
(drums, bass, other): the cascade's masks are ``m`` and ``(1 - m) m_j``
(``CascadeMasks``), which sum to one, so the four stems sum to the mixture.

The first model's weights are files (``init_from``: a pretrained name such
as ``2stems``, a model directory or a ``.weights.h5``), loaded by
``tfsep.pretrained.build_model``; so are the splitter's when it was trained
on its own (``splitter_init_from``).  With ``freeze`` the first model runs
in inference mode and training moves only the splitter, which is then all a
model directory of the cascade stores.  Nested models: layers ``first`` and
``splitter``.
"""

from __future__ import annotations

import keras
from keras import layers

from ..audio.spectral import ExtendMask
from .blocks import CascadeMasks, RemainderMagnitude

SPECTROGRAM_TYPES = ("unet", "enhanced_unet")


def first_config(config: dict) -> dict:
    """The config of the vocal model: its own model section, ``F`` and stems."""
    p = config["model"]["params"]
    return {**config, "model": p["first"], "F": p["first_F"], "stems": list(p["first_stems"])}


def splitter_config(config: dict) -> dict:
    """The config of the splitter: the splitter's model section and the cascade's stems after the first."""
    p = config["model"]["params"]
    return {**config, "model": p["splitter"], "stems": list(config["stems"][1:])}


def _build_sub(config: dict):
    from .enhanced_unet import build_enhanced_unet
    from .unet import build_unet

    return {"unet": build_unet, "enhanced_unet": build_enhanced_unet}[config["model"]["type"]](config)


def build_cascade(config):
    """Magnitude ``(B, T, F, C)`` -> masks ``(B, stems, T, F, C)`` summing to one over the stems."""
    from ..errors import ModelError

    p = config["model"]["params"]
    if p["init_from"] or p["splitter_init_from"]:
        raise ModelError(
            f"model {config['name']}: model.params.init_from names weights on disk; "
            "build it with tfsep.pretrained.build_model, which loads them"
        )
    C, F, F1 = config["n_channels"], config["F"], p["first_F"]
    first = _build_sub(first_config(config))
    first.name = "first"
    if p["freeze"]:
        first.trainable = False
    splitter = _build_sub(splitter_config(config))
    splitter.name = "splitter"

    mag = keras.Input(shape=(None, F, C), name="magnitude")
    low = layers.Cropping2D(((0, 0), (0, F - F1)), name="first_bins")(mag) if F1 < F else mag
    m1 = first(low, training=False) if p["freeze"] else first(low)
    if F1 < F:
        m1 = ExtendMask(F, p["vocal_mask_extension"], name="first_mask_extension")(m1)
    rest = RemainderMagnitude(name="remainder")([m1, mag])
    masks = CascadeMasks(name="masks")([m1, splitter(rest)])
    return keras.Model(mag, masks, name=f"cascade_{config['name']}")


def inference_function(model, config):
    """``model(magnitude, training=False)`` with each nested U-Net's fast inference path, or None."""
    from .unet import inference_function as unet_inference

    try:
        first, splitter = model.get_layer("first"), model.get_layer("splitter")
    except ValueError:
        return None
    f1 = unet_inference(first, first_config(config)) or (lambda x: first(x, training=False))
    f2 = unet_inference(splitter, splitter_config(config)) or (lambda x: splitter(x, training=False))
    get = {layer.name: layer for layer in model.layers}
    crop, extend = get.get("first_bins"), get.get("first_mask_extension")
    rest, combine = get["remainder"], get["masks"]

    def masks(mag):
        m1 = f1(crop(mag) if crop is not None else mag)
        if extend is not None:
            m1 = extend(m1)
        return combine([m1, f2(rest([m1, mag]))])

    return masks
