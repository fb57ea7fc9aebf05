"""Where live stems go: growing stem files, a remix on standard output, a remix on a sound card.

Every sink has ``write(stems: {stem: (n, C)})`` and ``close()``.  The
remix is :class:`Remix`: each stem times its gain (``--gain drums=-6``),
muted (``--mute vocals``: karaoke) or soloed (``--solo bass``), summed.
"""

from __future__ import annotations

import os
import threading
from collections import deque

import numpy as np

from ..audio.growing import GrowingWav
from ..errors import OutputError, TfsepError


class Remix:
    """Stems -> one signal: ``sum(gain[stem] * stem)``; gains from mute, solo and dB settings."""

    def __init__(self, stems, mute=(), solo=(), gains=()):
        stems = list(stems)
        named = list(mute) + list(solo) + [g.partition("=")[0].strip() for g in gains]
        unknown = [s for s in named if s not in stems]
        if unknown:
            raise TfsepError(f"no stem {', '.join(sorted(set(unknown)))} in this model (its stems: {', '.join(stems)})")
        self.gains = {s: 1.0 for s in stems}
        for item in gains:
            name, sep, value = item.partition("=")
            try:
                db = float(value)
            except ValueError:
                db = float("nan")
            if not sep or not np.isfinite(db) or db > 24:
                raise TfsepError(f"--gain takes STEM=DB with DB a number up to +24 (e.g. drums=-6), got {item!r}")
            self.gains[name.strip()] = float(10 ** (db / 20))
        if solo:
            for s in stems:
                if s not in solo:
                    self.gains[s] = 0.0
        for s in mute:
            self.gains[s] = 0.0

    def __call__(self, stems: dict) -> np.ndarray:
        out = None
        for name, y in stems.items():
            g = self.gains.get(name, 0.0)
            if g:
                out = g * y if out is None else out + g * y
        if out is None:
            out = np.zeros_like(next(iter(stems.values())))
        return out.astype(np.float32, copy=False)

    def describe(self) -> str:
        parts = []
        for s, g in self.gains.items():
            if g == 0:
                parts.append(f"{s} muted")
            elif g != 1:
                parts.append(f"{s} {20 * np.log10(g):+.1f} dB")
        return ", ".join(parts) or "all stems"


class StemFiles:
    """One growing WAV per stem in ``folder`` (``<stem>.wav``): playable while written and after a kill."""

    def __init__(self, folder, stems, sample_rate: int, channels: int, subtype="PCM_16", overwrite=False):
        folder = os.fspath(folder)
        paths = {s: os.path.join(folder, f"{s}.wav") for s in stems}
        existing = [p for p in paths.values() if os.path.exists(p)]
        if existing and not overwrite:
            raise OutputError(f"{existing[0]} exists (use --overwrite to replace it)")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create {folder}: {exc.strerror or exc}") from None
        self.folder, self.paths = folder, paths
        self.files = {}
        try:
            for s, p in paths.items():
                self.files[s] = GrowingWav(p, sample_rate, channels, subtype)
        except OutputError:
            self.close()
            raise

    def write(self, stems: dict) -> None:
        for s, f in self.files.items():
            f.write(stems[s])

    def close(self) -> None:
        for f in self.files.values():
            f.close()


class PipeSink:
    """The remix on a binary stream (standard output): a streaming WAV, or raw PCM."""

    def __init__(self, stream, remix: Remix, sample_rate: int, channels: int, fmt: str = "wav"):
        from .sources import RAW_FORMATS

        self.remix, self.stream, self.fmt = remix, stream, fmt
        if fmt == "wav":
            self.wav = GrowingWav(stream, sample_rate, channels, "PCM_16")
        elif fmt in RAW_FORMATS:
            self.wav = None
            self.dtype, self.scale = RAW_FORMATS[fmt]
        else:
            raise TfsepError(f"unknown output format {fmt!r}")

    def write(self, stems: dict) -> None:
        y = self.remix(stems)
        if self.wav is not None:
            self.wav.write(y)
            return
        if self.scale != 1.0:
            y = np.round(np.clip(y, -1.0, 1.0) * (self.scale - 1)).astype(self.dtype)
        try:
            self.stream.write(np.ascontiguousarray(y, self.dtype).tobytes())
            self.stream.flush()
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot write to standard output: {exc}") from None

    def close(self) -> None:
        if self.wav is not None:
            self.wav.close()


class DeviceSink:
    """The remix on a sound card output (``sounddevice``), behind a jitter buffer of ``buffer`` seconds.

    The card pulls samples from a queue in its own thread; when the queue
    runs dry, it plays silence and counts an underrun.
    """

    def __init__(self, device, remix: Remix, sample_rate: int, channels: int, buffer: float):
        from .sources import device_info, sounddevice

        sd = sounddevice()
        self.remix, self.channels = remix, channels
        self.lock = threading.Lock()
        self.queue: deque = deque([np.zeros((int(buffer * sample_rate), channels), np.float32)])
        self.queued = len(self.queue[0])
        self.underruns = 0
        self.started = False

        def callback(outdata, frames, when, status):
            with self.lock:
                filled = 0
                while filled < frames and self.queue:
                    head = self.queue[0]
                    k = min(frames - filled, len(head))
                    outdata[filled : filled + k] = head[:k]
                    if k == len(head):
                        self.queue.popleft()
                    else:
                        self.queue[0] = head[k:]
                    filled += k
                self.queued -= filled
                if filled < frames:
                    outdata[filled:] = 0
                    if self.started:
                        self.underruns += 1

        info = device_info(sd, device, "output")
        try:
            self.device = sd.OutputStream(
                device=device, samplerate=sample_rate, channels=channels, dtype="float32", callback=callback
            )
        except Exception as exc:  # noqa: BLE001 (PortAudio's errors: one line, whatever their class)
            raise TfsepError(f"cannot open output device {info['name']} at {sample_rate} Hz: {exc}") from None

    def write(self, stems: dict) -> None:
        y = self.remix(stems)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[1] != self.channels:
            y = np.repeat(y[:, :1], self.channels, axis=1) if y.shape[1] == 1 else y[:, : self.channels]
        with self.lock:
            self.queue.append(np.ascontiguousarray(y, np.float32))
            self.queued += len(y)
        if not self.started:
            self.device.start()
            self.started = True

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until the card has played what was queued (the end of a file)."""
        import time

        deadline = time.monotonic() + timeout
        while self.started and self.queued > 0 and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        if self.started:
            self.device.stop()
        self.device.close()
