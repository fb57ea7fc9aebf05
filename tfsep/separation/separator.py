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

from ..audio.arrays import check_array_rate, check_waveform
from ..audio.channels import remix, restore_channels
from ..audio.resampling import resample
from ..console.interrupts import deferred
from ..errors import AudioError, ModelError
from ..models import TfsepModel
from .options import SeparationOptions, separation_options
from .overlap_add import overlap_add_stream
from .precision import building_in, resolve_precision, with_precision
from .presets import preset, with_residual
from .tta import augmented


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
        precision: ``auto``, ``float32`` or ``bfloat16``: the network's arithmetic
            (:mod:`.precision`; ``auto``: bfloat16 where the CPU runs it natively).
        options: a resolved :class:`SeparationOptions` (from
            :func:`separation_options`) instead of the keyword arguments above.
    """

    def __init__(
        self,
        model=None,
        options: SeparationOptions | None = None,
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
        precision=None,
    ):
        preset(quality)  # an unknown preset fails before the model loads
        if not isinstance(model, TfsepModel):
            from ..pretrained import load_model

            if options is None:  # resolved once: separation_options below keeps the answer
                precision = resolve_precision(precision or preset(quality)["precision"])
            # Built in the precision it will run in: no second, float32 copy to convert.
            with building_in(precision if options is None else options.precision):
                model = load_model(model)
        cfg = model.config
        if options is None:
            options = separation_options(
                cfg,
                quality=quality,
                segment=segment,
                overlap=overlap,
                batch_size=batch_size,
                stems=stems,
                wiener_iterations=wiener_iterations,
                mask_extension=mask_extension,
                residual=residual,
                shifts=shifts,
                channel_swap=channel_swap,
                precision=precision,
            )
        #: Every inference option, resolved: the one object the CLI, the catalogue and exports pass around.
        self.options = options
        self.model = with_precision(model, options.precision)
        self.sample_rate = cfg["sample_rate"]
        self.channels = cfg["n_channels"]
        self._stem_index = [cfg["stems"].index(s) for s in options.stems]
        # A model config's own mask_extension is what it was trained with; the option overrides it here only.
        spectral = options.domain == "spectrogram"
        self.config = dict(cfg, mask_extension=options.mask_extension) if spectral else cfg
        self._fns = {}  # segment length -> traced separation

    # The options, as attributes (read-only views of ``options``).
    plan = property(lambda self: self.options.plan)
    segment = property(lambda self: self.options.plan.segment)
    overlap = property(lambda self: self.options.plan.overlap)
    hop = property(lambda self: self.options.plan.hop)
    batch_size = property(lambda self: self.options.batch_size)
    stems = property(lambda self: list(self.options.stems))
    domain = property(lambda self: self.options.domain)
    mask_extension = property(lambda self: self.options.mask_extension)
    wiener_iterations = property(lambda self: self.options.wiener_iterations)
    residual = property(lambda self: self.options.residual)
    shifts = property(lambda self: self.options.shifts)
    channel_swap = property(lambda self: self.options.channel_swap)
    precision = property(lambda self: self.options.precision)

    # -- model call ---------------------------------------------------------------

    def _compiled(self, segment: int | None = None):
        """The separation of a batch ``(B, segment, C)`` -> stems ``(B, stems, segment, C)``, traced once per length.

        ``segment`` defaults to the plan's; a stream's shorter windows make a
        spectrogram model run on that many frames (its convolutions take any
        frame count its strides divide).
        """
        segment = self.segment if segment is None else int(segment)
        if segment not in self._fns:
            self._fns[segment] = self._trace(segment)
        return self._fns[segment]

    def _trace(self, segment: int):
        import tensorflow as tf

        residual = None if self.residual is None else self.config["stems"].index(self.residual)
        if self.domain == "waveform":
            from .waveform import WaveformSeparation

            run = WaveformSeparation(self.model.keras_model, self.config)
        else:
            from .spectral import SpectralSeparation

            config = self.config
            if segment != self.segment:  # T frames of this length: no zero frames padded up to the model's T
                config = dict(config, T=-(-segment // config["frame_step"]))
            run = SpectralSeparation(self.model.keras_model, config)
            run.wiener_iterations = self.wiener_iterations
            run.residual = residual
        max_shift = min(self.sample_rate // 2, segment // 2)
        run = augmented(run, segment, self.shifts, max_shift, self.channel_swap)
        n_stems = len(self.config["stems"])
        index = tf.constant(self._stem_index)
        # All stems in model order (the usual case): skip the gather's copy.
        every_stem = self._stem_index == list(range(n_stems))

        # No AutoGraph: the separation has no tensor-dependent Python control flow, and converting
        # its source (every function it calls) was most of the first call: 1.9 -> 0.4 s (fast).
        @tf.function(input_signature=[tf.TensorSpec([None, segment, self.channels], tf.float32)], autograph=False)
        def fn(batch):
            stems = with_residual(run(batch), batch, residual)
            return stems if every_stem else tf.gather(stems, index, axis=1)

        return fn

    def _run(self, segments: list[np.ndarray]) -> np.ndarray:
        """Segments (each <= segment samples) -> stems ``(n, stems, segment, C)``."""
        batch = np.zeros((len(segments), self.segment, self.channels), dtype=np.float32)
        for i, seg in enumerate(segments):
            batch[i, : len(seg)] = seg
        with deferred():  # a stop signal waits for the model call to end (see console.interrupts)
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

    def separate(self, waveform, sample_rate: int, *, channels_first: bool = False) -> dict[str, np.ndarray]:
        """Waveform ``(samples, channels)`` or ``(samples,)`` -> ``{stem: waveform}``, same shape and rate.

        ``channels_first=True`` takes ``(channels, samples)`` arrays, as
        ``librosa.load(..., mono=False)`` and torchaudio give them, and returns
        the stems in that layout too.
        """
        if channels_first:
            x = np.asarray(waveform)
            if x.ndim != 2:
                raise AudioError(f"channels_first=True needs a (channels, samples) array, got shape {x.shape}")
            stems = self.separate(x.T, sample_rate)
            return {name: np.ascontiguousarray(y.T) for name, y in stems.items()}
        wave, squeeze = check_waveform(waveform)
        n_in, c_in = wave.shape
        if sample_rate is None or int(sample_rate) <= 0:
            raise AudioError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        sample_rate = check_array_rate(int(sample_rate))
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

    def stream(self, latency: float = 0.5, sample_rate: int | None = None, *, window=None, hop=None):
        """A live separation with a fixed ``latency`` in seconds: see :class:`~tfsep.separation.stream.StemStream`.

        ``stream.process(block)`` returns the stems of the input ``latency``
        earlier, as many samples as given; ``stream.flush()`` the last
        ``latency``.  A latency of at least a whole segment gives the stems
        :meth:`separate` gives.  ``window`` and ``hop`` (seconds) override the
        live windows' length and spacing (:mod:`.stream_plan`).
        """
        from .stream import StemStream

        return StemStream(self, latency, sample_rate, window=window, hop=hop)

    def separate_file(self, path, output_dir, **options):
        """Separate one file and write its stems; see ``tfsep.separation.stemfiles.separate_file`` for options."""
        from .stemfiles import separate_file

        return separate_file(self, path, output_dir, **options)


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
