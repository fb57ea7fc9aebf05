"""Separator: any-length audio -> stems, in overlapping segments.

The input is cut into segments of ``segment`` samples (by default the
model's ``T`` frames, ~11.9 s for Spleeter's models) that overlap by
``overlap`` of their length.  Each segment is separated on its own; the
results are blended with linear crossfades and normalised by the summed
weights, so every output sample is a convex combination of segment outputs
(no seam, exact length, no gain change).  Segments are processed as they
arrive from a block iterator, so memory stays bounded whatever the length of
the input.
"""

from __future__ import annotations

import warnings
from typing import Iterable, Iterator

import numpy as np

from ..audio.channels import remix, restore_channels
from ..audio.io import check_waveform, resample
from ..config import MASK_EXTENSIONS
from ..errors import AudioError, ModelError, TfsepError
from ..models import TfsepModel
from .overlap_add import overlap_add_stream
from .plan import config_plan
from .presets import preset, residual_stem
from .tta import augmented
from .waveform import separation_domain


def select_stems(all_stems, stems, model_name) -> list:
    """The requested subset of ``all_stems`` in model order (all when ``stems`` is empty)."""
    if not stems:
        return list(all_stems)
    unknown = [s for s in stems if s not in all_stems]
    if unknown:
        raise TfsepError(f"model {model_name} has no stem {', '.join(unknown)} (its stems: {', '.join(all_stems)})")
    return [s for s in all_stems if s in stems]


