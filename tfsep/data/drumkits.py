"""Hydrogen drum kits: recorded drum samples played from a synthetic song's drum events.

Debian's ``hydrogen-drumkits`` (GPL-2+, CC BY, CC BY-SA 3.0 and CC0 per kit;
see ``/usr/share/doc/hydrogen-drumkits/copyright``) holds a dozen kits of
miked acoustic and electronic drums, several with velocity layers and room
microphones.  Each kit is a folder with ``drumkit.xml`` (instruments, their
velocity layers and sample files) and the samples.  This module maps the
General MIDI drum notes that :mod:`tfsep.data.compose` writes to a kit's
instruments by name (kick, snare, hats, toms, cymbals), picks a layer by
velocity, and mixes the samples at the events' times, with an open hi-hat
choked by the next closed or pedal hat, as a drummer's foot does.

Kits without a kick, a snare and a hi-hat (hand percussion, djembes) are left
out.  Nothing here runs unless a song asks for a Hydrogen kit.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..errors import TfsepError

KIT_ROOTS = ("/usr/share/hydrogen/data/drumkits",)

# GM note -> the role it plays; roles are found in a kit by instrument name.
NOTE_ROLES = {
    35: "kick",
    36: "kick",
    37: "stick",
    38: "snare",
    40: "snare",
    41: "tom_low",
    43: "tom_low",
    45: "tom_low",
    47: "tom_mid",
    48: "tom_mid",
    50: "tom_high",
    42: "hat_closed",
    44: "hat_pedal",
    46: "hat_open",
    49: "crash",
    57: "crash",
    51: "ride",
}
# Where a kit lacks a role, the nearest one it has plays instead.
FALLBACK = {
    "stick": ("snare",),
    "tom_low": ("tom_mid", "tom_high", "snare"),
    "tom_mid": ("tom_low", "tom_high", "snare"),
    "tom_high": ("tom_mid", "tom_low", "snare"),
    "hat_pedal": ("hat_closed",),
    "hat_open": ("hat_closed",),
    "crash": ("ride", "hat_open", "hat_closed"),
    "ride": ("crash", "hat_closed"),
}
REQUIRED = ("kick", "snare", "hat_closed")


def _role(name: str) -> str | None:
    """The drum role an instrument's name says it plays, or None."""
    n = name.lower()
    words = set(re.findall(r"[a-z0-9]+", n))
    hat = "hat" in n or "hh" in words or "ohh" in words
    if "kick" in n or "bass drum" in n or "bassdrum" in n:
        return "kick"
    if hat:
        if "semi" in n or "swish" in n or "choke" in n or "free" in n or "side" in words:
            return None
        if "pedal" in n or "pd" in words:
            return "hat_pedal"
        if "open" in n or "op" in words or "ohh" in words:
            return "hat_open"
        if "clos" in n or "cl" in words or "hh" in words:
            return "hat_closed"
        return None
    if "tom" in words or n.startswith("tom"):
        if "floor" in n or "low" in n:
            return "tom_low"
        if "hi" in words or "high" in n or "1" in words:
            return "tom_high"
        return "tom_mid"
    if "snare" in n:
        return None if ("rim" in n or "roll" in n) else "snare"
    if "stick" in words or "rim" in words:
        return "stick"
    if "crash" in n and "ride" not in n and "bell" not in n:
        return "crash"
    if "ride" in n and "bell" not in n and "cup" not in n and "crash" not in n:
        return "ride"
    return None


def _child(el, tag: str):
    for c in el:
        if c.tag.split("}")[-1] == tag:
            return c
    return None


def _text(el, tag: str, default=None):
    c = _child(el, tag)
    return c.text if c is not None and c.text is not None else default


