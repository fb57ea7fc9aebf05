"""Hydrogen drum kits in the synthetic songs: names map to drum roles, samples land on the beat, hats choke."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from tfsep.cli import main
from tfsep.data import drumkits, synth

SR = 44100
TPB = 480


def _kit(folder, instruments):
    """A Hydrogen kit on disk: ``instruments`` = [(name, [(min, max, sample_array), ...]), ...]."""
    folder.mkdir(parents=True)
    xml = ['<?xml version="1.0"?>', '<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">']
    xml.append(f"<name>{folder.name}</name><instrumentList>")
    for i, (name, layers) in enumerate(instruments):
        xml.append(f"<instrument><id>{i}</id><name>{name}</name><volume>1</volume>")
        for k, (lo, hi, x) in enumerate(layers):
            fn = f"{i}-{k}.wav"
            sf.write(str(folder / fn), x, SR)
            xml.append(f"<layer><filename>{fn}</filename><min>{lo}</min><max>{hi}</max><gain>1</gain></layer>")
        xml.append("</instrument>")
    xml.append("</instrumentList></drumkit_info>")
    (folder / "drumkit.xml").write_text("\n".join(xml))
    return folder


def _tone(freq, seconds=0.2, amp=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def kit(tmp_path):
    return _kit(
        tmp_path / "kits" / "TestKit",
        [
            ("Kick", [(0.0, 0.5, _tone(60, amp=0.1)), (0.5, 1.0, _tone(60, amp=0.8))]),
            ("Snare Rimshot", [(0.0, 1.0, _tone(900))]),  # not the snare: rimshots play no backbeat
            ("Snare", [(0.0, 1.0, _tone(300))]),
            ("Closed HH", [(0.0, 1.0, _tone(5000, 0.05))]),
            ("Open HH", [(0.0, 1.0, _tone(7000, 1.0))]),
            ("Floor Tom", [(0.0, 1.0, _tone(100))]),
        ],
    )


def test_instrument_names_map_to_drum_roles(kit, tmp_path):
    parsed = drumkits.parse_kit(kit)
    roles = parsed["roles"]
    assert set(roles) == {"kick", "snare", "hat_closed", "hat_open", "tom_low"}
    assert roles["snare"][0][3].name == "2-0.wav"  # the plain snare, not the rimshot
    assert [lay[:2] for lay in roles["kick"]] == [(0.0, 0.5), (0.5, 1.0)]
    # A kit with no hi-hat cannot play a kit part: left out, as are folders with a broken drumkit.xml.
    _kit(tmp_path / "kits" / "Hands", [("Kick", [(0, 1, _tone(60))]), ("Snare", [(0, 1, _tone(300))])])
    (tmp_path / "kits" / "Broken").mkdir()
    (tmp_path / "kits" / "Broken" / "drumkit.xml").write_text("<drumkit_info><name>")
    assert drumkits.available_kits([tmp_path / "kits"]) == [str(kit)]
    for name in ("Pearl Kick", "c3 - bass drum 1", "BassDrum"):
        assert drumkits._role(name) == "kick"
    for name, role in (
        ("Hi Hat Opened", "hat_open"),
        ("VariBreaks Hat 1 Cl", "hat_closed"),
        ("Hi-Hat Pedal", "hat_pedal"),
    ):
        assert drumkits._role(name) == role
    for name, role in (("Pearl Tom 1", "tom_high"), ("Pearl Tom Floor", "tom_low"), ("Tom Mid", "tom_mid")):
        assert drumkits._role(name) == role
    assert drumkits._role("Sabian Hat Semi-Open") is None and drumkits._role("Ride Bell") is None


def test_render_places_layers_by_velocity_and_chokes_open_hats(kit):
    rng = np.random.default_rng(0)
    beat = SR // 2  # 120 bpm
    events = [
        (0, 60, 36, 30),  # soft kick -> the soft layer
        (TPB, TPB + 60, 36, 120),  # loud kick -> the loud layer
        (2 * TPB, 2 * TPB + 60, 38, 100),  # snare
        (3 * TPB, 3 * TPB + 60, 46, 100),  # open hat ...
        (3 * TPB + TPB // 2, 3 * TPB + TPB // 2 + 60, 42, 100),  # ... choked by a closed hat
        (3 * TPB, 3 * TPB + 60, 45, 100),  # low tom (GM 45) -> the floor tom
        (3 * TPB, 3 * TPB + 60, 49, 100),  # crash: the kit has none, falls back to the open hat
    ]
    out = drumkits.render(kit, events, 120.0, TPB, 3 * SR, SR, rng)
    assert out.shape == (3 * SR, 2) and out.dtype == np.float32
    assert not np.any(out[:, 0] != out[:, 1])  # mono samples on both channels
    x = out[:, 0]
    soft, loud = np.abs(x[:2000]).max(), np.abs(x[beat : beat + 2000]).max()
    assert loud > 5 * soft > 0
    assert np.all(x[int(0.2 * SR) + 10 : beat - 10] == 0)  # silence between the first kick and the second

    def energy_at(freq, a, b):
        seg = x[a:b] * np.hanning(b - a)
        f = np.abs(np.fft.rfft(seg))
        k = int(round(freq * len(seg) / SR))
        return f[k - 2 : k + 3].max()

    assert energy_at(300, 2 * beat, 2 * beat + 4096) > 100 * energy_at(300, beat, beat + 4096)
    assert energy_at(100, 3 * beat, 3 * beat + 4096) > 10  # the tom
    # The open hat sounds until the closed hat (plus a short fade), then is cut.
    close = 3 * beat + beat // 2
    assert energy_at(7000, close - 4096, close) > 100
    tail = x[close + int(0.06 * SR) : close + int(0.3 * SR)]
    assert np.abs(tail).max() < 1e-6  # closed hat (50 ms) and choked open hat are both over


# CI sets TFSEP_REQUIRE_FLUIDSYNTH=1: there a missing renderer fails the test instead of skipping it.
@pytest.mark.skipif(
    os.environ.get("TFSEP_REQUIRE_FLUIDSYNTH") != "1"
    and (shutil.which("fluidsynth") is None or not any(os.path.isfile(p) for p in synth.SOUNDFONT_CANDIDATES)),
    reason="fluidsynth / fluid-soundfont-gm not installed",
)
def test_studio_songs_draw_drums_from_hydrogen_kits(kit, tmp_path, monkeypatch):
    pytest.importorskip("pedalboard")
    monkeypatch.setattr(drumkits, "KIT_ROOTS", (str(kit.parent),))
    synth.generate(tmp_path / "a", 4, 4, seed=3, stems=("drums", "bass"), profile="studio", jobs=2, hydrogen_kits=True)
    sources = []
    for k in range(4):
        folder = tmp_path / "a" / f"synth-{k:04d}"
        sources += [p["source"] for p in json.loads((folder / "song.json").read_text())["parts"]["drums"]]
        drums, _ = sf.read(str(folder / "drums.wav"), dtype="float32")
        assert np.all(np.isfinite(drums)) and np.sqrt(np.mean(drums**2)) > 1e-3
    assert "TestKit" in sources


def test_hydrogen_kits_need_the_studio_profile_and_installed_kits(tmp_path, monkeypatch):
    r = CliRunner().invoke(main, ["data", "synth", "-o", str(tmp_path / "x"), "--tracks", "1", "--hydrogen-kits"])
    assert r.exit_code != 0 and "--profile studio" in r.output
    pytest.importorskip("pedalboard")
    monkeypatch.setattr(drumkits, "KIT_ROOTS", (str(tmp_path / "none"),))
    r = CliRunner().invoke(
        main, ["data", "synth", "-o", str(tmp_path / "x"), "--tracks", "1", "--profile", "studio", "--hydrogen-kits"]
    )
    assert r.exit_code != 0 and "apt-get install hydrogen-drumkits" in r.output


def test_an_unreadable_sample_is_a_one_line_error(kit):
    from tfsep.errors import TfsepError

    (kit / "2-0.wav").write_bytes(b"not audio")  # the snare
    drumkits._sample.cache_clear()
    with pytest.raises(TfsepError, match=r"2-0\.wav: cannot read this drum sample"):
        drumkits.render(kit, [(0, 60, 38, 100)], 120.0, TPB, SR, SR, np.random.default_rng(0))
