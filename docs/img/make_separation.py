"""Draw docs/img/separation.png: the README's picture of a real separation.

Falcon 69 (The Easton Ellises, the real 6 s excerpt the ``stempeg`` package
ships, CC BY-NC-SA) and the four stems ``4stems-lite`` (MIT) makes of it,
as spectrograms (dB, up to 8 kHz). Run: ``python docs/img/make_separation.py``.
"""

import os
from pathlib import Path

import numpy as np
import stempeg

from tfsep import Separator
from tfsep.audio import io
from tfsep.audio.stft import stft
from tfsep.evaluation.plots import _pyplot


def main():
    path = os.path.join(os.path.dirname(stempeg.__file__), "data", "The Easton Ellises - Falcon 69.stem.mp4")
    x, sr = io.load(path, sample_rate=44100, channels=2)
    panels = {"mixture": x, **Separator("4stems-lite").separate(x, sr)}
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 2.6), sharey=True)
    spec = {k: 20 * np.log10(np.mean(np.abs(stft(v, 2048, 512)), axis=0)[:372] + 1e-6) for k, v in panels.items()}
    vmax = max(float(s.max()) for s in spec.values())
    for ax, (name, s) in zip(axes, spec.items()):
        ax.imshow(
            s, aspect="auto", origin="lower", cmap="magma", vmin=vmax - 80, vmax=vmax, extent=[0, len(x) / sr, 0, 8]
        )
        ax.set_title(name)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("kHz")
    fig.suptitle("Falcon 69 (real music) and the stems tfsep's 4stems-lite makes of it", y=0.99)
    fig.tight_layout()
    out = Path(__file__).with_suffix(".png").with_name("separation.png")
    fig.savefig(out, dpi=72)
    print(out)


if __name__ == "__main__":
    main()
