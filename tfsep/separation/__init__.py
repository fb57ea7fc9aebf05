"""Separation: any-length audio -> stems with a model, in overlapping segments.

- :mod:`.options`: every inference option checked against a model config
  (before the model loads);
- :mod:`.plan`: segment length, hop and crossfade window (one plan for the
  local, SavedModel and TF Serving paths);
- :mod:`.overlap_add`: the streaming overlap-add loop;
- :mod:`.spectral` / :mod:`.waveform`: a spectrogram or waveform model as a
  ``segments -> stems`` function;
- :mod:`.separator`: :class:`Separator`, the in-memory and streaming API;
- :mod:`.stemfiles`: one file in, one file per stem out; :mod:`.outputs`: their names;
  :mod:`.output_format`: stems at the input's rate and layout; :mod:`.stem_sink`: writing,
  clipping and the all-or-nothing commit; :mod:`.disk_space`: refusing a track that cannot fit.

TensorFlow is imported only when a model first runs.
"""

from .options import SeparationOptions, select_stems, separation_options
from .overlap_add import overlap_add_stream
from .plan import SegmentPlan, config_plan, crossfade_window, make_plan
from .separator import Separator

__all__ = [
    "SegmentPlan",
    "SeparationOptions",
    "Separator",
    "config_plan",
    "crossfade_window",
    "make_plan",
    "overlap_add_stream",
    "select_stems",
    "separation_options",
]
