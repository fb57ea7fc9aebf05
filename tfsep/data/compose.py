"""Songs composed like band arrangements, for the ``studio`` synthesis profile.

:func:`compose_studio` returns the same kind of song dict as
:func:`tfsep.data.compose_basic.compose` but with *parts*: each stem is one or more MIDI parts
(``other`` may hold chords, a pad, an arpeggio and a lead line), each with
its own General MIDI program.  What makes it closer to recorded music than
the ``basic`` profile:

- an arrangement of sections (intro, verse, chorus, break, outro) in which
  parts enter and drop out, with a drum fill and a crash at section changes;
- grooves (rock, four on the floor, half time, shuffle) with ghost notes and
  open hats, and bass lines that follow the harmony (roots, fifths,
  octaves, approach notes into the next chord);
- human timing and velocity: every note is nudged by a few milliseconds
  and its velocity follows the beat's accent;
- guitars are often distorted (programs 29/30, power chords), as in rock.

Only note events are made here (ticks at ``TPB`` per beat); rendering,
sound sources and the mixing chain are :mod:`tfsep.data.render`'s and
:mod:`tfsep.data.mixing`'s.  Deterministic for a given generator.
"""

from __future__ import annotations

import numpy as np

TPB = 480  # MIDI ticks per beat (tfsep.data.render writes its MIDI files with these)
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
PROGRESSIONS = (
    (0, 4, 5, 3),
    (0, 5, 3, 4),
    (0, 3, 4, 4),
    (5, 3, 0, 4),
    (0, 3, 0, 4),
    (1, 4, 0, 0),
    (0, 5, 1, 4),
    (0, 6, 5, 4),
    (0, 0, 3, 4),
)
SECTION_KINDS = ("intro", "verse", "chorus", "break", "verse", "chorus", "outro")

BASS_PROGRAMS = (32, 33, 33, 34, 34, 35, 36, 38, 39)
DISTORTED_GUITARS = (29, 30)
CHORD_PROGRAMS = (0, 1, 2, 4, 5, 16, 17, 18, 24, 25, 26, 27, 28, 29, 30, 29, 30)
PAD_PROGRAMS = (48, 49, 50, 51, 61, 88, 89, 90, 91, 92, 94, 95, 19)
ARP_PROGRAMS = (4, 5, 6, 8, 11, 12, 24, 27, 46, 80, 81)
LEAD_PROGRAMS = (29, 30, 27, 80, 81, 84, 87, 56, 61, 65, 66, 71, 73, 40)
VOCAL_PROGRAMS = (52, 53, 54, 85, 65, 66, 56, 73, 71)

# Which parts play in each kind of section (beyond the drums and bass rules below).
DENSITY = {"intro": 0.4, "verse": 0.6, "chorus": 1.0, "break": 0.3, "outro": 0.5}


def _sections(rng, n_bars: int) -> list[tuple[str, int, int]]:
    """``(kind, first_bar, n_bars)`` covering the song; a random rotation of a pop form."""
    out, bar = [], 0
    start = int(rng.integers(len(SECTION_KINDS)))
    k = start
    while bar < n_bars:
        kind = SECTION_KINDS[k % len(SECTION_KINDS)]
        length = int(rng.choice([2, 4, 4, 8])) if kind in ("intro", "break", "outro") else int(rng.choice([4, 8]))
        out.append((kind, bar, min(length, n_bars - bar)))
        bar += length
        k += 1
    return out


def _humanize(rng, events, tempo: float, ms: float, vel_sd: float):
    """Nudge note starts by ~``ms`` milliseconds and velocities by ``vel_sd``; keep every note >= 1 tick."""
    ticks_per_ms = tempo / 60 * TPB / 1000
    out = []
    for start, end, note, vel in events:
        shift = int(round(rng.normal(0, ms) * ticks_per_ms))
        s = max(0, start + shift)
        e = max(s + 1, end + shift)
        v = int(np.clip(vel + rng.normal(0, vel_sd), 20, 127))
        out.append((s, e, int(note), v))
    return out


