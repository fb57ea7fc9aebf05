"""tfsep's import of Deezer's 4stems and 5stems checkpoints, checked against Deezer's own graphs.

The graphs (``tests/data/spleeter-graphs``, MIT, no weights) are filled with
random values and saved as a checkpoint; Deezer's graph and tfsep's Keras
import of that checkpoint then get the same magnitude patch, and each stem's
last convolution (its mask, before the ratio normalisation) must agree.  A
wrong variable mapping (a swapped stem, layer or batch-norm statistic) gives
a different mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from spleeter_reference import random_checkpoint

GRAPHS = Path(__file__).parent / "data" / "spleeter-graphs"
T, F = 512, 1024


def _deezer_masks(graph, out: Path, first_input: str, patch: np.ndarray, n_stems: int) -> list[np.ndarray]:
    """Each stem's mask convolution output in Deezer's graph (stems in instrument_list order)."""
    import tensorflow as tf

    with graph.as_default():
        # The mask convolutions: the dilated 4x4 ones, one per stem, in creation order.
        # (dilated, so TF runs them with stride 1 between SpaceToBatchND and BatchToSpaceND).
        masks = [op for op in graph.get_operations() if op.type == "Conv2D" and op.get_attr("strides")[1] == 1]
        assert len(masks) == n_stems
        outputs = []
        for op in masks:
            scope = op.name.rsplit("/", 1)[0]
            names = {o.name for o in graph.get_operations() if o.name.startswith(scope + "/")}
            outputs.append(
                graph.get_tensor_by_name(f"{scope}/Sigmoid:0" if f"{scope}/Sigmoid" in names else f"{scope}/BiasAdd:0")
            )
        with tf.compat.v1.Session(graph=graph) as sess:
            tf.compat.v1.train.Saver().restore(sess, str(out / "model"))
            return sess.run(outputs, {first_input: patch})


@pytest.mark.parametrize("name", ["4stems", "5stems"])
def test_import_matches_deezers_graph(name, tmp_path):
    from tfsep.config import load_config
    from tfsep.pretrained import load_model_dir
    from tfsep.pretrained.spleeter_import import import_spleeter_checkpoint

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    graph, first_input = random_checkpoint(GRAPHS / name / "model.meta", ckpt, seed=len(name))
    stems = load_config(name)["stems"]
    patch = np.abs(np.random.default_rng(1).normal(0, 1, (1, T, F, 2))).astype(np.float32)
    reference = _deezer_masks(graph, ckpt, first_input, patch, len(stems))

    model = load_model_dir(import_spleeter_checkpoint(ckpt, name, tmp_path / "imported")).keras_model
    import keras

    for stem, ref in zip(stems, reference):
        layer = model.get_layer(f"{stem}_mask_conv")
        probe = keras.Model(model.inputs, layer.output)
        got = np.asarray(probe(patch, training=False))
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=2e-4, err_msg=stem)
        # The masks differ between stems: a test that a swap of stems would fail.
    assert not np.allclose(reference[0], reference[1], atol=1e-2)
