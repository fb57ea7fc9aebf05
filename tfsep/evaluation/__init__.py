"""Scoring separation methods the way the field does.

- :mod:`.runner`: :func:`evaluate` (``tfsep evaluate``): any method on any
  dataset, resumable, in parallel; :func:`resolve_method` names -> methods;
- :mod:`.metrics`: BSS Eval v4 (museval), mir_eval's ``bss_eval_sources``, the fast global SDR;
- :mod:`.report`: per-track JSON, ``scores.csv`` and the Markdown table;
- :mod:`.plots`: box plots and spectrogram/mask figures.
"""

from .runner import evaluate, resolve_method

__all__ = ["evaluate", "resolve_method"]
