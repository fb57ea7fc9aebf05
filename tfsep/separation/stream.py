"""Live separation: blocks of audio in, stem blocks out, delayed by a latency fixed up front.

``Separator(...).stream(latency=0.5, sample_rate=44100)`` gives a
:class:`StemStream`.  Each :meth:`~StemStream.process` call returns as many
samples as it was given: the stems of the input ``latency_samples`` earlier
(silence for the stream's first ``latency_samples``), sample-aligned.
:meth:`~StemStream.flush` returns the last ``latency_samples``, so the
concatenated stems are the input's length plus the latency.  Memory and the
work per block stay bounded however long the stream runs.

The windows, and which of their samples are kept, are :mod:`.stream_plan`'s;
the model, options and precision are the Separator's.  An input at another
sample rate is resampled in and out in fixed chunks (soxr), so the blocks'
sizes never change the result.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..audio.arrays import MAX_ARRAY_CHANNELS, check_array_rate, first_non_finite
from ..audio.channels import remix, restore_channels
from ..audio.resampling import RESAMPLE_QUALITY
from ..errors import AudioError, TfsepError
from .stream_plan import StreamPlan

# Resampled streams go through soxr in chunks of this many samples: fixed, so block sizes change nothing.
RESAMPLE_CHUNK = 256
# A longer latency is a typo (milliseconds given as seconds): the output would be silence for that long.
MAX_LATENCY = 60.0


def _seconds(name: str, value) -> float:
    """A positive, finite number of seconds, or one clear error naming the option."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise TfsepError(f"{name} must be a number of seconds, got {value!r}") from None
    if not np.isfinite(seconds) or seconds <= 0:
        raise TfsepError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


class _Windows:
    """The model-rate core: input samples in, final stem samples ``(stems, n, C)`` out, as windows complete."""

    def __init__(self, run, plan: StreamPlan, n_stems: int, channels: int):
        self.run, self.plan = run, plan
        a, b = plan.support
        self.kept = plan.weights[a:b]
        # Input from absolute position `in_start` (window `k`'s first sample); before sample 0: silence.
        self.input = np.zeros((-plan.origin, channels), np.float32)
        self.in_start = plan.origin
        self.tail: list = []  # blocks that came since the last window ran (joined once per window)
        self.count = 0
        self.done = 0  # final samples given out
        self.ready: list = []  # final samples not given out yet
        self.k = 0
        # Weighted sums of the kept regions from `acc_start` (window k's region start) on.
        self.acc = np.zeros((n_stems, b - a, channels), np.float32)
        self.wsum = np.zeros(b - a, np.float32)
        self.acc_start = plan.origin + a

    def push(self, x: np.ndarray) -> np.ndarray:
        """Input samples -> the stem samples that became final (from sample 0 on, in order)."""
        if len(x):
            self.tail.append(x)
            self.count += len(x)
        while self.in_start + self.plan.window <= self.count:
            self._next()
        return self._given()

    def flush(self) -> np.ndarray:
        """The end of the input: run the windows left (on silence past the end) and give every stem sample left."""
        total = self.count
        if not total:
            return np.zeros((0, 0, 0), np.float32)
        for _ in range(self.k, self.plan.windows_to_run(total)):
            self._next()
        # No window comes after these: what is summed is final.
        n = max(0, total - self.acc_start)
        keep = min(n, self.acc.shape[1])
        if keep < n:  # past the last window's region (cannot happen: windows_to_run covers the input)
            raise TfsepError("stream: samples with no window covering them")
        self.ready.append(self._positive(self.acc[:, :keep] / self.wsum[:keep, None], self.acc_start))
        self.acc_start += keep
        return self._given(limit=total)

    def _next(self) -> np.ndarray:
        p = self.plan
        if self.tail:
            self.input = np.concatenate([self.input, *self.tail]) if len(self.input) else np.concatenate(self.tail)
            self.tail = []
        need = p.window - len(self.input)
        seg = self.input[: p.window]
        if need > 0:  # past the end of a flushed stream: silence
            seg = np.concatenate([seg, np.zeros((need, seg.shape[1]), np.float32)])
        stems = self.run(seg)  # (stems, window, C)
        a, b = p.support
        self.acc += stems[:, a:b] * self.kept[:, None]
        self.wsum += self.kept
        # Everything before the next window's region is final.
        h = p.hop
        out = self.acc[:, :h] / self.wsum[:h, None]
        out = self._positive(out, self.acc_start)
        self.acc[:, :-h] = self.acc[:, h:].copy()
        self.acc[:, -h:] = 0.0
        self.wsum[:-h] = self.wsum[h:].copy()
        self.wsum[-h:] = 0.0
        self.acc_start += h
        self.input = self.input[h:]
        self.in_start += h
        self.k += 1
        self.ready.append(out)  # kept here until given: an interrupt in a later window loses nothing

    @staticmethod
    def _positive(out: np.ndarray, start: int) -> np.ndarray:
        """``out`` (from absolute position ``start``) without the positions before sample 0."""
        return out[:, max(0, -start) :] if start < 0 else out

    def _given(self, limit: int | None = None) -> np.ndarray:
        """The final samples not given yet (at most up to sample ``limit``), and forget them."""
        out, self.ready = self._joined(self.ready), []
        if limit is not None and out.size:
            out = out[:, : limit - self.done]
        self.done += out.shape[1] if out.size else 0
        return out

    @staticmethod
    def _joined(outs) -> np.ndarray:
        outs = [o for o in outs if o.shape[1]]
        if not outs:
            return np.zeros((0, 0, 0), np.float32)
        return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=1)