class Separator:
    """Separate waveforms or files into stems with a tfsep model.

    Args:
        model: a model name (``2stems``, ``4stems``, ...), a path to a tfsep
            model directory, a ``TfsepModel``, or None for the default.
        quality: ``fast``, ``default`` or ``best`` (:mod:`.presets`): the
            values of the options below that are left at None.
        segment: segment length in seconds (None: the model's ``T`` frames).
        overlap: overlap of consecutive segments as a fraction of a segment.
        batch_size: segments per model call.
        stems: keep only these stems (names from the model's config).
        wiener_iterations: multichannel Wiener EM iterations applied to the
            masked spectrograms of each segment (0: plain masking).
        mask_extension: ``zeros`` or ``average`` above the model's ``F`` bins.
        residual: a stem name, ``auto`` or ``none``: that stem becomes the
            mixture minus the other stems, so that the stems sum to the mixture.
        shifts: extra passes on delayed copies of each segment, averaged.
        channel_swap: also separate with left and right swapped, and average.
    """

    def __init__(
        self,
        model=None,
        *,
        quality=None,
        segment=None,
        overlap=None,
        batch_size=None,
        stems=None,
        progress=None,
        wiener_iterations=None,
        mask_extension=None,
        residual=None,
        shifts=None,
        channel_swap=None,
    ):
        options = preset(quality)
        _one_op_at_a_time()
        if not isinstance(model, TfsepModel):
            from ..pretrained import load_model

            model = load_model(model)
        self.model = model
        cfg = model.config
        self.sample_rate = cfg["sample_rate"]
        self.channels = cfg["n_channels"]
        self.plan = config_plan(cfg, segment, overlap)
        self.segment, self.overlap, self.hop = self.plan.segment, self.plan.overlap, self.plan.hop
        self.batch_size = int(batch_size or cfg["separation"]["batch_size"])
        if self.batch_size < 1:
            raise TfsepError(f"batch_size must be >= 1, got {self.batch_size}")
        all_stems = list(cfg["stems"])
        self.stems = select_stems(all_stems, stems, cfg["name"])
        self._stem_index = [all_stems.index(s) for s in self.stems]
        self.domain = separation_domain(cfg)
        spectral = self.domain == "spectrogram"

        def pick(value, key):
            return options[key] if value is None else value

        self.mask_extension = pick(mask_extension, "mask_extension") if spectral else None
        if spectral and self.mask_extension not in MASK_EXTENSIONS:
            raise TfsepError(f"mask_extension must be one of {', '.join(MASK_EXTENSIONS)}, got {self.mask_extension!r}")
        # A model config's own mask_extension is what it was trained with; the option overrides it here only.
        self.config = dict(cfg, mask_extension=self.mask_extension) if spectral else cfg
        wiener_iterations = pick(wiener_iterations, "wiener") if spectral else (wiener_iterations or 0)
        self.wiener_iterations = int(wiener_iterations)
        if self.wiener_iterations < 0:
            raise TfsepError(f"wiener_iterations must be >= 0, got {wiener_iterations}")
        if self.wiener_iterations and not spectral:
            raise TfsepError(f"--wiener refines spectrogram masks; model {cfg['name']} separates waveforms directly")
        self.residual = residual_stem(pick(residual, "residual"), all_stems)
        self.shifts = int(pick(shifts, "shifts"))
        if self.shifts < 0:
            raise TfsepError(f"shifts must be >= 0, got {shifts}")
        self.channel_swap = bool(pick(channel_swap, "channel_swap")) and self.channels == 2
        self._fn = None

    # -- model call ---------------------------------------------------------------

    def _compiled(self):
        if self._fn is None:
            import tensorflow as tf

            if self.domain == "waveform":
                from .waveform import WaveformSeparation

                run = WaveformSeparation(self.model.keras_model, self.config)
            else:
                from .spectral import SpectralSeparation

                run = SpectralSeparation(self.model.keras_model, self.config)
                run.wiener_iterations = self.wiener_iterations
            max_shift = min(self.sample_rate // 2, self.segment // 2)
            run = augmented(run, self.segment, self.shifts, max_shift, self.channel_swap)
            n_stems = len(self.config["stems"])
            residual = None if self.residual is None else self.config["stems"].index(self.residual)
            index = tf.constant(self._stem_index)
            # All stems in model order (the usual case): skip the gather's copy.
            every_stem = self._stem_index == list(range(n_stems))

            @tf.function(input_signature=[tf.TensorSpec([None, self.segment, self.channels], tf.float32)])
            def fn(batch):
                stems = run(batch)
                if residual is not None:
                    others = tf.reduce_sum(stems, axis=1) - stems[:, residual]
                    stems = tf.concat(
                        [stems[:, :residual], (batch - others)[:, None], stems[:, residual + 1 :]], axis=1
                    )
                return stems if every_stem else tf.gather(stems, index, axis=1)

            self._fn = fn
        return self._fn

    def _run(self, segments: list[np.ndarray]) -> np.ndarray:
        """Segments (each <= segment samples) -> stems ``(n, stems, segment, C)``."""
        batch = np.zeros((len(segments), self.segment, self.channels), dtype=np.float32)
        for i, seg in enumerate(segments):
            batch[i, : len(seg)] = seg
        out = self._compiled()(batch).numpy()
        if not np.all(np.isfinite(out)):
            raise ModelError(f"model {self.config['name']} produced non-finite output")
        return out

    # -- streaming core ---------------------------------------------------------------

    def iter_separate(self, blocks: Iterable[np.ndarray], on_segment=None) -> Iterator[np.ndarray]:
        """Blocks ``(n, C)`` at the model rate -> stem blocks ``(stems, m, C)`` in order.

        The concatenated output has exactly as many samples as the input.
        ``on_segment(samples_done)`` is called after each batch of segments.
        """
        return overlap_add_stream(
            blocks,
            self._run,
            segment=self.segment,
            hop=self.hop,
            window=self.plan.window,
            n_stems=len(self.stems),
            channels=self.channels,
            batch_size=self.batch_size,
            padding=self.plan.padding,
            on_segment=on_segment,
        )

    # -- in-memory API ------------------------------------------------------------------

    def separate(self, waveform, sample_rate: int) -> dict[str, np.ndarray]:
        """Waveform ``(samples, channels)`` or ``(samples,)`` -> ``{stem: waveform}``, same shape and rate."""
        wave, squeeze = check_waveform(waveform)
        n_in, c_in = wave.shape
        if sample_rate is None or int(sample_rate) <= 0:
            raise AudioError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        sample_rate = int(sample_rate)
        x = _to_model_channels(wave, self.channels)
        if sample_rate != self.sample_rate:
            x = resample(x, sample_rate, self.sample_rate)
        outs = list(self.iter_separate(_chunks(x, 1 << 18)))
        stems = np.concatenate(outs, axis=1)
        result = {}
        for i, name in enumerate(self.stems):
            y = stems[i]
            if sample_rate != self.sample_rate:
                y = _fit_length(resample(y, self.sample_rate, sample_rate), n_in)
            y = restore_channels(y, c_in)
            result[name] = y[:, 0] if squeeze else y
        return result

    def separate_file(self, path, output_dir, **options):
        """Separate one file and write its stems; see ``tfsep.separation.stemfiles.separate_file`` for options."""
        from .stemfiles import separate_file

        return separate_file(self, path, output_dir, **options)


def _one_op_at_a_time() -> None:
    """Let TensorFlow run one op at a time, each on every core, if it has not started yet.

    A separation graph is a chain of big convolutions and FFTs: running two
    at once only makes them fight for the cores (on 2 cores, 40% more time
    per song with TensorFlow's default of several ops at a time).  Once
    TensorFlow runs, its settings can no longer change and are kept.
    """
    import tensorflow as tf

    try:
        if tf.config.threading.get_inter_op_parallelism_threads() == 0:
            tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass


def _chunks(x: np.ndarray, size: int):
    for i in range(0, len(x), size):
        yield x[i : i + size]


def _to_model_channels(x: np.ndarray, channels: int) -> np.ndarray:
    if x.shape[1] > 2:
        warnings.warn(f"downmixing {x.shape[1]} channels to stereo", UserWarning, stacklevel=3)
    return remix(x, channels)


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros((n - len(x), x.shape[1]), x.dtype)])
