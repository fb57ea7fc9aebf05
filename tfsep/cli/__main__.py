"""``python -m tfsep.cli``: the ``tfsep`` command."""

from . import main

main()
