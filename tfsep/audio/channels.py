"""The one channel-layout rule of tfsep: how ``c`` channels become the ``channels`` a model needs, and back.

* More than two channels: a 6-channel signal is taken as 5.1 in WAV/ffmpeg
  order (FL FR FC LFE BL BR) and folded ITU-style, ``L = FL + .707 FC + .707
  BL`` (``R`` alike), LFE dropped, divided by 2.414 so full scale stays full
  scale; any other layout gives ``L`` = mean of the even-numbered channels
  and ``R`` = mean of the odd-numbered ones.
* Mono output is the mean of the (folded) stereo signal; mono input is
  duplicated for stereo output.
* Stems come back in the input's layout (:func:`output_channels`): mono for
  a mono input, stereo for any other (a mono model's stems duplicated).

File reading, in-memory separation and training data all use :func:`remix`;
:func:`restore_channels` maps stems back to the caller's layout.
"""

import numpy as np

_SQRT1_2 = 0.70710677


def remix(x: np.ndarray, channels: int) -> np.ndarray:
    """Map ``(n, c)`` float32 to ``(n, channels)`` by the rule above (``x`` itself when ``c == channels``)."""
    c_in = x.shape[1]
    if c_in == channels:
        return x
    if c_in > 2:
        if c_in == 6:
            c = _SQRT1_2 * x[:, 2]
            x = np.stack([x[:, 0] + c + _SQRT1_2 * x[:, 4], x[:, 1] + c + _SQRT1_2 * x[:, 5]], axis=1) / np.float32(
                1 + 2 * _SQRT1_2
            )
        else:
            x = np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1)
        if channels == 2:
            return np.ascontiguousarray(x, dtype=np.float32)
    if channels == 1:
        return x.mean(axis=1, keepdims=True, dtype=np.float32)
    return np.ascontiguousarray(np.repeat(x, channels, axis=1), dtype=np.float32)  # mono -> stereo


def output_channels(input_channels: int) -> int:
    """Channels of the stems of an input with ``input_channels``: 1 for mono, else 2 (more are downmixed)."""
    return 1 if int(input_channels) == 1 else 2


def restore_channels(y: np.ndarray, channels: int) -> np.ndarray:
    """Stems ``(n, c)`` computed on a remixed input back to the layout of an input of ``channels`` channels.

    A mono input gets mono stems (the mean); a stereo or multichannel input
    gets stereo stems: a stereo model's as they are, a mono model's duplicated.
    """
    want = output_channels(channels)
    if y.shape[1] == want:
        return y
    if want == 1:
        return y.mean(axis=1, keepdims=True)
    return remix(y, want)
