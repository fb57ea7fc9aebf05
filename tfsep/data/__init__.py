"""Training and evaluation data: multitrack songs in, tf.data batches out.

- :mod:`.datasets`: MUSDB18 / MUSDB18-HQ (musdb) and stem folders as :class:`~.datasets.Track` lists;
- :mod:`.synth`: synthetic multitrack songs rendered with FluidSynth (composed by
  :mod:`.compose_basic` or :mod:`.compose`, rendered to stems by :mod:`.render`);
- :mod:`.pipeline`: decoded-once stem cache, random excerpts, remixing, the tf.data pipeline;
- :mod:`.augment`: per-stem gain, channel swap, pitch shift and time stretch.
"""
