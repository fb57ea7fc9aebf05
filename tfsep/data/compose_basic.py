"""Songs of the ``basic`` synthesis profile: one part per stem, composed note by note.

A song has a tempo, a key, a chord progression, a drum pattern, a bass
line, chords or pads ("other") and a lead melody ("vocals").  Programs vary
per song (several basses; piano, guitar, organ, strings, pads; voice oohs,
choir, sax, flute, ...) so that a model must learn timbre, not one patch.  Only note events are made here (ticks at ``TPB`` per beat);
:mod:`tfsep.data.render` plays them.  Deterministic for a given generator.
"""

from __future__ import annotations

import numpy as np

from .compose import KEY_NAMES, MAJOR, MINOR, TPB

# The stems of every synthetic song (either profile).
STEMS = ("vocals", "drums", "bass", "other")

# General MIDI programs (0-based) per role.
BASS_PROGRAMS = (32, 33, 34, 35, 36, 38, 39)  # acoustic, finger, pick, fretless, slap, synth 1/2
OTHER_PROGRAMS = (
    0,
    1,
    2,
    4,
    5,
    16,
    17,
    19,
    24,
    25,
    26,
    27,
    48,
    49,
    50,
    88,
    89,
)  # pianos, organs, guitars, strings, pads
LEAD_PROGRAMS = (
    52,
    53,
    54,
    56,
    64,
    65,
    66,
    68,
    71,
    73,
    85,
)  # choir, voice oohs, synth voice, trumpet, saxes, oboe, clarinet, flute, voice lead
DRUM_KITS = (0, 8, 16, 24, 25, 32, 40)  # standard, room, power, electronic, TR-808, jazz, brush

PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4), (0, 3, 0, 4), (1, 4, 0, 0), (0, 5, 1, 4))


