"""The one channel-layout rule of tfsep: how ``c`` channels become the ``channels`` a model needs, and back.

* More than two channels: 3 to 8 channels are taken in ffmpeg's default
  layout for that count, in WAV/ffmpeg order (3: 2.1, 4: 4.0, 5: 5.0,
  6: 5.1, 7: 6.1, 8: 7.1; :data:`LAYOUTS`), and folded down ITU-R BS.775
  style: ``L = FL + .707 FC + .707 (BL, SL) + .707 BC`` (``R`` alike), LFE
  dropped, divided by the sum of the weights so full scale stays full scale.
  With more than 8 channels no layout is known: ``L`` is the mean of the
  even-numbered channels and ``R`` of the odd-numbered ones
  (:func:`layout_note` says which rule was assumed).
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
        x = x @ fold_down_matrix(c_in)
        if channels == 2:
            return np.ascontiguousarray(x, dtype=np.float32)
    if channels == 1:
        return x.mean(axis=1, keepdims=True, dtype=np.float32)
    return np.ascontiguousarray(np.repeat(x, channels, axis=1), dtype=np.float32)  # mono -> stereo


# ffmpeg's default channel layout for each count (av_channel_layout_default), in file order.
LAYOUTS = {
    3: ("2.1", ("FL", "FR", "LFE")),
    4: ("4.0", ("FL", "FR", "FC", "BC")),
    5: ("5.0", ("FL", "FR", "FC", "BL", "BR")),
    6: ("5.1", ("FL", "FR", "FC", "LFE", "BL", "BR")),
    7: ("6.1", ("FL", "FR", "FC", "LFE", "BC", "SL", "SR")),
    8: ("7.1", ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR")),
}
# (to L, to R) of each speaker in an ITU-R BS.775 style fold-down; the LFE is dropped.
_TO_STEREO = {
    "FL": (1.0, 0.0),
    "FR": (0.0, 1.0),
    "FC": (_SQRT1_2, _SQRT1_2),
    "BC": (_SQRT1_2, _SQRT1_2),
    "LFE": (0.0, 0.0),
    "BL": (_SQRT1_2, 0.0),
    "SL": (_SQRT1_2, 0.0),
    "BR": (0.0, _SQRT1_2),
    "SR": (0.0, _SQRT1_2),
}


def fold_down_matrix(channels: int) -> np.ndarray:
    """``(channels, 2)`` float32 weights from a multichannel layout to stereo (see the module rule)."""
    if channels in LAYOUTS:
        m = np.array([_TO_STEREO[name] for name in LAYOUTS[channels][1]], np.float64)
        return (m / m[:, 0].sum()).astype(np.float32)
    m = np.zeros((channels, 2), np.float32)
    m[0::2, 0] = 1.0 / len(range(0, channels, 2))
    m[1::2, 1] = 1.0 / len(range(1, channels, 2))
    return m


def layout_note(channels: int) -> str:
    """What a fold-down of ``channels`` channels assumed, for a warning."""
    if channels in LAYOUTS:
        name, speakers = LAYOUTS[channels]
        return f"taken as {name} ({' '.join(speakers)}), folded down ITU-style without the LFE"
    return "no known layout: even-numbered channels to the left, odd-numbered to the right"


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