class _Resampler:
    """soxr in fixed chunks: the same output whatever blocks come, and a bounded hold-back."""

    def __init__(self, in_rate: int, out_rate: int, channels: int, chunk: int = RESAMPLE_CHUNK):
        import soxr

        self.ratio = out_rate / in_rate
        self.chunk = chunk
        self.stream = soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality=RESAMPLE_QUALITY)
        self.pending = np.zeros((0, channels), np.float32)
        self.fed = self.given = 0
        # The most output samples soxr holds back behind the input it was fed, measured on a twin (once).
        twin = soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality=RESAMPLE_QUALITY)
        zeros = np.zeros((chunk, channels), np.float32)
        made, worst = 0, 0.0
        for i in range(1, 256):
            made += len(twin.resample_chunk(zeros))
            worst = max(worst, i * chunk * self.ratio - made)
        self.hold_back = int(np.ceil(worst + (chunk - 1) * self.ratio)) + 2  # chunking, soxr, rounding

    def push(self, x: np.ndarray) -> np.ndarray:
        self.pending = np.concatenate([self.pending, x]) if len(self.pending) else x
        n = len(self.pending) // self.chunk * self.chunk
        if not n:
            return np.zeros((0, x.shape[1]), np.float32)
        out = self.stream.resample_chunk(np.ascontiguousarray(self.pending[:n]))
        self.pending = self.pending[n:]
        return out

    def flush(self, channels: int) -> np.ndarray:
        return self.stream.resample_chunk(np.ascontiguousarray(self.pending.reshape(-1, channels)), last=True)


