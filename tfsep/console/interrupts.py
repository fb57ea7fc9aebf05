"""Ctrl-C and SIGTERM that land between two model calls, never inside one.

A ``KeyboardInterrupt`` raised by a signal handler while TensorFlow runs
Python code of its own (tracing a function, importing a module lazily) can
come out as another exception and a traceback.  A handler that calls
:func:`interrupt` raises at once, except inside :func:`deferred` sections
(a model call), where the stop is kept and raised as the section ends.
"""

from __future__ import annotations

import contextlib

_depth = 0
_pending: type[BaseException] | None = None


def interrupt(exc_class: type[BaseException]) -> None:
    """From a signal handler: raise ``exc_class`` now, or when the current deferred section ends."""
    global _pending
    if _depth:
        _pending = exc_class
        return
    raise exc_class


@contextlib.contextmanager
def deferred():
    """Within: a stop requested through :func:`interrupt` waits for the end of the section."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending is not None:
            exc, _pending = _pending, None
            raise exc
