"""Live separation sessions: a source of audio blocks, a stem stream, and where the stems go, in real time.

- :mod:`.sources`: a file (at its real pace or as fast as possible),
  standard input (WAV or raw PCM), a sound card input (``sounddevice``);
- :mod:`.sinks`: stem WAVs that are playable while they grow, a remix on
  standard output or on a sound card (mute, solo, gain per stem);
- :mod:`.session`: the loop between them, its pace, and its figures
  (latency, x real time, late blocks).

The separation itself is :meth:`tfsep.Separator.stream`
(:mod:`tfsep.separation.stream`); ``tfsep live`` is this package's command.
"""

from .session import LiveStats, run_session
from .sinks import Remix, StemFiles

__all__ = ["LiveStats", "Remix", "StemFiles", "run_session"]
