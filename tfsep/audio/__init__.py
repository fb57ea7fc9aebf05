"""Audio: file I/O (``tfsep.audio.io``), spectral layers and Wiener filtering.

Nothing here imports TensorFlow at package import time.
"""
