"""What every ``tfsep`` command shares: one-line errors, exit codes, signals, quiet TensorFlow, readable warnings."""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading

import click

from ..console import interrupts
from ..console.interrupts import interrupt

EXIT_FAILED = 1
EXIT_USAGE = 2
# Ctrl-C and SIGTERM alike: what a shell reports for a job stopped by SIGINT (128 + 2).
EXIT_INTERRUPTED = interrupts.EXIT_INTERRUPTED


def error(message: str) -> None:
    """Print ``tfsep: error: message`` on stderr."""
    click.echo(f"tfsep: error: {message}", err=True)


def note_line(message: str) -> None:
    """Print ``tfsep: note: message`` on stderr: something the user should know, not a failure."""
    click.echo(f"tfsep: note: {message}", err=True)


def status_line(message: str) -> None:
    """Print ``tfsep: message`` on stderr: what is happening (a plain line, fine in a log)."""
    click.echo(f"tfsep: {message}", err=True)


def fail(message: str, code: int = EXIT_FAILED):
    """Print the one-line error and exit with ``code``."""
    if code == EXIT_INTERRUPTED:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        interrupts.announce(message)  # said once, whether this path or the hard stop gets there first
        sys.exit(code)
    error(message)
    sys.exit(code)


def show_warning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` for the CLI: one line a user can read, not the library source line that warned."""
    click.echo(f"tfsep: warning: {message}", err=True)


class FiniteFloat(click.FloatRange):
    """A ``click.FloatRange`` that also refuses ``nan`` and ``inf`` (``float()`` accepts both)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that the same cleanup as for Ctrl-C runs."""


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within: SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) instead of killing the process.

    ``kill PID`` then unwinds like Ctrl-C: temp files are removed, writers
    aborted, and the exit code is :data:`EXIT_INTERRUPTED`.  If that has not
    happened within :data:`~tfsep.console.interrupts.GRACE` seconds (a long
    model call holds the main thread), the hard stop does it
    (:func:`~tfsep.console.interrupts.hard_stop_watch`).  Handlers can be set
    only in the main thread; elsewhere SIGTERM keeps its own behaviour.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        STOP_SIGNALS.append(signum)
        interrupt(Terminated if signum == signal.SIGTERM else KeyboardInterrupt)

    STOP_SIGNALS.clear()  # a new command (tests run several in one process)
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with interrupts.hard_stop_watch():
            yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old if old is not None else signal.SIG_DFL)


# Signals received within sigterm_as_interrupt.  The KeyboardInterrupt a handler raises can land inside
# a library's own code (TensorFlow's), which may turn it into another exception: this says it was a stop.
STOP_SIGNALS: list[int] = []


def stop_requested() -> bool:
    """True once Ctrl-C or SIGTERM has arrived in this command."""
    return bool(STOP_SIGNALS)


class TfsepGroup(click.Group):
    """The ``tfsep`` group: every failure as one ``tfsep: error:`` line and an exit code, never a traceback.

    Usage errors (a bad option value, a missing argument) exit 2 with the
    message and where to read more on one line; Ctrl-C and SIGTERM exit 130.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            with sigterm_as_interrupt():
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            fail(" ".join(exc.format_message().split()) + hint, EXIT_USAGE)
        except click.ClickException as exc:
            fail(" ".join(exc.format_message().split()), exc.exit_code)
        except click.Abort as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, Terminated):
                fail("interrupted (SIGTERM)", EXIT_INTERRUPTED)
            if isinstance(cause, KeyboardInterrupt):
                fail("interrupted", EXIT_INTERRUPTED)
            fail("aborted")
        except KeyboardInterrupt as exc:  # after the command, while click winds down
            fail("interrupted (SIGTERM)" if isinstance(exc, Terminated) else "interrupted", EXIT_INTERRUPTED)
        sys.exit(rv if isinstance(rv, int) else 0)
