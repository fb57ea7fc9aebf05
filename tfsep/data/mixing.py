"""A mixing engineer's chain for synthetic stems (the ``studio`` profile), on Spotify's ``pedalboard``.

Per part: a high-pass, a few EQ bands, compression, drive on guitars (and
sometimes on bass), stereo width and a room.  On the bus: a linear tone
filter, then glue compression and a limiter computed from the *mixture*
and applied as one gain curve to every stem, so that the stems still sum
exactly to the mixture (a model is trained on that sum).  Every choice is
drawn from the generator it is given.
"""

from __future__ import annotations

import numpy as np

from ..errors import TfsepError

DISTORTED = (29, 30)  # overdriven / distortion guitar
GUITARS = range(24, 32)


def require_pedalboard():
    try:
        import pedalboard
    except ImportError:
        raise TfsepError(
            "the studio synthesis profile needs pedalboard: pip install pedalboard (or tfsep[synth])"
        ) from None
    return pedalboard


def part_chain(rng, stem: str, program: int):
    """The effect chain of one part, drawn for its stem and General MIDI program."""
    pb = require_pedalboard()
    fx = []
    hp = {"drums": (20, 60), "bass": (25, 45), "vocals": (80, 160), "other": (60, 220)}[stem]
    fx.append(pb.HighpassFilter(float(rng.uniform(*hp))))
    if stem == "other" and program in DISTORTED and rng.random() < 0.7:
        # High gain into a cabinet: the GM distortion samples alone are tamer than a metal rhythm guitar.
        fx.append(pb.HighpassFilter(float(rng.uniform(80, 150))))
        fx.append(pb.Distortion(drive_db=float(rng.uniform(10, 30))))
        fx.append(pb.LowpassFilter(float(rng.uniform(4500, 7500))))
    elif stem == "other" and (program in GUITARS) and program not in DISTORTED and rng.random() < 0.35:
        fx.append(pb.Distortion(drive_db=float(rng.uniform(6, 22))))
        fx.append(pb.LowpassFilter(float(rng.uniform(4000, 8000))))  # a guitar cabinet's roll-off
    if stem == "bass" and rng.random() < 0.45:
        # Rock bass is often driven and bright: real stems carry as much energy at 250 Hz-2 kHz
        # (harmonics, pick attack) as at the fundamental; clean GM basses have little there.
        fx.append(pb.Distortion(drive_db=float(rng.uniform(4, 18))))
        fx.append(pb.LowpassFilter(float(rng.uniform(2500, 7000))))
    if stem == "bass" and rng.random() < 0.4:
        fx.append(
            pb.PeakFilter(cutoff_frequency_hz=float(rng.uniform(500, 1600)), gain_db=float(rng.uniform(3, 9)), q=0.8)
        )
    for _ in range(int(rng.integers(1, 4))):
        fx.append(
            pb.PeakFilter(
                cutoff_frequency_hz=float(np.exp(rng.uniform(np.log(80), np.log(9000)))),
                gain_db=float(rng.uniform(-6, 6)),
                q=float(rng.uniform(0.5, 2.5)),
            )
        )
    if rng.random() < 0.5:
        fx.append(pb.HighShelfFilter(float(rng.uniform(5000, 10000)), gain_db=float(rng.uniform(-6, 4))))
    if rng.random() < 0.8:
        fx.append(
            pb.Compressor(
                threshold_db=float(rng.uniform(-28, -10)),
                ratio=float(rng.uniform(2, 6)),
                attack_ms=float(rng.uniform(1, 30)),
                release_ms=float(rng.uniform(40, 250)),
            )
        )
    if stem == "other" and rng.random() < 0.3:
        fx.append(pb.Chorus(rate_hz=float(rng.uniform(0.3, 2)), depth=float(rng.uniform(0.1, 0.4)), mix=0.4))
    room = {"drums": 0.6, "bass": 0.2, "vocals": 0.8, "other": 0.8}[stem]
    if rng.random() < room:
        fx.append(
            pb.Reverb(
                room_size=float(rng.uniform(0.1, 0.85)),
                damping=float(rng.uniform(0.2, 0.8)),
                wet_level=float(rng.uniform(0.04, 0.3)),
                dry_level=1.0,
                width=float(rng.uniform(0.5, 1.0)),
            )
        )
    return pb.Pedalboard(fx)


