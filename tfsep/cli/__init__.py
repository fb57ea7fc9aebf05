"""Command line: the ``tfsep`` click group and one module per command.

Thin: parse, call the library, print.  TensorFlow is imported inside the
commands so ``tfsep --help`` stays fast.  Every ``TfsepError``, usage
error and interruption (Ctrl-C, SIGTERM: exit 130) becomes one line on
stderr and a non-zero exit code, never a traceback (:mod:`.common`).  The
demo behind ``make demo`` is :mod:`.demo`.
"""

from __future__ import annotations

import warnings

import click

from .. import __version__
from ..console import quiet as _quiet
from .catalogue import catalogue
from .common import TfsepGroup, show_warning
from .evaluate import evaluate
from .export import export
from .live import live
from .models import models
from .separate import separate
from .train import data, train


@click.group(cls=TfsepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tfsep")
@click.option(
    "-v", "--verbose", is_flag=True, help="Also show TensorFlow's own log lines (start-up, device and XLA notes)."
)
def main(verbose):
    """tfsep: separate music into stems (vocals, drums, bass, other, ...)."""
    warnings.showwarning = show_warning
    _quiet.lean()  # no tfsep command uses what Keras would import scikit-learn and pandas for
    if verbose:
        _quiet.make_verbose()


for _command in (separate, live, catalogue, models, export, train, data, evaluate):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
