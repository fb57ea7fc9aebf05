"""Audio: file I/O, in-memory arrays, resampling, spectral layers and Wiener filtering.

- :mod:`.probe`: what a file holds, from its header; :mod:`.io`: reading (streaming, whole files, stems);
- :mod:`.writer`: atomic, streaming writing and clip modes; :mod:`.growing`: WAV files playable while they grow;
- :mod:`.partials`: the hidden ``.tfsep-partial/`` temp folder (temp names, sweeping, no-clobber moves);
- :mod:`.encoding`: bitrates and encoder settings checked up front; :mod:`.write_errors`: why a write fails;
- :mod:`.codecs`: what tfsep reads and writes, and the tools it needs;
- :mod:`.arrays`: checks on in-memory waveforms; :mod:`.resampling`: soxr rate conversion;
- :mod:`.channels`: the one up/down-mix rule;
- :mod:`.spectral`: STFT and mask layers; :mod:`.stft`: a NumPy STFT; :mod:`.wiener`: Wiener filtering.

Nothing here imports TensorFlow at package import time.
"""
