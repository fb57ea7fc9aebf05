"""What every ``tfsep`` command shares: one-line errors, exit codes, quiet TensorFlow, readable warnings."""

from __future__ import annotations

import os
import sys

import click

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def error(message: str) -> None:
    """Print ``tfsep: error: message`` on stderr."""
    click.echo(f"tfsep: error: {message}", err=True)


def note_line(message: str) -> None:
    """Print ``tfsep: note: message`` on stderr: something the user should know, not a failure."""
    click.echo(f"tfsep: note: {message}", err=True)


def fail(message: str, code: int = EXIT_FAILED):
    """Print the one-line error and exit with ``code``."""
    error(message)
    sys.exit(code)


def show_warning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` for the CLI: one line a user can read, not the library source line that warned."""
    click.echo(f"tfsep: warning: {message}", err=True)


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up chatter (CPU features, oneDNN): noise to a user."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
