"""Figures (matplotlib, Agg backend, PNG): score box plots and spectrogram/mask heatmaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .report import stem_order


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def boxplots(rows: list[dict], path, metric: str = "SDR") -> Path | None:
    """Box plots of per-track ``metric`` (median over frames): one panel per stem, one box per method."""
    rows = [r for r in rows if r["metric"] == metric and r["score"] is not None and np.isfinite(r["score"])]
    if not rows:
        return None
    plt = _pyplot()
    stems = stem_order(r["target"] for r in rows)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(
        1, len(stems), figsize=(max(4, 0.7 * len(methods) + 2) * len(stems), 4.5), squeeze=False, sharey=True
    )
    for ax, stem in zip(axes[0], stems):
        data, labels = [], []
        for m in methods:
            vals = [r["score"] for r in rows if r["target"] == stem and r["method"] == m]
            if vals:
                data.append(vals)
                labels.append(m)
        ax.boxplot(data, showmeans=False)
        ax.set_xticks(range(1, len(labels) + 1))
        ax.set_xticklabels(labels, rotation=45, ha="right")
        ax.set_title(stem)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(f"{metric} (dB)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _spec_db(x: np.ndarray, frame_length: int, frame_step: int):
    from ..audio.stft import stft

    x = x[:, None] if x.ndim == 1 else x
    return np.mean(np.abs(stft(x, frame_length, frame_step)), axis=0)


def track_figure(
    mixture,
    estimates: dict,
    references: dict | None,
    sample_rate: int,
    path,
    title: str = "",
    frame_length: int = 2048,
    frame_step: int = 512,
    max_hz: float = 8000.0,
) -> Path:
    """Mixture, then per stem: reference and estimate spectrograms (dB) and the implied mask ``|est|/|mix|``."""
    plt = _pyplot()
    stems = list(estimates)
    cols = 3 if references else 2
    fig, axes = plt.subplots(len(stems) + 1, cols, figsize=(4 * cols, 2.2 * (len(stems) + 1)), squeeze=False)
    mix = _spec_db(mixture, frame_length, frame_step)
    top = int(min(mix.shape[0], max_hz * frame_length / sample_rate))
    extent = [0, len(mixture) / sample_rate, 0, top * sample_rate / frame_length / 1000]
    db = lambda m: 20 * np.log10(m[:top] + 1e-6)  # noqa: E731
    vmax = float(db(mix).max())
    kw = dict(aspect="auto", origin="lower", extent=extent, cmap="magma", vmin=vmax - 80, vmax=vmax)
    axes[0][0].imshow(db(mix), **kw)
    axes[0][0].set_title("mixture")
    for ax in axes[0][1:]:
        ax.axis("off")
    for i, stem in enumerate(stems, start=1):
        est = _spec_db(estimates[stem], frame_length, frame_step)
        c = 0
        if references:
            if stem in references:
                axes[i][c].imshow(db(_spec_db(references[stem], frame_length, frame_step)), **kw)
            axes[i][c].set_title(f"{stem}: reference")
            c += 1
        axes[i][c].imshow(db(est), **kw)
        axes[i][c].set_title(f"{stem}: estimate")
        mask = np.clip(est / (mix + 1e-6), 0, 1)[:top]
        im = axes[i][c + 1].imshow(mask, aspect="auto", origin="lower", extent=extent, cmap="viridis", vmin=0, vmax=1)
        axes[i][c + 1].set_title(f"{stem}: mask")
    for row in axes:
        for ax in row:
            ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=axes[:, -1].tolist(), shrink=0.6, label="mask")
    fig.supxlabel("time (s)")
    fig.supylabel("frequency (kHz)")
    if title:
        fig.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
