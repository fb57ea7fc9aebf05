"""The live loop: source blocks through a stem stream into the sinks, with its figures kept as it goes.

A block is *late* when its stems were ready after its arrival plus the
session's jitter buffer: a sound card playing them would have run dry
(a block that arrives late from its source is not the separation's fault
and is not counted).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

# The least compute buffer: threads and the OS scheduler take a few milliseconds now and then.
MIN_BUFFER = 0.05


def measured_buffer(stream) -> float:
    """The compute buffer a live session keeps: twice the slowest of a few model calls, at least 50 ms.

    (1.5 times left one block in about 1600 late over 5 minutes of 2stems at 0.5 s: bench/live_speed.py.)
    """
    return max(MIN_BUFFER, round(2.0 * max(stream.warm_up()), 3))


@dataclass
class LiveStats:
    """What a session did: blocks, late ones, seconds of audio in, seconds spent, per-block compute times."""

    sample_rate: int
    blocks: int = 0
    late: int = 0
    samples: int = 0
    busy: float = 0.0
    started: float = field(default_factory=time.monotonic)
    times: list = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate

    @property
    def x_real_time(self) -> float:
        """Seconds of audio separated per second of compute."""
        return self.seconds / self.busy if self.busy else float("inf")

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.times, q)) if self.times else 0.0

    def line(self, latency: float) -> str:
        speed = f"{self.x_real_time:.1f}x real time" if self.busy else "-"
        m, s = divmod(self.seconds, 60)
        return f"live {int(m)}:{s:04.1f} · latency {latency:.2f} s · {speed} · late blocks {self.late}"


def run_session(stream, source, sinks, *, buffer: float = 0.0, on_status=None, status_every: float = 0.5, stats=None):
    """Feed ``source`` through ``stream`` into ``sinks`` until the source ends or Ctrl-C; returns :class:`LiveStats`.

    The stream is flushed at the end (its last ``latency`` of stems go out
    too), also when the session is stopped by a KeyboardInterrupt, which is
    then raised again once the sinks have everything.  ``stats``: a
    :class:`LiveStats` to fill (it then holds the figures also after a stop).
    """
    stats = LiveStats(stream.sample_rate) if stats is None else stats
    next_status = time.monotonic() + status_every
    stopped = None
    try:
        for block, arrival in source:
            t = time.perf_counter()
            stems = stream.process(block)
            for sink in sinks:
                sink.write(stems)
            done = time.perf_counter()
            stats.times.append(done - t)
            stats.busy += done - t
            stats.blocks += 1
            stats.samples += len(block)
            if arrival is not None and time.monotonic() > arrival + buffer:
                stats.late += 1
            if on_status is not None and time.monotonic() >= next_status:
                on_status(stats)
                next_status = time.monotonic() + status_every
    except KeyboardInterrupt as exc:
        stopped = exc
    tail = stream.flush()
    for sink in sinks:
        sink.write(tail)
    if stopped is not None:
        raise stopped
    return stats
