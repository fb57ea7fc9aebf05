"""Deezer's original Spleeter graph, run from the pretrained checkpoint.

A reference for parity tests and benchmarks, not a test module: it replays the
TF1 graph stored in ``model.meta`` (the graph Deezer trained and exported with
Spleeter 1.x) with the weights of ``model.data-*``, so tfsep's Keras import can
be compared with what Spleeter itself computes.

What the stored graph computes (verified on the 2stems checkpoint, whose data
file has sha256 7747f9fd...1788):

* ``waveform:0`` float32 ``(N, 2)`` -> transpose -> ``tf.signal.stft``
  (frame_length 4096, frame_step 1024, fft_length 4096, periodic Hann window,
  ``pad_end=True``) -> ``(frames, 2049, 2)`` complex.
* Frames zero-padded at the end to a multiple of T=512 and reshaped to
  ``(blocks, 512, 2049, 2)``; magnitude (``ComplexAbs``) cut to the first
  F=1024 bins: ``strided_slice_3:0``.
* One U-Net per stem (vocals: ``conv2d..conv2d_6``; accompaniment:
  ``conv2d_7..conv2d_13``); ``<stem>_spectrogram/mul:0`` = sigmoid mask * input.
* Ratio masks ``(y_i**2 + 1e-10/2) / (sum_j y_j**2 + 1e-10)``, padded with
  zeros for bins 1024..2048 (``mask_extension: zeros``), un-blocked, cropped to
  the STFT frame count, multiplied with the complex STFT.
* ``tf.signal.inverse_stft`` with the *forward* periodic Hann window (not the
  dual window), times 2/3, transposed to ``(samples, 2)`` and cropped to
  ``[:N]``: vocals ``strided_slice_13:0``, accompaniment ``strided_slice_23:0``.

The stored graph has NO leading zero padding. Spleeter >= 2.0 rebuilds its
graph in code, prepends ``frame_length`` zeros to the waveform and crops the
output to ``[frame_length:frame_length + N]``; ``leading_pad=True`` (default)
reproduces that exactly by padding the fed waveform and cropping the result.
"""

from __future__ import annotations

import os
import time

import numpy as np

FRAME_LENGTH = 4096
SAMPLE_RATE = 44100

# Output tensors of the stored 2stems graph, checked against model.meta.
OUTPUT_TENSORS = {
    "vocals": "strided_slice_13:0",
    "accompaniment": "strided_slice_23:0",
}
# And of the 4stems graph (tests/data/spleeter-graphs/4stems; ../shared/spleeter-graphs/README.md).
OUTPUT_TENSORS_4STEMS = {
    "vocals": "strided_slice_13:0",
    "drums": "strided_slice_23:0",
    "bass": "strided_slice_33:0",
    "other": "strided_slice_43:0",
}
INPUT_TENSOR = "waveform:0"
LEARNING_PHASE_TENSOR = "keras_learning_phase:0"


