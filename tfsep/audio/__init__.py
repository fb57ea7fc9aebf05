"""Audio: file I/O, in-memory arrays, resampling, spectral layers and Wiener filtering.

- :mod:`.probe`: what a file holds, from its header; :mod:`.io`: reading (streaming, whole files, stems);
- :mod:`.writer`: atomic, streaming writing and clip modes; :mod:`.growing`: WAV files playable while they grow;
- :mod:`.codecs`: what tfsep reads and writes, and the tools it needs;
- :mod:`.arrays`: checks on in-memory waveforms; :mod:`.resampling`: soxr rate conversion;
- :mod:`.channels`: the one up/down-mix rule;
- :mod:`.spectral`: STFT and mask layers; :mod:`.stft`: a NumPy STFT; :mod:`.wiener`: Wiener filtering.

Nothing here imports TensorFlow at package import time.
"""
