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