class StemStream:
    """A live separation: :meth:`process` blocks ``(n, C)`` (or ``(n,)``) -> ``{stem: (n, C)}``, then :meth:`flush`.

    Build it with :meth:`tfsep.Separator.stream`.  Attributes:
    ``latency_samples`` (at ``sample_rate``), ``latency`` (seconds),
    ``sample_rate``, ``stems``, ``plan`` (the model-rate
    :class:`~tfsep.separation.stream_plan.StreamPlan`).
    """

    def __init__(self, separator, latency: float, sample_rate: int | None = None, *, window=None, hop=None):
        from .stream_plan import stream_plan

        self.separator = separator
        model_rate = separator.sample_rate
        rate = model_rate if sample_rate is None else sample_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
            raise AudioError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        check_array_rate(rate)
        latency = _seconds("latency", latency)
        if latency > MAX_LATENCY:  # the output would be silence for that long: a typo (ms for s)
            raise TfsepError(f"latency must be at most {MAX_LATENCY:g} s, got {latency:g}")
        self.sample_rate = int(rate)
        self.stems = list(separator.stems)
        self.latency_samples = int(round(latency * self.sample_rate))
        self._resample = self.sample_rate != model_rate
        core_latency = self.latency_samples
        ratio = 1.0
        if self._resample:
            self._in = _Resampler(self.sample_rate, model_rate, separator.channels)
            # Stems and channels travel through one resampler, as channels.
            self._out = _Resampler(model_rate, self.sample_rate, len(self.stems) * separator.channels)
            ratio = model_rate / self.sample_rate
            core_latency = int(self.latency_samples * ratio - self._in.hold_back - self._out.hold_back * ratio - 2)
        opts = separator.options
        window = None if window is None else int(round(_seconds("window", window) * model_rate))
        hop = None if hop is None else max(1, int(round(_seconds("hop", hop) * model_rate)))
        from .stream_plan import MIN_LATENCY

        if core_latency < MIN_LATENCY * model_rate:
            shortest = (MIN_LATENCY * model_rate + self.latency_samples * ratio - core_latency) / model_rate
            raise TfsepError(
                f"latency must be at least {np.ceil(shortest * 100) / 100:g} s for a {self.sample_rate} Hz stream "
                f"(resampling to the model's {model_rate} Hz and back takes part of it), got {latency:g} s"
            )
        self.plan = stream_plan(separator.config, opts.plan, core_latency, window=window, hop=hop)
        if self._resample:  # an offline-equal plan may wait longer than asked: say so in the latency
            extra = self.plan.latency - core_latency
            self.latency_samples += int(np.ceil(extra * self.sample_rate / model_rate))
        else:
            self.latency_samples = max(self.latency_samples, self.plan.latency)
        self.latency = self.latency_samples / self.sample_rate
        self._channels = None  # the input's, fixed by the first block
        self._core = _Windows(self._window_fn(), self.plan, len(self.stems), separator.channels)
        self._fifo: deque = deque()  # stem samples (stems, n, C_out) ready to go out, after the silent start
        self._ready = 0
        self._silence = self.latency_samples  # output samples still owed as the stream's silent start
        self._given = 0  # input samples
        self._made = 0  # stem samples (at sample_rate) put in the fifo
        self._flushed = False

    # -- the model ------------------------------------------------------------------------------

    def _window_fn(self):
        sep, window = self.separator, self.plan.window
        fn = sep._compiled(window)

        def run(seg: np.ndarray) -> np.ndarray:
            from ..console.interrupts import deferred
            from ..errors import ModelError

            with deferred():
                out = fn(seg[None]).numpy()[0]
            if not np.all(np.isfinite(out)):
                raise ModelError(f"model {sep.config['name']} produced non-finite output")
            return out

        return run

    def warm_up(self, calls: int = 3) -> list[float]:
        """Run the model on ``calls`` silent windows now (tracing it), so a live start is not late; their times, s."""
        import time

        run, seg = self._core.run, np.zeros((self.plan.window, self.separator.channels), np.float32)
        times = []
        for _ in range(calls + 1):  # the first call traces: not a time the stream will see
            t = time.perf_counter()
            run(seg)
            times.append(time.perf_counter() - t)
        return times[1:]

    # -- the stream ------------------------------------------------------------------------------

    def process(self, block) -> dict[str, np.ndarray]:
        """Input block ``(n, C)`` or ``(n,)`` -> ``{stem: block}`` of ``n`` samples, ``latency_samples`` behind."""
        if self._flushed:
            raise TfsepError("this stream was flushed: start a new one with Separator.stream()")
        x, squeeze = self._checked(block)
        n = len(x)
        self._given += n
        if n:
            m = remix(x, self.separator.channels)
            if self._resample:
                m = self._in.push(m)
            self._put(self._core.push(m))
        return self._take(n, squeeze)

    def flush(self) -> dict[str, np.ndarray]:
        """End the stream: the last ``latency_samples`` of every stem (the stems of the input's end)."""
        if self._flushed:
            raise TfsepError("this stream was flushed already")
        self._flushed = True
        squeeze = self._channels == 0  # a stream of 1-D blocks gives 1-D stems
        if self._resample:
            self._put(self._core.push(self._in.flush(self.separator.channels)), final=False)
        self._put(self._core.flush(), final=True)
        # The last `latency_samples`; more if a process() call was interrupted before it returned its block.
        return self._take(self._silence + self._ready, squeeze)

    def _checked(self, block):
        x = np.asarray(block)
        if not np.issubdtype(x.dtype, np.floating):
            raise AudioError(f"stream blocks must be floating point samples, got {x.dtype}")
        squeeze = x.ndim == 1
        x = x.astype(np.float32, copy=False)
        if squeeze:
            x = x[:, None]
        if x.ndim != 2 or not 1 <= x.shape[1] <= MAX_ARRAY_CHANNELS:
            raise AudioError(f"stream blocks must have shape (samples, channels) or (samples,), got {np.shape(block)}")
        channels = 0 if squeeze else x.shape[1]
        if self._channels is None:
            self._channels = channels
        elif channels != self._channels:
            raise AudioError(
                f"this stream's blocks have shape {'(n,)' if not self._channels else f'(n, {self._channels})'}: "
                f"got {np.shape(block)} (channels cannot change mid-stream)"
            )
        if not np.isfinite(x).all():
            raise AudioError(
                f"stream block has NaN or Inf samples (first at sample {self._given + first_non_finite(x)} "
                "of the stream)"
            )
        return x, squeeze

    def _put(self, stems: np.ndarray, final: bool = False) -> None:
        """Final stem samples at the model rate -> the fifo, at the stream's rate and channels."""
        if self._resample:
            S, C = len(self.stems), self.separator.channels
            flat = np.transpose(stems, (1, 0, 2)).reshape(stems.shape[1], S * C) if stems.size else None
            out = self._out.push(flat) if flat is not None else np.zeros((0, S * C), np.float32)
            if final:
                out = np.concatenate([out, self._out.flush(S * C)])
                # The exact length: as many stem samples as input samples.
                want = self._given - self._made
                out = out[:want] if len(out) >= want else np.concatenate([out, np.zeros((want - len(out), S * C))])
            stems = np.transpose(out.reshape(len(out), S, C), (1, 0, 2)).astype(np.float32, copy=False)
        if not stems.size:
            return
        self._fifo.append(stems)
        self._ready += stems.shape[1]
        self._made += stems.shape[1]

    def _take(self, n: int, squeeze: bool) -> dict[str, np.ndarray]:
        silence = min(n, self._silence)
        self._silence -= silence
        want = n - silence
        if want > self._ready:
            raise TfsepError(f"stream: {want} stem samples due, {self._ready} ready (a latency too short for its plan)")
        parts = []
        while want:
            head = self._fifo[0]
            k = min(want, head.shape[1])
            parts.append(head[:, :k])
            if k == head.shape[1]:
                self._fifo.popleft()
            else:
                self._fifo[0] = head[:, k:]
            want -= k
            self._ready -= k
        S, C = len(self.stems), self.separator.channels
        if silence or not parts:
            parts.insert(0, np.zeros((S, silence, C), np.float32))
        out = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        c_in = 1 if squeeze else self._channels or 1
        result = {}
        for i, name in enumerate(self.stems):
            y = restore_channels(np.ascontiguousarray(out[i]), c_in)
            result[name] = y[:, 0] if squeeze else y
        return result

    def blocks(self, blocks):
        """Generator form: an iterator of input blocks -> ``{stem: block}`` per block, then the flush's."""
        for block in blocks:
            yield self.process(block)
        yield self.flush()