def compose(rng: np.random.Generator, seconds: float) -> dict:
    """A song: tempo, key, programs and note events per stem (ticks)."""
    tempo = float(rng.integers(80, 151))
    root = int(rng.integers(0, 12))
    minor = bool(rng.random() < 0.4)
    scale = MINOR if minor else MAJOR
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    bar = 4 * TPB
    n_ticks = int(seconds * tempo / 60 * TPB)
    n_bars = -(-n_ticks // bar)
    six = TPB // 4  # sixteenth

    def degree_pitch(deg, octave):
        return 12 * octave + root + scale[deg % 7] + 12 * (deg // 7)

    chords = [prog[b % len(prog)] for b in range(n_bars)]
    notes = {s: [] for s in STEMS}

    # Drums: kick/snare/hats on a 16th grid, one of several grooves, a fill every 4th/8th bar.
    kick_pats = ([0, 8], [0, 6, 8], [0, 3, 8, 11], [0, 4, 8, 12], [0, 7, 10])
    snare_pats = ([4, 12], [4, 12, 14], [4, 12], [8])
    kick = kick_pats[rng.integers(len(kick_pats))]
    snare = snare_pats[rng.integers(len(snare_pats))]
    hat_step = int(rng.choice([2, 2, 4, 1]))
    hat_note = int(rng.choice([42, 42, 44, 46, 51]))  # closed/pedal/open hat, ride
    fill_every = int(rng.choice([4, 8]))
    for b in range(n_bars):
        t0 = b * bar
        fill = (b + 1) % fill_every == 0
        for s16 in range(16):
            t = t0 + s16 * six
            if s16 in kick:
                notes["drums"].append((t, t + six, 36, int(rng.integers(95, 120))))
            if fill and s16 >= 12:
                notes["drums"].append((t, t + six, int(rng.choice([38, 45, 47, 50])), int(rng.integers(80, 115))))
            elif s16 in snare:
                notes["drums"].append((t, t + six, 38, int(rng.integers(90, 120))))
            if s16 % hat_step == 0:
                notes["drums"].append((t, t + six, hat_note, int(rng.integers(50, 90))))
        if b % 8 == 0:
            notes["drums"].append((t0, t0 + six, 49, 100))  # crash

    # Bass: chord roots (and fifths) in one of several rhythms.
    bass_rhythm = int(rng.integers(4))
    for b, deg in enumerate(chords):
        t0 = b * bar
        r = degree_pitch(deg, 3) - 12 if degree_pitch(deg, 3) > 52 else degree_pitch(deg, 3)
        r = max(28, r)
        if bass_rhythm == 0:
            hits = [(0, 4 * TPB, r)]
        elif bass_rhythm == 1:
            hits = [(i * TPB // 2, TPB // 2, r) for i in range(8)]
        elif bass_rhythm == 2:
            hits = [(0, TPB, r), (TPB, TPB, r + 7), (2 * TPB, TPB, r), (3 * TPB, TPB, r + 7)]
        else:
            hits = [(0, 3 * TPB // 2, r), (3 * TPB // 2, TPB // 2, r), (2 * TPB, TPB, r + 12), (3 * TPB, TPB, r + 7)]
        for off, dur, p in hits:
            notes["bass"].append((t0 + off, t0 + off + int(dur * 0.9), p, int(rng.integers(85, 115))))

    # Other: chords, sustained pads or rhythmic comping.
    comp = int(rng.integers(3))
    seventh = bool(rng.random() < 0.4)
    for b, deg in enumerate(chords):
        t0 = b * bar
        pitches = [degree_pitch(deg + k, 4) for k in ((0, 2, 4, 6) if seventh else (0, 2, 4))]
        pitches = [p - 12 if p > 76 else p for p in pitches]
        if comp == 0:
            spans = [(0, bar)]
        elif comp == 1:
            spans = [(i * TPB, TPB) for i in range(4)]
        else:
            spans = [(0, int(1.5 * TPB)), (int(1.5 * TPB), int(2.5 * TPB))]
        for off, dur in spans:
            vel = int(rng.integers(60, 95))
            for p in pitches:
                notes["other"].append((t0 + off, t0 + off + int(dur * 0.95), p, vel))

    # Vocals: a melody of phrases that favour chord tones, with rests between phrases.
    pos = 0
    deg = int(rng.integers(0, 7))
    durations = np.array([TPB // 2, TPB, TPB, 2 * TPB, 3 * TPB // 2])
    while pos < n_bars * bar:
        phrase_end = pos + int(rng.choice([2, 4])) * bar
        while pos < min(phrase_end, n_bars * bar):
            dur = int(rng.choice(durations))
            chord = chords[min(pos // bar, n_bars - 1)]
            if rng.random() < 0.5:
                deg = chord + int(rng.choice([0, 2, 4])) + 7 * int(round((deg - chord) / 7))
            else:
                deg += int(rng.choice([-2, -1, -1, 1, 1, 2]))
            deg = int(np.clip(deg, 0, 11))
            notes["vocals"].append((pos, pos + int(dur * 0.92), degree_pitch(deg, 5), int(rng.integers(75, 110))))
            pos += dur
        pos += int(rng.choice([1, 2])) * TPB  # breath

    # Nothing sounds past the song's end.
    for s in STEMS:
        notes[s] = [(a, min(e, n_ticks), p, v) for a, e, p, v in notes[s] if a < n_ticks - six]

    programs = {
        "vocals": int(rng.choice(LEAD_PROGRAMS)),
        "drums": int(rng.choice(DRUM_KITS)),
        "bass": int(rng.choice(BASS_PROGRAMS)),
        "other": int(rng.choice(OTHER_PROGRAMS)),
    }
    pans = {s: int(np.clip(64 + rng.normal(0, 18), 20, 108)) for s in STEMS}
    pans["bass"] = 64
    levels_db = {"vocals": 0.0, "drums": -1.0, "bass": -2.0, "other": -4.0}
    levels_db = {s: v + float(rng.uniform(-3, 3)) for s, v in levels_db.items()}
    return {
        "tempo": tempo,
        "key": KEY_NAMES[root] + (" minor" if minor else " major"),
        "progression": list(prog),
        "programs": programs,
        "pans": pans,
        "levels_db": levels_db,
        "notes": notes,
    }
