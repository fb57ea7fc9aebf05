"""The training recipes of README.md and docs/training.md work as printed: in order, tiny sizes, a fresh folder.

The commands are read from the pages themselves, so the test follows any
edit there.  Only sizes change: ``--tracks``, ``--seconds`` and a ``--max-steps``
for each ``tfsep train`` (the resumed run goes one step further).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import noise, write_wav

from tfsep.cli import main
from tfsep.data import synth

REPO = Path(__file__).resolve().parent.parent

needs_fluidsynth = pytest.mark.skipif(
    os.environ.get("TFSEP_REQUIRE_FLUIDSYNTH") != "1"
    and (shutil.which("fluidsynth") is None or not any(os.path.isfile(p) for p in synth.SOUNDFONT_CANDIDATES)),
    reason="fluidsynth / fluid-soundfont-gm not installed (apt-get install fluidsynth fluid-soundfont-gm)",
)


RECIPES = [("README.md", "Train", "runs/tiny"), ("docs/training.md", "A first run", "runs/synth")]


def readme_commands(section: str, page: str = "README.md") -> list[list[str]]:
    """The ``tfsep`` commands of the first ``sh`` block under ``## <section>`` of ``page``."""
    text = (REPO / page).read_text(encoding="utf-8")
    body = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## )", text, re.S | re.M).group(1)
    block = re.search(r"```sh\n(.*?)```", body, re.S).group(1)
    commands = [shlex.split(line, comments=True) for line in block.splitlines()]
    commands = [c for c in commands if c]
    assert all(c[0] == "tfsep" for c in commands), commands
    return [c[1:] for c in commands]


def tiny(args: list[str], resumed: bool) -> list[str]:
    """``args`` with tiny sizes: 2 songs (1 for validation and test) of 4 s, 2 training steps (3 on resume)."""
    sizes = {"--tracks": "2" if args[args.index("-o") + 1].endswith("train") else "1", "--seconds": "4"}
    out = [sizes.get(prev, a) if prev in sizes else a for prev, a in zip([None, *args], args)]
    if args[0] == "train":
        out += ["--max-steps", "3" if resumed else "2"]
    return out


@pytest.mark.parametrize("page, section, run", RECIPES)
def test_the_train_section_names_the_folders_its_configs_read(page, section, run):
    import json

    commands = readme_commands(section, page)
    written = {c[c.index("-o") + 1] for c in commands if c[:2] == ["data", "synth"]}
    for config in {c[c.index("-c") + 1] for c in commands if c[0] == "train"}:
        training = json.loads((REPO / config).read_text())["training"]
        assert {training["train_path"], training["validation_path"]} <= written, (config, written)


@needs_fluidsynth
@pytest.mark.parametrize("page, section, run", RECIPES)
def test_the_train_commands_run_as_printed(page, section, run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFSEP_MODEL_HOME", str(tmp_path / "model_home"))
    monkeypatch.setenv("TFSEP_CACHE", str(tmp_path / "cache"))
    (tmp_path / "configs").symlink_to(REPO / "configs", target_is_directory=True)
    write_wav(tmp_path / "song.wav", noise(3 * 44100))  # the README's "song.wav"
    commands = readme_commands(section, page)
    assert {"data", "train", "separate"} <= {c[0] for c in commands}
    assert page == "README.md" or any("--resume" in c for c in commands)
    for args in commands:
        args = tiny(args, resumed="--resume" in args) if args[0] in ("data", "train") else args
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, (args, r.stderr, r.exception)
        assert "Traceback" not in r.output
    assert (tmp_path / run / "config.json").is_file()
    stems = sorted(p.name for p in (tmp_path / "separated" / "song").iterdir())
    assert stems == ["bass.wav", "drums.wav", "other.wav", "vocals.wav"]
