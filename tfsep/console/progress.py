"""Progress for long work: a bar on a terminal, plain ``tfsep:`` lines in a log.

A tqdm bar redraws itself with carriage returns; written to a file or a
pipe that is a wall of ``\\r`` noise.  :func:`progress` gives a tqdm bar
when stderr is a terminal and otherwise a :class:`LineProgress` with the
same ``update``/``set_postfix``/``write``/``close`` methods, which prints
one line every ``every`` units and at the end.
"""

from __future__ import annotations

import sys
import time


def stderr_is_terminal() -> bool:
    """True when stderr is a terminal (where a progress bar belongs), not a log or a pipe."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class LineProgress:
    """Progress as ``tfsep: DESC: N/TOTAL UNIT (P%), RATE, ETA, postfix`` lines, one every ``every`` units."""

    def __init__(self, total: int, desc: str, unit: str, *, initial: int = 0, every: int = 1):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = self.last = self.start_n = initial
        self.every = max(1, int(every))
        self.start = time.perf_counter()
        self.postfix: dict = {}

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n - self.last >= self.every or (self.total and self.n >= self.total):
            self._line()

    def set_postfix(self, refresh: bool = False, **values) -> None:
        self.postfix = values

    def write(self, message: str) -> None:
        print(f"tfsep: {message.strip()}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.n != self.last:
            self._line()

    def _line(self) -> None:
        self.last = self.n
        elapsed = time.perf_counter() - self.start
        done = self.n - self.start_n
        parts = [f"{self.n}/{self.total} {self.unit}s" + (f" ({100 * self.n / self.total:.0f}%)" if self.total else "")]
        if done > 0 and elapsed > 0:
            rate = done / elapsed
            parts.append(f"{rate:.2f} {self.unit}s/s" if rate >= 1 else f"{1 / rate:.2f} s/{self.unit}")
            if self.total and self.n < self.total:
                parts.append(f"ETA {_duration((self.total - self.n) / rate)}")
        parts += [f"{k} {v}" for k, v in self.postfix.items()]
        print(f"tfsep: {self.desc}: " + ", ".join(parts), file=sys.stderr, flush=True)


def progress(total: int, desc: str, unit: str, *, initial: int = 0, enabled: bool = True, every: int = 1):
    """A tqdm bar on a terminal, :class:`LineProgress` elsewhere, a silent bar when not ``enabled``."""
    from tqdm import tqdm

    if enabled and not stderr_is_terminal():
        return LineProgress(total, desc, unit, initial=initial, every=every)
    return tqdm(total=total, initial=initial, unit=unit, desc=desc, disable=not enabled, dynamic_ncols=True)
