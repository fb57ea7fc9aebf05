"""Stopping a training run on SIGINT/SIGTERM between steps, so that its checkpoint is exact."""

from __future__ import annotations

import signal
import threading

from ..console.interrupts import graceful


class StopSignals:
    """SIGINT/SIGTERM during training: the first asks the loop to stop after the current step; a second stops now.

    The loop reads ``received`` between steps, so the checkpoint it then
    writes holds as many updates as its step counter (a Python exception
    raised by the handler lands wherever the interpreter is, typically just
    after a step's weight update and before its step is counted).  A second
    signal raises ``KeyboardInterrupt`` at once, for a user who does not want
    to wait for a long step or validation.  Handlers can only be set in the
    main thread; elsewhere signals keep their own behaviour.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, notify=None):
        self.received = None
        self._notify = notify or (lambda signum: None)
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        self._graceful = graceful()  # the CLI's hard stop leaves the first signal to this loop
        self._graceful.__enter__()
        return self

    def __exit__(self, *exc):
        self._graceful.__exit__(None, None, None)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        return False

    def _handle(self, signum, frame):
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum
        self._notify(signum)
