"""What tfsep prints while it works, whatever the command.

- :mod:`.quiet`: keeps TensorFlow's start-up notes off stderr (``--verbose`` shows them);
- :mod:`.progress`: a bar on a terminal, plain ``tfsep:`` lines in a log;
- :mod:`.interrupts`: Ctrl-C and SIGTERM raised between model calls, not inside one.
"""
