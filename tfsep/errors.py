"""Exceptions with messages a user can act on.

Library code raises these; the CLI prints ``str(error)`` as one line on
stderr and exits non-zero.
"""


class TfsepError(Exception):
    """Base class of every error tfsep raises on purpose."""


class AudioError(TfsepError):
    """An audio file cannot be read or written, or its content is unusable."""


class ConfigError(TfsepError):
    """A configuration file or value is invalid."""


class ModelError(TfsepError):
    """A model cannot be found, built, loaded or converted."""


class OutputError(TfsepError):
    """An output cannot be written where asked (exists, unwritable, outside OUTDIR)."""


def error_gist(text, limit: int = 300) -> str:
    """A multi-line message (TensorFlow's carry the Python stack of the graph's node) as its one telling line.

    That is the last line that is not stack or node bookkeeping; at most ``limit`` characters.
    """
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    telling = [line for line in lines if not line.startswith(("File ", "[[", "Detected at node", "Traceback"))]
    line = " ".join((telling or lines or [""])[-1].split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def internal_error(where, exc) -> str:
    """``WHERE: internal error: Type: gist``: a failure tfsep did not foresee, on one line."""
    return f"{where}: internal error: {type(exc).__name__}: {error_gist(exc)}"
