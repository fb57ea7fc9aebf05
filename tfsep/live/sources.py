"""Where live audio comes from: each source yields ``(block (n, C) float32, arrival time or None)``.

``arrival`` is the ``time.monotonic()`` at which a real-time source had
the block's last sample (a sound card's callback, a file played at its
pace); None for a source read as fast as it goes.  A source has
``sample_rate`` and ``channels`` once opened.
"""

from __future__ import annotations

import queue
import struct
import time

import numpy as np

from ..errors import AudioError, TfsepError

RAW_FORMATS = {"s16le": ("<i2", 32768.0), "s32le": ("<i4", 2147483648.0), "f32le": ("<f4", 1.0)}
FORMATS = ("wav", *RAW_FORMATS)


class FileSource:
    """An audio file (any format tfsep reads), in blocks, at its real pace (``paced``) or as fast as possible."""

    def __init__(self, path, block: int, paced: bool):
        from ..audio.io import open_audio

        self.reader = open_audio(path, sample_rate=None, channels=None)
        self.sample_rate, self.channels = self.reader.sample_rate, self.reader.channels
        self.block, self.paced = block, paced
        self.name = str(path)

    def __iter__(self):
        start, fed = time.monotonic(), 0
        for x in self.reader.blocks(self.block):
            fed += len(x)
            if not self.paced:
                yield x, None
                continue
            arrival = start + fed / self.sample_rate  # when a live source would have its last sample
            wait = arrival - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            yield x, arrival

    def close(self):
        self.reader.close()


class PipeSource:
    """Standard input (or any binary stream): a WAV stream or raw little-endian PCM, as it arrives."""

    def __init__(self, stream, block: int, fmt: str | None, sample_rate: int | None, channels: int | None):
        self.stream, self.block = stream, block
        self.name = "standard input"
        head = _read(stream, 12)
        if fmt is None:
            if head[:4] != b"RIFF":
                raise AudioError(
                    "standard input is not a WAV stream: for raw PCM give --format (s16le, s32le or f32le), "
                    "--rate and --channels"
                )
            fmt = "wav"
        if fmt == "wav":
            self.dtype, self.scale, self.sample_rate, self.channels = _wav_header(stream, head)
        else:
            if fmt not in RAW_FORMATS:
                raise TfsepError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
            if not sample_rate or not channels:
                raise TfsepError(f"raw {fmt} on standard input needs --rate and --channels")
            self.dtype, self.scale = RAW_FORMATS[fmt]
            self.sample_rate, self.channels = int(sample_rate), int(channels)
        # Raw PCM: the bytes read to look for a header are the first samples.
        self._head = head if fmt != "wav" else b""

    def __iter__(self):
        width = np.dtype(self.dtype).itemsize * self.channels
        want = self.block * width
        pending = self._head
        while True:
            data = _read(self.stream, want - len(pending))
            pending += data
            if not data and len(pending) < width:
                return
            n = len(pending) // width
            if not n:
                continue
            chunk, pending = pending[: n * width], pending[n * width :]
            x = np.frombuffer(chunk, self.dtype).reshape(n, self.channels).astype(np.float32) / self.scale
            # A pipe's blocks arrive when they arrive: the time they did is their arrival.
            yield x, time.monotonic()
            if not data:
                return

    def close(self):
        pass


def _read(stream, n: int) -> bytes:
    """Up to ``n`` bytes: fewer only at the end of the stream."""
    parts, got = [], 0
    while got < n:
        data = stream.read(n - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _wav_header(stream, head: bytes):
    """Read a WAV stream's chunks up to ``data``: (dtype, scale, sample rate, channels)."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioError("standard input: not a WAV stream (no RIFF/WAVE header)")
    fmt = None
    while True:
        chunk = _read(stream, 8)
        if len(chunk) < 8:
            raise AudioError("standard input: WAV stream ended before its audio data")
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if kind == b"data":
            break
        body = _read(stream, size + (size & 1))
        if kind == b"fmt ":
            fmt = body
    if fmt is None or len(fmt) < 16:
        raise AudioError("standard input: WAV stream without a format chunk")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
        tag = struct.unpack("<H", fmt[24:26])[0]
    if tag == 3 and bits == 32:
        dtype, scale = "<f4", 1.0
    elif tag == 1 and bits in (16, 32):
        dtype, scale = f"<i{bits // 8}", float(2 ** (bits - 1))
    else:
        raise AudioError(
            f"standard input: WAV of {bits}-bit {'float' if tag == 3 else 'PCM'} is not read live "
            "(use 16- or 32-bit PCM, or 32-bit float)"
        )
    if not channels or not rate:
        raise AudioError("standard input: WAV header with 0 channels or a 0 Hz rate")
    return dtype, scale, rate, channels


class DeviceSource:
    """A sound card input through PortAudio (``sounddevice``): blocks as its callback delivers them."""

    def __init__(self, device, block: int, sample_rate: int | None, channels: int | None):
        sd = sounddevice()
        info = device_info(sd, device, "input")
        self.sample_rate = int(sample_rate or info["default_samplerate"])
        self.channels = int(channels or min(2, info["max_input_channels"]) or 1)
        self.name = f"input device {info['name']}"
        self.block = block
        self.queue: queue.Queue = queue.Queue()
        self.overflows = 0

        def callback(indata, frames, when, status):
            if status.input_overflow:
                self.overflows += 1
            self.queue.put((indata.copy(), time.monotonic()))

        try:
            self.device = sd.InputStream(
                device=device,
                samplerate=self.sample_rate,
                channels=self.channels,
                blocksize=block,
                dtype="float32",
                callback=callback,
            )
        except Exception as exc:  # noqa: BLE001 (PortAudio's errors: one line, whatever their class)
            raise TfsepError(f"cannot open {self.name} at {self.sample_rate} Hz, {self.channels} ch: {exc}") from None

    def __iter__(self):
        self.device.start()
        while True:
            try:  # short waits: the main thread comes back to Python often enough to take a Ctrl-C
                x, arrival = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            yield x, arrival

    def close(self):
        self.device.stop()
        self.device.close()


def device_info(sd, device, kind: str) -> dict:
    """PortAudio's description of a device (None: the default one), or one clear error."""
    try:
        return sd.query_devices(device, kind)
    except Exception as exc:  # noqa: BLE001 (ValueError for an unknown name, PortAudioError, ...)
        which = "the default" if device is None else repr(device)
        raise TfsepError(f"no sound card {kind} {which} ({exc}): see tfsep live --list-devices") from None


def sounddevice():
    """The ``sounddevice`` module, or one clear error (not installed, or no PortAudio library)."""
    try:
        import sounddevice as sd
    except ImportError:
        raise TfsepError(
            "sound card input and output need the 'live' extra: pip install 'tfsep[live]' (sounddevice)"
        ) from None
    except OSError as exc:  # sounddevice is there, the PortAudio library is not
        raise TfsepError(
            f"sound cards need the PortAudio library ({exc}): apt-get install libportaudio2, or brew install portaudio"
        ) from None
    return sd