def place(rng, audio: np.ndarray, sample_rate: int, stem: str) -> np.ndarray:
    """Stereo placement: constant-power pan, and for some parts a Haas-delay width."""
    out = audio.astype(np.float32, copy=True)
    if stem != "bass" and rng.random() < 0.25:
        d = int(sample_rate * rng.uniform(0.008, 0.022))
        side = int(rng.integers(2))
        out[d:, side] = out[:-d, side] if d < len(out) else 0
        out[:d, side] = 0
    spread = {"drums": 0.15, "bass": 0.05, "vocals": 0.1, "other": 0.6}[stem]
    pan = float(np.clip(rng.normal(0, spread), -0.9, 0.9))
    angle = (pan + 1) * np.pi / 4
    return (out * np.array([np.cos(angle), np.sin(angle)], np.float32) * np.sqrt(2)).astype(np.float32)


def process_part(rng, audio: np.ndarray, sample_rate: int, stem: str, program: int) -> np.ndarray:
    """One rendered part through its chain and placement -> float32 ``(samples, 2)``."""
    chain = part_chain(rng, stem, program)
    wet = chain(audio.T.astype(np.float32), sample_rate, reset=True).T
    wet = wet[: len(audio)]
    if len(wet) < len(audio):
        wet = np.concatenate([wet, np.zeros((len(audio) - len(wet), wet.shape[1]), np.float32)])
    return place(rng, np.nan_to_num(wet).astype(np.float32), sample_rate, stem)


def _envelope(x: np.ndarray, sample_rate: int, attack_ms: float, release_ms: float) -> np.ndarray:
    """A peak follower of ``x >= 0``: fast attack, slow release (decimated, then interpolated)."""
    hop = max(1, sample_rate // 1000)
    n = -(-len(x) // hop)
    pad = np.zeros(n * hop, np.float32)
    pad[: len(x)] = x
    blocks = pad.reshape(n, hop).max(axis=1)
    a = np.exp(-1.0 / max(attack_ms, 0.1))
    r = np.exp(-1.0 / max(release_ms, 0.1))
    env = np.empty(n, np.float32)
    level = 0.0
    for i, v in enumerate(blocks):  # n is one value per millisecond: a few thousand steps a song
        coef = a if v > level else r
        level = coef * level + (1 - coef) * v
        env[i] = level
    return np.interp(np.arange(len(x)) / hop, np.arange(n), env).astype(np.float32)


def bus(rng, stems: dict[str, np.ndarray], sample_rate: int) -> tuple[dict[str, np.ndarray], dict]:
    """Bus tone, glue compression and limiting, applied alike to every stem; returns stems and settings."""
    pb = require_pedalboard()
    settings = {}
    tone = []
    if rng.random() < 0.5:
        settings["low_shelf_db"] = float(rng.uniform(-3, 3))
        tone.append(pb.LowShelfFilter(120.0, gain_db=settings["low_shelf_db"]))
    if rng.random() < 0.5:
        settings["high_shelf_db"] = float(rng.uniform(-4, 3))
        tone.append(pb.HighShelfFilter(8000.0, gain_db=settings["high_shelf_db"]))
    if rng.random() < 0.3:
        settings["lowpass_hz"] = float(rng.uniform(14000, 19000))  # a lossy encoder's band limit
        tone.append(pb.LowpassFilter(settings["lowpass_hz"]))
    if tone:  # linear filters: filtering each stem is filtering the sum
        board = pb.Pedalboard(tone)
        stems = {s: board(a.T, sample_rate, reset=True).T[: len(a)].astype(np.float32) for s, a in stems.items()}
    mix = np.sum(list(stems.values()), axis=0)
    peak = np.max(np.abs(mix), axis=1)
    gain = np.ones(len(mix), np.float32)
    if rng.random() < 0.8:
        thr = float(np.quantile(peak, 0.9)) * float(rng.uniform(0.3, 0.8)) + 1e-9
        ratio = float(rng.uniform(1.5, 4))
        env = _envelope(peak, sample_rate, float(rng.uniform(5, 30)), float(rng.uniform(80, 300)))
        over = np.maximum(env / thr, 1.0)
        gain = over ** (1 / ratio - 1)
        settings.update(bus_threshold=thr, bus_ratio=ratio)
    limited = peak * gain
    ceiling = float(np.max(limited)) * float(rng.uniform(0.5, 0.9)) + 1e-9
    env = _envelope(limited, sample_rate, 0.5, 60)
    gain = gain * np.minimum(1.0, ceiling / np.maximum(env, 1e-9))
    gain = gain.astype(np.float32)[:, None]
    return {s: (a * gain).astype(np.float32) for s, a in stems.items()}, settings
