"""The starting point of ``2stems-fast``: Deezer's vocal U-Net with a complementary accompaniment head.

One U-Net of ``configs/2stems-fast/distill.json`` (a two-stem sigmoid head)
gets the vocal U-Net of Deezer's ``2stems`` (``warm_start`` by stem), and
the head's accompaniment half is the vocal half negated:
``sigmoid(-z) = 1 - sigmoid(z)``, the accompaniment as the vocals'
complement.  Untrained, it is already close to the two-network 2stems (the
docs/models.md has the figures); ``tfsep train -c
configs/2stems-fast/distill.json`` starts from the folder this writes.

    .venv/bin/python recipes/make_2stems_fast_init.py [runs/2stems-fast-init]
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "..", "configs", "2stems-fast", "distill.json")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "runs/2stems-fast-init"
    from tfsep import models
    from tfsep.config import load_config
    from tfsep.pretrained import copy_weights_from, save_model_dir

    cfg = load_config(CONFIG)
    model = models.from_config(cfg)
    copied = copy_weights_from(model.keras_model, "2stems:vocals")
    head = model.keras_model.get_layer("unet_mask_conv")
    kernel, bias = (np.array(w) for w in head.get_weights())
    c = cfg["n_channels"]  # the head's outputs are (stem, channel): accompaniment's are the last c
    kernel[..., c:], bias[c:] = -kernel[..., :c], -bias[:c]
    head.set_weights([kernel, bias])
    save_model_dir(model.keras_model, model.config, out)
    print(f"{out}: Deezer's vocal U-Net ({copied} layers) with a complementary accompaniment head")


if __name__ == "__main__":
    main()