class SpleeterGraph:
    """Deezer's 2stems graph (or, with ``outputs``, another) restored from a TF1 checkpoint directory."""

    def __init__(self, ckpt_dir, threads: int | None = None, outputs: dict | None = None):
        """Import ``model.meta`` and restore ``model`` from ``ckpt_dir``.

        Args:
            ckpt_dir: folder with ``model.meta``, ``model.index`` and
                ``model.data-00000-of-00001``.
            threads: intra-op threads; default all cores (``os.cpu_count()``).
            outputs: ``{stem: tensor name}``; default the 2stems graph's
                (``OUTPUT_TENSORS_4STEMS`` for the 4stems graph).
        """
        outputs = outputs or OUTPUT_TENSORS
        import tensorflow as tf

        ckpt_dir = os.fspath(ckpt_dir)
        meta = os.path.join(ckpt_dir, "model.meta")
        if not os.path.isfile(meta):
            raise FileNotFoundError(f"{meta} not found: the reference needs the meta graph")
        threads = threads or os.cpu_count() or 1
        self.graph = tf.Graph()
        # One op at a time, each using every core: the graph is a chain of
        # big convolutions, so parallel ops would only fight for the cores.
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads,
            inter_op_parallelism_threads=1,
        )
        with self.graph.as_default():
            saver = tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
            self.session = tf.compat.v1.Session(graph=self.graph, config=config)
            saver.restore(self.session, os.path.join(ckpt_dir, "model"))
        self.stems = tuple(outputs)
        self._inputs = self.graph.get_tensor_by_name(INPUT_TENSOR)
        self._phase = self.graph.get_tensor_by_name(LEARNING_PHASE_TENSOR)
        self._outputs = {k: self.graph.get_tensor_by_name(v) for k, v in outputs.items()}

    def separate(self, waveform, leading_pad: bool = True) -> dict[str, np.ndarray]:
        """Separate a stereo 44.1 kHz ``(N, 2)`` waveform into ``{stem: (N, 2)}``.

        Args:
            waveform: float32 array ``(N, 2)`` at 44.1 kHz.
            leading_pad: emulate Spleeter >= 2.0 (prepend 4096 zeros, crop them
                off); False runs the stored 1.x graph exactly as exported.
        """
        waveform = np.asarray(waveform, dtype=np.float32)
        if waveform.ndim != 2 or waveform.shape[1] != 2:
            raise ValueError(f"expected a (samples, 2) waveform, got {waveform.shape}")
        n = waveform.shape[0]
        if leading_pad:
            waveform = np.concatenate([np.zeros((FRAME_LENGTH, 2), np.float32), waveform])
        out = self.session.run(self._outputs, feed_dict={self._inputs: waveform, self._phase: False})
        if leading_pad:
            out = {k: v[FRAME_LENGTH : FRAME_LENGTH + n] for k, v in out.items()}
        return {k: np.ascontiguousarray(out[k], dtype=np.float32) for k in self.stems}

    def tensor(self, name: str, waveform, leading_pad: bool = True) -> np.ndarray:
        """Evaluate any tensor of the stored graph (e.g. ``vocals_spectrogram/mul:0``)."""
        waveform = np.asarray(waveform, dtype=np.float32)
        if leading_pad:
            waveform = np.concatenate([np.zeros((FRAME_LENGTH, 2), np.float32), waveform])
        return self.session.run(
            self.graph.get_tensor_by_name(name),
            feed_dict={self._inputs: waveform, self._phase: False},
        )

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def random_checkpoint(meta, out, seed: int = 0):
    """Deezer's graph ``meta`` with random variables, saved to ``out/model`` (with a copy of the meta graph).

    For graphs released without their weights (4stems, 5stems): what they
    compute is wrong, how they compute it (and how fast) is Deezer's.
    Convolution kernels are scaled by their fan-in and batch norms kept near
    the identity, so activations stay in a normal range.  Returns the graph
    and the name of the first convolution's input (the magnitude patch).
    """
    import shutil
    from pathlib import Path

    import tensorflow as tf

    meta, out = Path(meta), Path(out)
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(str(meta), clear_devices=True)
        convs = [op for op in graph.get_operations() if op.type == "Conv2D"]
        first_input = convs[0].inputs[0].name
        rng = np.random.default_rng(seed)
        with tf.compat.v1.Session(graph=graph) as sess:
            for var in tf.compat.v1.global_variables():
                shape = var.shape.as_list()
                name = var.op.name
                if name.endswith("moving_variance"):
                    value = rng.uniform(0.5, 1.5, shape)
                elif name.endswith(("gamma", "moving_mean", "beta", "bias")):
                    value = rng.normal(0.0, 0.3, shape) + (1.0 if name.endswith("gamma") else 0.0)
                elif len(shape) == 4:
                    value = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[:3])), shape)
                else:
                    value = rng.normal(0.0, 0.1, shape) if shape else np.array(0)
                var.load(np.asarray(value, dtype=var.dtype.as_numpy_dtype), sess)
            saver.save(sess, str(out / "model"), write_meta_graph=False)
    shutil.copy(meta, out / "model.meta")
    return graph, first_input


def benchmark(ckpt_dir, seconds: float = 30.0, repeats: int = 3) -> float:
    """Return how many times faster than real time the graph separates noise."""
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((int(seconds * SAMPLE_RATE), 2))).astype(np.float32)
    with SpleeterGraph(ckpt_dir) as graph:
        graph.separate(audio[:SAMPLE_RATE])  # warm-up: first run allocates
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            graph.separate(audio)
            best = min(best, time.perf_counter() - start)
    return seconds / best


if __name__ == "__main__":
    import sys

    ckpt = sys.argv[1] if len(sys.argv) > 1 else "saved_models/2stems"
    print(f"Spleeter 2stems graph: {benchmark(ckpt):.1f}x real time on 30 s stereo, {os.cpu_count()} cores")
