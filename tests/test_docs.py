"""Docs that cannot drift: every command, snippet, figure table and path in the README and docs/ is checked.

- every ``tfsep ...`` command in a code block or inline code (README.md,
  docs/, recipes/) names real commands and options, with values a choice or number option
  accepts;
- the Python snippets of README.md and docs/api.md run as written, on a few
  seconds of real music (tiny random models stand in for the pretrained ones);
- every table of figures names the bench script that printed it, in its
  section or the intro of an enclosing one;
- every ``bench/``, ``recipes/`` and ``configs/`` path and every relative
  link the pages name exists;
- docs/cli.md holds the reference the click commands generate now.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import numpy as np
import pytest
import soundfile as sf
from conftest import TINY4_CONFIG, TINY_CONFIG, _build_model_dir

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "recipes" / "README.md"]
SCRIPTS = sorted((ROOT / "recipes").glob("*.sh"))
FENCE = re.compile(r"^```(\w*)\s*$")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def code_blocks(path: Path):
    """``(language, first line number, text)`` of every fenced block of a Markdown page."""
    blocks, lang, start, lines = [], None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = FENCE.match(line.strip())
        if lang is None and match:
            lang, start, lines = match.group(1) or "text", number + 1, []
        elif lang is not None and line.strip() == "```":
            blocks.append((lang, start, "\n".join(lines)))
            lang = None
        elif lang is not None:
            lines.append(line)
    return blocks


def shell_lines(text: str, first: int):
    """``(line number, command line)`` of a shell text, continuations joined."""
    out, pending, start = [], "", first
    for number, line in enumerate(text.splitlines(), start=first):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((start, pending + line))
        pending = ""
    return out


def tfsep_commands(line: str):
    """The argument lists of every ``tfsep`` command in one shell line (pipes, ``;`` and ``&&`` split it)."""
    line = re.sub(r"^\s*\$\s+", "", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|;&")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        return []
    commands, current = [], []
    for token in [*tokens, ";"]:
        if token and set(token) <= set("|;&"):
            if current and current[0] == "tfsep":
                commands.append(current[1:])
            current = []
        else:
            current.append(token)
    return commands


def documented_commands():
    """``(where, argv)`` for every ``tfsep`` command in a shell code block of the pages and recipes."""
    found = []
    for page in PAGES:
        for lang, first, text in code_blocks(page):
            if lang in ("sh", "bash", "shell", "console", "text"):
                for number, line in shell_lines(text, first):
                    found += [(f"{rel(page)}:{number}", argv) for argv in tfsep_commands(line)]
        # Inline, in prose: `tfsep models`, `tfsep separate --quality best` (an option may be named without value).
        content = page.read_text()
        for match in re.finditer(r"`(tfsep [^`]+)`", content):
            number = content.count("\n", 0, match.start()) + 1
            found += [(f"{rel(page)}:{number}", [*argv, INLINE]) for argv in tfsep_commands(match.group(1))]
    for script in SCRIPTS:
        for number, line in shell_lines(script.read_text(), 1):
            found += [(f"{rel(script)}:{number}", argv) for argv in tfsep_commands(line)]
    return found


INLINE = "<named in prose>"  # the end of an inline mention: an option before it may go without its value


def _placeholder(value: str) -> bool:
    return bool(re.search(r"[A-Z]{2,}|[<>$*{}]", value))


def check_command(argv: list[str], root: click.Command | None = None) -> list[str]:
    """What is wrong with ``tfsep argv`` as the click commands see it: unknown commands, options, values."""
    if root is None:
        from tfsep.cli import main as root
    problems, command, path, i = [], root, ["tfsep"], 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token in ("-h", "--help", INLINE):
            continue
        if token.startswith("-") and token != "-":
            name, eq, value = token.partition("=")
            option = next((p for p in command.params if name in (*p.opts, *getattr(p, "secondary_opts", ()))), None)
            if option is None:
                problems.append(f"'{' '.join(path)}' has no option {name}")
                continue
            if isinstance(option, click.Option) and (option.is_flag or option.count):
                continue
            if not eq:
                if i < len(argv) and argv[i] == INLINE:
                    break
                if i >= len(argv):
                    problems.append(f"{name} of '{' '.join(path)}' needs a value")
                    break
                value = argv[i]
                i += 1
            if not _placeholder(value) and isinstance(option.type, (click.Choice, click.types._NumberParamTypeBase)):
                try:
                    option.type.convert(value, option, click.Context(command))
                except click.BadParameter as exc:
                    problems.append(f"{name} {value}: {exc.format_message()}")
        elif isinstance(command, click.Group):
            if _placeholder(token):
                break
            sub = command.get_command(click.Context(command), token)
            if sub is None:
                problems.append(f"'{' '.join(path)}' has no command {token!r}")
                break
            command, path = sub, [*path, token]
    return problems


def test_the_command_checker_fails_on_what_it_should():
    assert check_command(["separate", "song.mp3", "-m", "4stems-lite", "--quality", "best"]) == []
    assert check_command(["separate", "song.mp3", "--no-such-option"])
    assert check_command(["separtae", "song.mp3"])
    assert check_command(["separate", "song.mp3", "--quality", "fastest"])
    assert check_command(["separate", "song.mp3", "--shifts", "many"])
    assert check_command(["data", "synth", "-o", "x", "--tracks", "2"]) == []
    assert tfsep_commands("ffmpeg -i a.mp3 -f wav - | tfsep live - --stdout | aplay  # pipes") == [
        ["live", "-", "--stdout"]
    ]


def test_every_documented_command_is_real():
    found = documented_commands()
    assert len(found) > 40, "the pages lost their commands, or the parser did"
    wrong = [f"{where}: tfsep {' '.join(argv)}: {'; '.join(p)}" for where, argv in found if (p := check_command(argv))]
    assert not wrong, "\n".join(wrong)


def test_cli_reference_page_matches_the_commands():
    from tfsep.cli.reference import reference, splice

    page = (ROOT / "docs" / "cli.md").read_text()
    assert splice(page, reference()) == page, "docs/cli.md is stale: run `python -m tfsep.cli.reference docs/cli.md`"
    for command in ("tfsep separate", "tfsep live", "tfsep catalogue", "tfsep data synth"):
        assert f"`{command}`" in page


# Tables of figures: a cell that is a measurement (a number, a list of numbers, with a unit).
MEASURE = re.compile(r"^\(?[-+~]?\d+(\.\d+)?( ?(x|dB|MB|GB|s|ms|%|kB))?( / [-+]?\d+(\.\d+)?( ?(x|dB))?)*\)?$")
BENCH = re.compile(r"bench/[\w./-]+\.(py|sh)")


def figure_tables(path: Path):
    """``(line number, table lines, the text that may name its bench)`` for every table of measurements."""
    lines = path.read_text().splitlines()
    headings = [(n, len(m.group(1))) for n, line in enumerate(lines) if (m := re.match(r"^(#+) ", line))]
    in_code, tables, start = False, [], None
    for n, line in enumerate([*lines, ""]):
        in_code ^= line.strip().startswith("```")
        if line.startswith("|") and not in_code:
            start = n if start is None else start
            continue
        if start is None:
            continue
        table, start_n = lines[start:n], start
        start = None
        cells = [c.strip().strip("*") for row in table[2:] for c in row.strip("|").split("|")]
        if sum(bool(MEASURE.match(c)) for c in cells) < 2:
            continue
        # Its own section (heading to next heading), then the intro of each enclosing section.
        before = [h for h in headings if h[0] < start_n]
        own = before[-1] if before else (0, 1)
        after = next((h[0] for h in headings if h[0] > start_n), len(lines))
        context = lines[own[0] : after]
        level = own[1]
        for h_line, h_level in reversed(before):
            if h_level < level:
                nxt = next((h[0] for h in headings if h[0] > h_line), len(lines))
                context += lines[h_line:nxt]
                level = h_level
        tables.append((start_n + 1, table, "\n".join(context)))
    return tables


def test_every_table_of_figures_names_its_bench_script():
    missing, counted = [], 0
    for page in PAGES:
        for number, table, context in figure_tables(page):
            counted += 1
            if not BENCH.search(context):
                missing.append(f"{rel(page)}:{number}: {table[0][:70]}")
    assert counted > 15, "the figure tables were not found"
    assert not missing, "tables of figures with no bench script named near them:\n" + "\n".join(missing)


def test_every_named_script_config_and_link_exists():
    wrong = []
    for page in [*PAGES, *SCRIPTS]:
        text = page.read_text()
        for name in sorted(set(re.findall(r"\b(?:bench|recipes|configs)/[\w./-]*\w", text))):
            if not (ROOT / name).exists():
                wrong.append(f"{rel(page)}: {name}")
        if page.suffix == ".md":
            for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
                if "://" not in target and not (page.parent / target).exists():
                    wrong.append(f"{rel(page)}: link {target}")
    assert not wrong, "named but missing:\n" + "\n".join(wrong)


def test_the_figure_table_check_fails_on_a_table_with_no_bench(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A\n\n## Speed\n\n| model | x real time |\n|---|---:|\n| a | 12.5 |\n| b | 30.1 |\n")
    [(_, _, context)] = figure_tables(page)
    assert not BENCH.search(context)
    page.write_text(page.read_text().replace("## Speed\n", "## Speed\n\n`bench/models_table.py`:\n"))
    [(_, _, context)] = figure_tables(page)
    assert BENCH.search(context)


@pytest.fixture(scope="module")
def snippet_models(tmp_path_factory):
    """A model home where the names the snippets use resolve to tiny random models."""
    home = tmp_path_factory.mktemp("snippet_models")
    _build_model_dir(dict(TINY_CONFIG, name="2stems"), home / "2stems")
    _build_model_dir(dict(TINY4_CONFIG, name="4stems-lite"), home / "4stems-lite")
    return home


@pytest.fixture
def snippet_folder(snippet_models, music, tmp_path, monkeypatch):
    """A fresh folder with ``song.wav`` (3 s of real music) to run one page's snippets in."""
    monkeypatch.setenv("TFSEP_MODEL_HOME", str(snippet_models))
    monkeypatch.setenv("TFSEP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFSEP_NO_PIP", "1")
    monkeypatch.setenv("TFSEP_RELEASE_URL", "http://127.0.0.1:9/unreachable")
    work = tmp_path / "work"
    work.mkdir()
    sf.write(work / "song.wav", np.asarray(music), 44100, subtype="PCM_16")
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("page", ["README.md", "docs/api.md"])
def test_python_snippets_run(page, snippet_folder):
    blocks = [(first, text) for lang, first, text in code_blocks(ROOT / page) if lang == "python"]
    assert len(blocks) >= 2
    namespace = {"__name__": "__snippet__"}
    for first, text in blocks:
        code = compile("\n" * (first - 1) + text, str(ROOT / page), "exec")
        exec(code, namespace)  # a failure's traceback names the page and the line
    assert (snippet_folder / "separated" / "song").is_dir()


def test_the_version_lives_in_one_place_and_the_changelog_names_it():
    from click.testing import CliRunner

    from tfsep import __version__
    from tfsep.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"tfsep, version {__version__}"
    assert "version = attr: tfsep.__version__" in (ROOT / "setup.cfg").read_text()
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d\d-\d\d$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases and releases[0] == __version__, "CHANGELOG.md's newest release is not tfsep.__version__"
    assert releases == sorted(releases, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
