"""Composed songs rendered to stem audio: a sound source per part, FluidSynth, levels, mixing.

``basic``: one part per stem on one soundfont, no effects.  ``studio``:
arranged parts (:mod:`tfsep.data.compose`), each on a sound source drawn
from the installed soundfonts and drum kits, through a mixing chain per part
and on the bus (:mod:`tfsep.data.mixing`).  Every random draw comes from the
song's generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .compose import TPB
from .compose_basic import DRUM_KITS, compose
from .fluidsynth import render_stem, write_midi

# Sound sources the ``studio`` profile draws from per part, where installed
# (Debian: fluid-soundfont-gm, musescore-general-soundfont, timgm6mb-soundfont,
# avldrums.lv2-soundfont).  The AVL kits are sampled acoustic drum kits laid
# out on General MIDI notes as one bank-0 preset, so they play on channel 0.
GM_SOURCES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)
KIT_SOURCES = (
    "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
    "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2",
)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros((n - len(x), x.shape[1]), np.float32)])


def render_basic(rng, seconds, stems, tmp, n, sample_rate, fluidsynth, soundfont):
    """The ``basic`` profile: one part per stem, one soundfont, no effects."""
    song = compose(rng, seconds)
    audio = {}
    for s in stems:
        channel = 9 if s == "drums" else 0
        mid = tmp / "midi" / f"{s}.mid"
        write_midi(mid, song["notes"][s], song["tempo"], channel, song["programs"][s], song["pans"][s])
        raw = _fit(render_stem(mid, tmp / f".{s}.render.wav", sample_rate, fluidsynth, soundfont), n)
        (tmp / f".{s}.render.wav").unlink()
        audio[s] = _at_level(raw, song["levels_db"][s])
    return audio, {k: v for k, v in song.items() if k != "notes"}


def _at_level(x: np.ndarray, level_db: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    gain = 0.1 * 10 ** (level_db / 20) / rms if rms > 1e-6 else 1.0
    return (x * gain).astype(np.float32)


def studio_sources() -> tuple[list[str], list[str]]:
    """The installed General MIDI soundfonts and sampled drum kits the ``studio`` profile draws from."""
    gm = [p for p in GM_SOURCES if Path(p).is_file()]
    kits = [p for p in KIT_SOURCES if Path(p).is_file()]
    return gm, kits


def _weights(sources: list[str]) -> list[float]:
    """Draw MuseScore's compressed .sf3 less often: it costs several times the render time of the others."""
    w = np.array([0.5 if s.endswith(".sf3") else 1.0 for s in sources])
    return list(w / w.sum())


def _render_part(rng, stem, k, part, song, tmp, n, sample_rate, fluidsynth, sources):
    """One part played on a sound source drawn for it: ``(raw (n, 2) audio, source path)``.

    ``sources`` = (GM soundfonts, sampled .sf2 drum kits, Hydrogen kit folders).
    """
    from . import drumkits

    gm, kits, hydrogen_kits = sources
    if stem == "drums" and hydrogen_kits and rng.random() < 0.5:
        kit = str(rng.choice(list(hydrogen_kits)))
        return drumkits.render(kit, part["events"], song["tempo"], TPB, n, sample_rate, rng), kit
    if stem == "drums" and kits and rng.random() < 0.45:
        source, channel, program = str(rng.choice(kits)), 0, 0
    elif stem == "drums":
        source, channel = str(rng.choice(gm, p=_weights(gm))), 9
        program = int(rng.choice(DRUM_KITS)) if "FluidR3" in source else 0
    else:
        source, channel, program = str(rng.choice(gm, p=_weights(gm))), 0, part["program"]
    mid = tmp / "midi" / f"{stem}-{k}.mid"
    write_midi(mid, part["events"], song["tempo"], channel, program, 64)
    wav = tmp / f".{stem}-{k}.render.wav"
    raw = _fit(render_stem(mid, wav, sample_rate, fluidsynth, source), n)
    wav.unlink()
    return raw, source


def render_studio(rng, seconds, stems, tmp, n, sample_rate, fluidsynth, soundfont, hydrogen_kits=()):
    """The ``studio`` profile: arranged parts, a sound source per part, a mixing chain per part and on the bus.

    With ``hydrogen_kits`` (folders of Hydrogen drum kits), half the drum
    parts play recorded samples of one of those kits instead of a soundfont.
    Without them the random draws, and so the songs, are those of earlier
    versions for the same seed.
    """
    from .compose import compose_studio
    from .mixing import bus, process_part

    song = compose_studio(rng, seconds)
    gm, kits = studio_sources()
    sources = (gm or [soundfont], kits, hydrogen_kits)
    levels = {"vocals": 0.0, "drums": -1.0, "bass": -3.0, "other": -3.0}
    audio, used = {}, {}
    for s in stems:
        total = np.zeros((n, 2), np.float32)
        used[s] = []
        for k, part in enumerate(song["parts"][s]):
            raw, source = _render_part(rng, s, k, part, song, tmp, n, sample_rate, fluidsynth, sources)
            if not np.any(raw):
                continue
            wet = process_part(rng, raw, sample_rate, s, part["program"])
            total += _at_level(wet, float(rng.uniform(-7, 0)) if k else 0.0)
            used[s].append({"part": part["name"], "program": part["program"], "source": Path(source).name})
        audio[s] = _at_level(total, levels[s] + float(rng.uniform(-4, 4)))
    audio, bus_settings = bus(rng, audio, sample_rate)
    meta = {k: v for k, v in song.items() if k != "parts"}
    meta.update(parts=used, bus=bus_settings)
    return audio, meta
