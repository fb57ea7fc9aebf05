"""Waveform models as separation functions: the waveform counterpart of ``spectral.SpectralSeparation``.

``separation_domain(config)`` says which of the two a config's model needs;
``WaveformSeparation(model, config)`` has ``SpectralSeparation``'s call
signature and output layout, so the Separator can use either.
"""

from __future__ import annotations

from ..errors import TfsepError

# Model types whose Keras model maps waveform (B, L, C) -> stems (B, S, L, C).
WAVEFORM_TYPES = ("wave_unet", "demucs")


def separation_domain(config: dict) -> str:
    """``'waveform'`` for waveform models (Wave-U-Net, Demucs-style), else ``'spectrogram'``."""
    return "waveform" if config["model"]["type"] in WAVEFORM_TYPES else "spectrogram"


def valid_length(config: dict, length: int) -> int:
    """Samples a waveform model computes on for an input of ``length`` samples (>= length)."""
    mtype = config["model"]["type"]
    params = config["model"]["params"]
    if mtype == "wave_unet":
        from ..models.wave_unet import valid_length as fn
    elif mtype == "demucs":
        from ..models.demucs import valid_length as fn
    else:
        raise TfsepError(f"model type {mtype!r} is not a waveform model")
    return fn(params, int(length))


class WaveformSeparation:
    """Waveform segments ``(B, L, C)`` -> stems ``(B, stems, L, C)`` through a waveform model.

    The zoo's waveform models take any length: they zero-pad their input at
    the end to their valid length (the length their strided layers
    round-trip exactly: a multiple of 2**depth for Wave-U-Net, Demucs' valid
    length, see ``valid_length``) and crop their output back.  The padding is
    inside the model, after Demucs' mixture normalisation, so that the
    padding zeros never change the statistics the stems are scaled by; here
    the output is cropped to ``L`` once more, so a model that returns more
    samples than it was given still fits.  Context beyond a segment comes
    from the Separator's overlapping segments, as for spectrogram models.
    """

    def __init__(self, model, config):
        if separation_domain(config) != "waveform":
            raise TfsepError(f"model type {config['model']['type']!r} is a spectrogram model: use SpectralSeparation")
        self.model = model
        self.config = config
        self.n_stems = len(config["stems"])
        self.n_channels = config["n_channels"]
        self._wiener_iterations = 0

    @property
    def wiener_iterations(self):
        return self._wiener_iterations

    @wiener_iterations.setter
    def wiener_iterations(self, value):
        # Kept so that the Separator can treat both separations alike; Wiener
        # filtering refines spectrogram masks, which a waveform model has not.
        if value:
            raise TfsepError(
                f"Wiener filtering needs a spectrogram model; {self.config['name']} "
                f"({self.config['model']['type']}) outputs waveforms: use wiener_iterations=0"
            )
        self._wiener_iterations = 0

    def __call__(self, waveform):
        """Waveform ``(B, L, C)`` -> stems ``(B, stems, L, C)``."""
        import tensorflow as tf

        waveform = tf.convert_to_tensor(waveform, tf.float32)
        length = tf.shape(waveform)[1]
        stems = self.model(waveform, training=False)
        return stems[:, :, :length, :]