def parse_kit(folder) -> dict:
    """``{"name", "path", "roles": {role: [(min_vel, max_vel, gain, file), ...]}}`` from ``drumkit.xml``.

    Of several instruments for a role the first in the kit wins (kits list
    their main kick, snare, hat first).  Velocities are in [0, 1].
    """
    folder = Path(folder)
    root = ET.parse(folder / "drumkit.xml").getroot()
    roles: dict[str, list] = {}
    for inst in root.iter():
        if inst.tag.split("}")[-1] != "instrument":
            continue
        role = _role(_text(inst, "name", "") or "")
        if role is None or role in roles:
            continue
        volume = float(_text(inst, "volume", 1.0))
        layers = []
        for el in inst.iter():
            if el.tag.split("}")[-1] == "layer" and _text(el, "filename"):
                layers.append(
                    (
                        float(_text(el, "min", 0.0)),
                        float(_text(el, "max", 1.0)),
                        volume * float(_text(el, "gain", 1.0)),
                        folder / _text(el, "filename"),
                    )
                )
        if not layers and _text(inst, "filename"):  # the old format: one sample per instrument
            layers.append((0.0, 1.0, volume, folder / _text(inst, "filename")))
        layers = [lay for lay in layers if lay[3].is_file()]
        if layers:
            roles[role] = sorted(layers)
    return {"name": _text(root, "name", folder.name), "path": str(folder), "roles": roles}


def available_kits(roots=None) -> list[str]:
    """Folders of the installed Hydrogen kits that can play a drum kit part (kick, snare, hat)."""
    found = []
    for root in KIT_ROOTS if roots is None else roots:
        for xml in sorted(Path(root).glob("*/drumkit.xml")):
            try:
                kit = parse_kit(xml.parent)
            except (ET.ParseError, OSError, ValueError):
                continue
            if all(r in kit["roles"] for r in REQUIRED):
                found.append(str(xml.parent))
    return found


@functools.lru_cache(maxsize=256)
def _sample(path: str, sample_rate: int) -> np.ndarray:
    """One sample file as float32 ``(samples, 2)`` at ``sample_rate`` (tfsep's reader: its channel rule, soxr)."""
    from ..audio import io as audio_io

    try:
        audio, _ = audio_io.load(path, sample_rate=sample_rate, channels=2)
    except TfsepError as exc:
        raise TfsepError(f"{path}: cannot read this drum sample ({exc})") from None
    return audio


def _layer(layers: list, velocity: float, rng):
    """The layer for ``velocity`` (in [0, 1]); where layers overlap, one drawn at random."""
    hits = [lay for lay in layers if lay[0] <= velocity <= lay[1]]
    if not hits:
        hits = [min(layers, key=lambda lay: min(abs(lay[0] - velocity), abs(lay[1] - velocity)))]
    return hits[int(rng.integers(len(hits)))]


def render(kit_folder, events, tempo_bpm: float, tpb: int, n: int, sample_rate: int, rng) -> np.ndarray:
    """The drum events ``(start_tick, end_tick, note, velocity)`` played on a Hydrogen kit -> ``(n, 2)`` float32."""
    kit = _parsed(str(kit_folder))
    out = np.zeros((n, 2), np.float32)
    sec_per_tick = 60.0 / tempo_bpm / tpb
    starts = []
    for start, _end, note, vel in sorted(events):
        role = NOTE_ROLES.get(int(note))
        if role is None:
            continue
        if role not in kit["roles"]:
            role = next((r for r in FALLBACK.get(role, ()) if r in kit["roles"]), None)
            if role is None:
                continue
        starts.append((int(round(start * sec_per_tick * sample_rate)), role, float(vel) / 127.0))
    hat_closes = [s for s, r, _ in starts if r in ("hat_closed", "hat_pedal")]
    fade = int(0.012 * sample_rate)
    for s, role, v in starts:
        if s >= n:
            continue
        _lo, _hi, gain, path = _layer(kit["roles"][role], v, rng)
        x = _sample(str(path), sample_rate)
        stop = min(n, s + len(x))
        if role == "hat_open":  # choked by the next closed/pedal hat
            nxt = next((c for c in hat_closes if c > s), None)
            if nxt is not None:
                stop = min(stop, nxt + fade)
        seg = x[: stop - s] * np.float32(gain * (0.25 + 0.75 * v))
        if role == "hat_open" and stop - s < len(x):
            k = min(fade, len(seg))
            seg = seg.copy()
            seg[len(seg) - k :] *= np.linspace(1.0, 0.0, k, dtype=np.float32)[:, None]
        out[s:stop] += seg
    return out


@functools.lru_cache(maxsize=32)
def _parsed(folder: str) -> dict:
    return parse_kit(folder)
