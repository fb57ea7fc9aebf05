"""What a training step will need in memory, estimated from the config before anything is built.

A config with absurd sizes (``T: 100000`` frames, a batch of hundreds) used
to pass validation and grow until the kernel killed the process.  The
estimate here counts the U-Nets' activations and their gradients (float32,
as Keras keeps them), which dominate a spectrogram model's step; it is a
floor, not a measurement, so a step that it says cannot fit certainly
cannot.
"""

from __future__ import annotations

import os

from ..errors import ConfigError


def total_memory() -> int | None:
    """Bytes of physical memory of this machine, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def training_frames(cfg: dict) -> int:
    """STFT frames of one training excerpt (``T`` when ``excerpt_seconds`` is null)."""
    seconds = cfg["training"]["excerpt_seconds"]
    return cfg["T"] if seconds is None else max(1, int(round(seconds * cfg["sample_rate"] / cfg["frame_step"])))


def _unet_bytes(filters, batch: int, frames: int, bins: int) -> int:
    # Each encoder level halves time and frequency: conv, norm and activation outputs are kept for the
    # backward pass, and the decoder level of the same size keeps about as much again (with its skip).
    total = 0
    for i, f in enumerate(filters, start=1):
        total += batch * max(1, frames >> i) * max(1, bins >> i) * f * 7
    return total * 4


def training_step_bytes(cfg: dict) -> int | None:
    """About how many bytes one step's activations and gradients take; None for families it does not model."""
    model = cfg["model"]
    params = model.get("params", {})
    batch, frames, bins = cfg["training"]["batch_size"], training_frames(cfg), cfg["F"]
    if model["type"] == "cascade":
        nets = [(params["splitter"], 2.0), (params["first"], 1.0)]  # the frozen first network: no gradients
    elif model["type"] in ("unet", "enhanced_unet", "stacked_unet"):
        copies = len(cfg["stems"]) if params.get("unet_per_stem") else 1
        nets = [(model, 2.0 * copies)]
    else:
        return None
    total = 0.0
    for net, factor in nets:
        filters = net.get("params", {}).get("conv_n_filters")
        if not filters:
            return None
        total += factor * _unet_bytes(filters, batch, frames, bins)
    # The mixture's and the stems' complex spectrograms (float32 pairs).
    total += batch * (len(cfg["stems"]) + 1) * frames * (cfg["frame_length"] // 2 + 1) * cfg["n_channels"] * 8
    return int(total)


def check_training_memory(cfg: dict) -> None:
    """Refuse, before anything is built, a training step that cannot fit in this machine's memory."""
    need, have = training_step_bytes(cfg), total_memory()
    if need is None or have is None or need <= 0.9 * have:
        return
    gb = 1 << 30
    raise ConfigError(
        f"{cfg['name']}: a training step of batch {cfg['training']['batch_size']} x {training_frames(cfg)} frames "
        f"x {cfg['F']} bins needs at least {need / gb:.1f} GB, more than this machine's {have / gb:.1f} GB; "
        "lower training.batch_size, training.excerpt_seconds (or T) or F"
    )