def _drums(rng, sections, bar: int) -> list:
    six = TPB // 4
    style = str(rng.choice(["rock", "rock", "four", "half", "shuffle", "disco"]))
    hat = int(rng.choice([42, 42, 42, 44, 51]))
    ev = []
    for kind, b0, nb in sections:
        if kind == "intro" and rng.random() < 0.5:
            continue  # drums enter after the intro
        sparse = kind in ("intro", "break", "outro") and rng.random() < 0.5
        ride = kind == "chorus" and rng.random() < 0.4
        for b in range(b0, b0 + nb):
            t0 = b * bar
            last = b == b0 + nb - 1
            for s16 in range(16):
                t = t0 + s16 * six
                accent = 1.0 if s16 % 4 == 0 else (0.85 if s16 % 2 == 0 else 0.7)
                if style == "four":
                    kick = s16 % 4 == 0
                    snare = s16 in (4, 12)
                elif style == "half":
                    kick = s16 in (0, 10)
                    snare = s16 == 8
                elif style == "shuffle":
                    kick = s16 in (0, 6, 8)
                    snare = s16 in (4, 12)
                elif style == "disco":
                    kick = s16 % 4 == 0
                    snare = s16 in (4, 12)
                else:
                    kick = s16 in (0, 8) or (s16 == 10 and rng.random() < 0.5) or (s16 == 7 and rng.random() < 0.2)
                    snare = s16 in (4, 12)
                if sparse:
                    kick, snare = s16 == 0, s16 == 8 and rng.random() < 0.5
                fill = last and s16 >= 12 and kind != "outro" and rng.random() < 0.85
                if kick:
                    ev.append((t, t + six, 36, int(110 * accent + rng.integers(-8, 8))))
                if fill:
                    ev.append((t, t + six, int(rng.choice([38, 41, 43, 45, 47, 48, 50])), int(rng.integers(85, 120))))
                elif snare:
                    ev.append((t, t + six, 38, int(rng.integers(95, 122))))
                elif s16 % 2 == 1 and rng.random() < 0.08:
                    ev.append((t, t + six, 38, int(rng.integers(25, 45))))  # ghost note
                step = 4 if sparse else (2 if style != "disco" else 1)
                if style == "shuffle":
                    on_hat = s16 % 4 in (0, 3)
                elif style == "disco":
                    on_hat = s16 % 2 == 0
                else:
                    on_hat = s16 % step == 0
                if on_hat:
                    note = 51 if ride else hat
                    if style == "disco" and s16 % 4 == 2:
                        note = 46
                    elif rng.random() < 0.04:
                        note = 46
                    ev.append((t, t + six, note, int(np.clip(80 * accent + rng.integers(-12, 12), 30, 127))))
            if b == b0 and kind in ("chorus", "verse", "outro"):
                ev.append((t0, t0 + six, int(rng.choice([49, 49, 57])), int(rng.integers(95, 120))))
    return ev


def _bass(rng, sections, chords, pitch_of, bar: int) -> list:
    style = int(rng.integers(5))
    ev = []
    for kind, b0, nb in sections:
        if kind == "intro" and rng.random() < 0.5:
            continue
        if kind == "break" and rng.random() < 0.4:
            continue
        for b in range(b0, b0 + nb):
            deg = chords[b]
            nxt = chords[b + 1] if b + 1 < len(chords) else chords[0]
            r = pitch_of(deg, 2)
            while r > 50:
                r -= 12
            while r < 28:
                r += 12
            nr = pitch_of(nxt, 2)
            while nr > r + 6:
                nr -= 12
            while nr < r - 6:
                nr += 12
            if kind in ("intro", "outro", "break") and rng.random() < 0.5:
                hits = [(0, 4 * TPB, r)]
            elif style == 0:  # driving eighths
                hits = [(i * TPB // 2, TPB // 2, r) for i in range(8)]
            elif style == 1:  # root, fifth, octave
                hits = [(0, TPB, r), (TPB, TPB, r + 7), (2 * TPB, TPB, r + 12), (3 * TPB, TPB, r + 7)]
            elif style == 2:  # walking, into the next root
                approach = nr - 1 if nr > r else nr + 1
                hits = [(0, TPB, r), (TPB, TPB, r + 4 if rng.random() < 0.5 else r + 3)]
                hits += [(2 * TPB, TPB, r + 7), (3 * TPB, TPB, approach)]
            elif style == 3:  # syncopated
                hits = [(0, 3 * TPB // 2, r), (3 * TPB // 2, TPB // 2, r), (2 * TPB, TPB // 2, r + 12)]
                hits += [(5 * TPB // 2, 3 * TPB // 2, r)]
            else:  # half notes with a pickup
                hits = [(0, 2 * TPB, r), (2 * TPB, 3 * TPB // 2, r + 7), (7 * TPB // 2, TPB // 2, nr)]
            legato = float(rng.uniform(0.6, 0.97))
            for off, dur, p in hits:
                ev.append((b * bar + off, b * bar + off + int(dur * legato), int(np.clip(p, 24, 62)), 100))
    return ev


def _chord_tones(deg, pitch_of, seventh: bool, octave: int = 4) -> list:
    ps = [pitch_of(deg + k, octave) for k in ((0, 2, 4, 6) if seventh else (0, 2, 4))]
    return [p - 12 if p > 74 else p for p in ps]


def _other_parts(rng, sections, chords, pitch_of, bar: int, heavy: bool = False) -> list[dict]:
    """1-5 parts: chords (often distorted power chords), a pad, an arpeggio, a lead line.

    ``heavy`` (rock/metal): the chords are distorted power chords, often
    palm-muted sixteenth chugs, doubled by a second guitar, and the lead is
    a distorted guitar more often than not.
    """
    parts = []
    program = int(rng.choice(DISTORTED_GUITARS)) if heavy else int(rng.choice(CHORD_PROGRAMS))
    power = program in DISTORTED_GUITARS
    seventh = (not power) and rng.random() < 0.4
    comp = int(rng.integers(4))
    chug = [rng.random() < rng.uniform(0.4, 0.9) for _ in range(16)] if heavy and rng.random() < 0.6 else None
    ev = []
    playing = [rng.random() < DENSITY[kind] + 0.3 for kind, _, _ in sections]
    if not any(playing):  # the chords play somewhere in every song
        playing[int(np.argmax([DENSITY[k] for k, _, _ in sections]))] = True
    for (_, b0, nb), plays in zip(sections, playing):
        if not plays:
            continue
        for b in range(b0, b0 + nb):
            root = pitch_of(chords[b], 3)
            while root > 52:
                root -= 12
            tones = [root, root + 7, root + 12] if power else _chord_tones(chords[b], pitch_of, seventh)
            if chug is not None:
                spans = [(i * TPB // 4, TPB // 8) for i in range(16) if chug[i]]  # palm-muted sixteenths
            elif power:
                spans = [(i * TPB // 2, TPB // 2) for i in range(8)] if comp < 2 else [(0, 2 * TPB), (2 * TPB, 2 * TPB)]
            elif comp == 0:
                spans = [(0, bar)]
            elif comp == 1:
                spans = [(i * TPB, TPB) for i in range(4)]
            elif comp == 2:
                spans = [(0, int(1.5 * TPB)), (int(1.5 * TPB), int(2.5 * TPB))]
            else:
                spans = [(TPB // 2 + i * TPB, TPB // 2) for i in range(4)]  # off-beat skank
            for off, dur in spans:
                for i, p in enumerate(tones):
                    strum = i * int(rng.integers(0, 12))
                    ev.append((b * bar + off + strum, b * bar + off + int(dur * 0.92), p, 90))
    parts.append({"name": "chords", "program": program, "events": ev})
    if heavy and rng.random() < 0.6:  # a second rhythm guitar plays the same part (placed elsewhere)
        parts.append({"name": "chords double", "program": int(rng.choice(DISTORTED_GUITARS)), "events": list(ev)})

    if rng.random() < 0.6:
        ev = []
        for kind, b0, nb in sections:
            if kind in ("chorus", "intro", "outro") or rng.random() < 0.3:
                for b in range(b0, b0 + nb):
                    for p in _chord_tones(chords[b], pitch_of, False, 4):
                        ev.append((b * bar, (b + 1) * bar - 10, p, 70))
        parts.append({"name": "pad", "program": int(rng.choice(PAD_PROGRAMS)), "events": ev})
    if rng.random() < 0.35:
        ev = []
        step = int(rng.choice([TPB // 2, TPB // 4]))
        for kind, b0, nb in sections:
            if rng.random() > DENSITY[kind]:
                continue
            for b in range(b0, b0 + nb):
                tones = _chord_tones(chords[b], pitch_of, False, 5)
                for i in range(bar // step):
                    p = tones[i % len(tones)] if rng.random() < 0.85 else tones[0] + 12
                    ev.append((b * bar + i * step, b * bar + (i + 1) * step - 10, p, 80))
        parts.append({"name": "arpeggio", "program": int(rng.choice(ARP_PROGRAMS)), "events": ev})
    if rng.random() < (0.7 if heavy else 0.45):
        ev = _melody(
            rng, sections, chords, pitch_of, bar, octave=5, only=None if heavy else ("chorus", "break", "outro")
        )
        lead = int(rng.choice(DISTORTED_GUITARS)) if heavy and rng.random() < 0.7 else int(rng.choice(LEAD_PROGRAMS))
        parts.append({"name": "lead", "program": lead, "events": ev})
    return parts


def _melody(rng, sections, chords, pitch_of, bar: int, octave: int, only=None) -> list:
    ev = []
    durations = np.array([TPB // 4, TPB // 2, TPB // 2, TPB, TPB, 2 * TPB, 3 * TPB // 2])
    deg = int(rng.integers(0, 7))
    for kind, b0, nb in sections:
        if only is not None and kind not in only:
            continue
        if only is None and kind in ("intro", "break") and rng.random() < 0.6:
            continue
        pos, end = b0 * bar, (b0 + nb) * bar
        while pos < end:
            phrase_end = min(end, pos + int(rng.choice([1, 2, 2, 4])) * bar)
            while pos < phrase_end:
                dur = int(rng.choice(durations))
                chord = chords[min(pos // bar, len(chords) - 1)]
                if rng.random() < 0.5:
                    deg = chord + int(rng.choice([0, 2, 4])) + 7 * int(round((deg - chord) / 7))
                else:
                    deg += int(rng.choice([-2, -1, -1, 1, 1, 2]))
                deg = int(np.clip(deg, 0, 11))
                ev.append((pos, pos + int(dur * 0.9), pitch_of(deg, octave), 95))
                pos += dur
            pos += int(rng.choice([1, 2, 4])) * TPB // 2  # breath
    return ev


def compose_studio(rng: np.random.Generator, seconds: float) -> dict:
    """A song with sections and parts: ``{"tempo", "key", "parts": {stem: [part, ...]}, ...}``.

    A part is ``{"name", "program", "events"}`` with events
    ``(start_tick, end_tick, note, velocity)``; nothing sounds past
    ``seconds``.  Drum parts use General MIDI percussion notes.
    """
    tempo = float(rng.integers(70, 171))
    root = int(rng.integers(0, 12))
    minor = bool(rng.random() < 0.45)
    scale = MINOR if minor else MAJOR
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    bar = 4 * TPB
    n_ticks = int(seconds * tempo / 60 * TPB)
    n_bars = -(-n_ticks // bar) + 1
    sections = _sections(rng, n_bars)
    chords = [prog[b % len(prog)] for b in range(n_bars)]

    def pitch_of(deg, octave):
        return 12 * octave + root + scale[deg % 7] + 12 * (deg // 7)

    timing_ms = float(rng.uniform(2, 14))
    heavy = bool(rng.random() < 0.35)
    parts = {
        "drums": [{"name": "kit", "program": 0, "events": _drums(rng, sections, bar)}],
        "bass": [{"name": "bass", "program": int(rng.choice(BASS_PROGRAMS)), "events": []}],
        "other": _other_parts(rng, sections, chords, pitch_of, bar, heavy),
        "vocals": [{"name": "lead vocal", "program": int(rng.choice(VOCAL_PROGRAMS)), "events": []}],
    }
    parts["bass"][0]["events"] = _bass(rng, sections, chords, pitch_of, bar)
    parts["vocals"][0]["events"] = _melody(rng, sections, chords, pitch_of, bar, octave=5)
    six = TPB // 4
    for stem, plist in parts.items():
        for part in plist:
            ev = _humanize(rng, part["events"], tempo, timing_ms * (0.5 if stem == "drums" else 1.0), 8.0)
            part["events"] = [(a, min(e, n_ticks), p, v) for a, e, p, v in ev if a < n_ticks - six]
    key = KEY_NAMES[root] + (" minor" if minor else " major")
    return {
        "tempo": tempo,
        "key": key,
        "progression": list(prog),
        "sections": [list(s) for s in sections],
        "timing_ms": timing_ms,
        "heavy": heavy,
        "parts": parts,
    }
