"""Every bad input of the CLI in one table: one ``tfsep: error:`` line, the right exit code, nothing written.

Each case runs ``tfsep`` in this process through click's CliRunner.  Usage
errors (a value click itself refuses) exit 2, everything else 1.  Loading a
model makes the case fail: every check of ``separate``, ``evaluate`` and
``export`` must come before the model loads (``tfsep.pretrained.load_model``
is replaced by a trap).  ``test_preflight_imports_no_tensorflow`` checks
the same in a fresh process: the errors come before TensorFlow even starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import noise, write_wav

from tfsep.cli import main

REPO = Path(__file__).resolve().parent.parent


class Ctx:
    """What a case's arguments may refer to: files made for it in ``tmp``, and ``out``, which must stay empty."""

    def __init__(self, tmp: Path, model: Path, wav: Path):
        self.tmp, self.model, self.wav = tmp, model, wav
        self.out = tmp / "out"

    def file(self, name, data=b""):
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path

    def json(self, name, obj):
        return self.file(name, json.dumps(obj))

    def dir(self, name):
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def train_config(self, **training):
        cfg = json.loads((REPO / "configs" / "synth" / "4stems-tiny.json").read_text())
        cfg["training"].update({"train_path": str(self.tmp / "no_data"), "validation_path": None, **training})
        return self.json("train.json", cfg)

    def tracks(self, stems=("vocals", "drums", "bass", "other")):
        for track in ("a", "b"):
            for i, stem in enumerate(stems):
                folder = self.dir(f"tracks/{track}")
                write_wav(folder / f"{stem}.wav", noise(8000, seed=i))
        return self.tmp / "tracks"


def S(ctx, *args):
    """``tfsep separate -q -m TINY_MODEL WAV -o OUT ARGS``."""
    return ["separate", "-q", "-m", ctx.model, ctx.wav, "-o", ctx.out, *args]


def _text_as_mp3(c):
    return c.file("notes.mp3", "these are my lyrics, not audio\n" * 50)


def _nan_wav(c):
    x = noise(8000)
    x[5000, 1] = np.nan
    return write_wav(c.tmp / "nan.wav", x)


def _savedmodel_there(c):
    c.dir("out/1")  # an existing version: refused without --overwrite (and kept)
    return c.out


def _existing_stem(c):
    c.file("out/song/vocals.wav", b"the user's old stem")
    return c.out


def _link(c, name, target):
    link = c.tmp / name
    link.symlink_to(target)
    return link


def _output_is_the_input(c):
    # -f '{track}.wav' in the input's folder names the input itself: refused even with --overwrite.
    return ["separate", "-q", "-m", c.model, c.wav, "-o", c.wav.parent, "-f", "{track}.wav", "--stems", "vocals"]


# (id, args (a function of Ctx), exit code, words the message must contain)
CASES = [
    # -- separate: inputs
    ("sep-missing-input", lambda c: S(c)[:4] + [c.tmp / "nope.wav", "-o", c.out], 1, "nope.wav: no such file"),
    ("sep-symlink-loop", lambda c: S(c)[:4] + [_link(c, "loop.wav", "loop.wav"), "-o", c.out], 1, "symbolic link loop"),
    (
        "sep-broken-symlink",
        lambda c: S(c)[:4] + [_link(c, "gone.wav", "moved.wav"), "-o", c.out],
        1,
        "broken symbolic link (it points to moved.wav",
    ),
    ("sep-empty-stems", lambda c: S(c) + ["--stems", ""], 2, "give stem names"),
    ("sep-sample-rate-1", lambda c: S(c) + ["--sample-rate", "1"], 2, "8000<=x<=384000"),
    ("sep-overlap-1", lambda c: S(c) + ["--overlap", "1"], 2, "0<=x<=0.5"),
    ("sep-segment-0", lambda c: S(c) + ["--segment", "0"], 2, "x>0"),
    ("sep-directory-input", lambda c: S(c)[:4] + [c.dir("adir.wav"), "-o", c.out], 1, "is a directory"),
    ("sep-empty-input", lambda c: S(c)[:4] + [c.file("empty.wav"), "-o", c.out], 1, "empty"),
    ("sep-text-as-mp3", lambda c: S(c)[:4] + [_text_as_mp3(c), "-o", c.out], 1, "notes.mp3"),
    ("sep-nan-samples", lambda c: S(c)[:4] + [_nan_wav(c), "-o", c.out], 1, "NaN"),
    ("sep-no-inputs", lambda c: ["separate", "-q", "-m", c.model], 2, "Missing argument"),
    ("sep-offset-past-end", lambda c: S(c, "--offset", "30"), 1, "offset"),
    ("sep-offset-nan", lambda c: S(c, "--offset", "nan"), 2, "--offset"),
    ("sep-offset-negative", lambda c: S(c, "--offset", "-1"), 2, "--offset"),
    ("sep-duration-inf", lambda c: S(c, "--duration", "inf"), 2, "--duration"),
    ("sep-duration-zero", lambda c: S(c, "--duration", "0"), 2, "--duration"),
    # -- separate: model and separation options
    ("sep-unknown-model", lambda c: S(c)[:2] + ["-m", "nosuchmodel", c.wav, "-o", c.out], 1, "nosuchmodel"),
    ("sep-model-dir-missing", lambda c: S(c)[:2] + ["-m", "./no/such/dir", c.wav, "-o", c.out], 1, "does not exist"),
    ("sep-segment-too-long", lambda c: S(c, "--segment", "100"), 1, "segment"),
    ("sep-segment-nan", lambda c: S(c, "--segment", "nan"), 2, "--segment"),
    ("sep-overlap-too-big", lambda c: S(c, "--overlap", "0.9"), 2, "--overlap"),
    ("sep-batch-size-zero", lambda c: S(c, "--batch-size", "0"), 2, "--batch-size"),
    ("sep-unknown-stem", lambda c: S(c, "--stems", "guitar"), 1, "no stem guitar"),
    ("sep-unknown-residual", lambda c: S(c, "--residual", "guitar"), 1, "residual stem 'guitar'"),
    ("sep-unknown-quality", lambda c: S(c, "--quality", "ultra"), 2, "--quality"),
    ("sep-negative-wiener", lambda c: S(c, "--wiener", "-1"), 2, "--wiener"),
    ("sep-bad-mask-extension", lambda c: S(c, "--mask-extension", "mirror"), 2, "--mask-extension"),
    ("sep-baseline-stem", lambda c: S(c)[:2] + ["-m", "hpss", c.wav, "-o", c.out, "--stems", "vocals"], 1, "hpss"),
    ("sep-server-without-name", lambda c: S(c, "--server", "grpc://127.0.0.1:9"), 2, "--model-name"),
    # -- separate: output format
    ("sep-bitrate-abc", lambda c: S(c, "-c", "mp3", "-b", "abc"), 1, "bitrate 'abc'"),
    ("sep-bitrate-vorbis-refuses", lambda c: S(c, "-c", "ogg", "-b", "1000k"), 1, "ogg cannot be encoded at 1000k"),
    ("sep-flac-32-bit", lambda c: S(c, "-c", "flac", "--bit-depth", "32"), 1, "bit depth 32"),
    ("sep-bad-clip-mode", lambda c: S(c, "--clip", "wrap"), 2, "--clip"),
    ("sep-sample-rate-zero", lambda c: S(c, "--sample-rate", "0"), 2, "--sample-rate"),
    ("sep-unknown-codec", lambda c: S(c, "-c", "aiff"), 2, "--codec"),
    # -- separate: output paths
    ("sep-extension-contradicts-codec", lambda c: S(c, "-f", "{stem}.mp3", "-c", "flac"), 1, ".mp3 files"),
    ("sep-extension-not-audio", lambda c: S(c, "-f", "{stem}.txt"), 1, ".txt"),
    ("sep-unknown-placeholder", lambda c: S(c, "-f", "{track}/{instrument}.{codec}"), 1, "{instrument}"),
    ("sep-same-file-for-stems", lambda c: S(c, "-f", "{track}.{codec}"), 1, "{stem}"),
    ("sep-template-escapes", lambda c: S(c, "-f", "../{stem}.{codec}"), 1, "outside the output directory"),
    ("sep-existing-output", lambda c: S(c)[:6] + [_existing_stem(c)], 1, "--overwrite"),
    ("sep-output-is-input", lambda c: _output_is_the_input(c) + ["--overwrite"], 1, "is the input file"),
    ("sep-output-dir-is-a-file", lambda c: S(c)[:6] + [c.file("out_file.txt", "x")], 1, "not a directory"),
    # -- train and data synth
    ("train-no-config", lambda c: ["train", "-o", c.out], 2, "--config"),
    ("train-config-missing", lambda c: ["train", "-c", c.tmp / "nosuch.json", "-o", c.out], 1, "not found"),
    ("train-config-bad-json", lambda c: ["train", "-c", c.file("bad.json", "{"), "-o", c.out], 1, "invalid JSON"),
    ("train-config-unknown-key", lambda c: ["train", "-c", c.train_config(bogus=1), "-o", c.out], 1, "bogus"),
    ("train-no-data", lambda c: ["train", "-c", c.train_config(), "-o", c.out, "-q"], 1, "no_data"),
    ("train-max-steps-abc", lambda c: ["train", "-c", c.train_config(), "-o", c.out, "--max-steps", "abc"], 2, "abc"),
    ("synth-no-tracks", lambda c: ["data", "synth", "-o", c.out, "--tracks", "0", "-q"], 1, "--tracks"),
    ("synth-unknown-stem", lambda c: ["data", "synth", "-o", c.out, "--stems", "guitar", "-q"], 1, "guitar"),
    # -- evaluate
    ("eval-no-dataset", lambda c: ["evaluate", "-m", "hpss", "-o", c.out], 2, "--musdb"),
    ("eval-missing-tracks", lambda c: ["evaluate", "-m", "hpss", "--tracks", c.tmp / "nope", "-o", c.out], 1, "nope"),
    (
        "eval-param-type",
        lambda c: ["evaluate", "-m", "hpss", "--tracks", c.tracks(), "-p", "margin=abc", "-o", c.out, "-q"],
        1,
        "margin must be a number",
    ),
    (
        "eval-param-range",
        lambda c: ["evaluate", "-m", "hpss", "--tracks", c.tracks(), "-p", "margin=0.5", "-o", c.out, "-q"],
        1,
        "check its -p parameters",
    ),
    ("eval-param-syntax", lambda c: ["evaluate", "-m", "hpss", "--tracks", c.tracks(), "-p", "margin"], 2, "key=value"),
    (
        "eval-unknown-method",
        lambda c: ["evaluate", "-m", "nosuch", "--tracks", c.tracks(), "-o", c.out, "-q"],
        1,
        "nosuch",
    ),
    (
        "eval-offset-nan",
        lambda c: ["evaluate", "-m", "hpss", "--tracks", c.tracks(), "--offset", "nan", "-o", c.out],
        2,
        "--offset",
    ),
    (
        "eval-duration-inf",
        lambda c: ["evaluate", "-m", "hpss", "--tracks", c.tracks(), "--duration", "inf", "-o", c.out],
        2,
        "--duration",
    ),
    ("eval-jobs-zero", lambda c: ["evaluate", "-m", "hpss", "--tracks", c.tracks(), "-j", "0", "-o", c.out], 2, "-j"),
    # -- export
    ("export-under-a-file", lambda c: ["export", "-m", c.model, "-o", c.file("afile", "x") / "x"], 1, "is a file"),
    (
        "export-tflite-under-a-file",
        lambda c: ["export", "-m", c.model, "--format", "tflite", "-o", c.file("afile", "x") / "m.tflite"],
        1,
        "is a file",
    ),
    ("export-unknown-model", lambda c: ["export", "-m", "nosuch", "-o", c.out], 1, "nosuch"),
    ("export-existing-version", lambda c: ["export", "-m", c.model, "-o", _savedmodel_there(c)], 1, "--overwrite"),
    ("export-negative-version", lambda c: ["export", "-m", c.model, "-o", c.out, "--version", "-1"], 1, "version"),
    ("export-bad-format", lambda c: ["export", "-m", c.model, "--format", "onnx", "-o", c.out], 2, "--format"),
    (
        "export-frames-zero",
        lambda c: ["export", "-m", c.model, "--format", "tflite", "-o", c.out, "--frames", "0"],
        2,
        "--frames",
    ),
]


@pytest.fixture(autouse=True)
def _hermetic_model_places(hermetic_model_places):
    """Every test here looks models up in its own empty places (conftest)."""


# Found only by decoding the whole file, so after the model loads (and before anything is written).
NEEDS_THE_MODEL = {"sep-nan-samples"}


@pytest.fixture
def no_model_loading(monkeypatch, request):
    """Loading a model fails the test: the error must come first."""
    if request.node.callspec.id in NEEDS_THE_MODEL:
        return

    def trap(*args, **kwargs):
        raise AssertionError(f"a model was loaded ({args}) before the error")

    import tfsep.pretrained

    monkeypatch.setattr(tfsep.pretrained, "load_model", trap)


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def test_the_table_is_wide():
    commands = {args_id.split("-")[0] for args_id, *_ in CASES}
    assert len(CASES) >= 30 and commands == {"sep", "train", "synth", "eval", "export"}
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("make_args, code, needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, tiny_model_dir, music_wav, no_model_loading, make_args, code, needle):
    wav = tmp_path / "in" / "song.wav"
    wav.parent.mkdir()
    wav.write_bytes(Path(music_wav).read_bytes())
    ctx = Ctx(tmp_path, tiny_model_dir, wav)
    args = [str(a) for a in make_args(ctx)]
    before = _tree(tmp_path)  # what the case set up (and the input): all of it must stay as it is
    result = CliRunner().invoke(main, args)

    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tfsep: error: "), lines[0]
    assert needle in lines[0], (needle, lines[0])
    assert _tree(tmp_path) == before  # nothing written, nothing removed, no empty folder or temp file left


PREFLIGHT_CASES = [
    ["{wav_dir}/nope.wav"],
    ["{wav}", "--segment", "100"],
    ["{wav}", "-c", "mp3", "-b", "abc"],
    ["{wav}", "-c", "flac", "--bit-depth", "32"],
    ["{wav}", "--residual", "guitar"],
    ["{wav}", "-f", "{{track}}.wav", "-o", "{wav_dir}", "--stems", "vocals", "--overwrite"],
]

PROBE = """
import json, sys
from click.testing import CliRunner
from tfsep.cli import main
out = []
for args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(main, ["separate", "-q", "-m", sys.argv[2], "-o", sys.argv[3]] + args)
    out.append([r.exit_code, r.stderr.strip()])
print(json.dumps({"results": out, "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}))
"""


def test_preflight_imports_no_tensorflow(tmp_path, tiny_model_dir):
    """The pre-flight errors of ``separate`` come before TensorFlow is even imported (a fresh process)."""
    wav = write_wav(tmp_path / "song.wav", noise(8000))
    cases = [[a.format(wav=wav, wav_dir=tmp_path) for a in case] for case in PREFLIGHT_CASES]
    env = dict(os.environ, TFSEP_MODEL_HOME=str(tmp_path / "home"), TFSEP_CACHE=str(tmp_path / "cache"))
    res = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(cases), str(tiny_model_dir), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    probe = json.loads(res.stdout.strip().splitlines()[-1])
    for case, (code, stderr) in zip(cases, probe["results"]):
        assert code == 1 and stderr.startswith("tfsep: error: ") and "\n" not in stderr, (case, code, stderr)
    assert not probe["tensorflow"] and not probe["keras"], "the model (TensorFlow) was loaded before the errors"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_a_read_only_file_system_is_named_as_such(tmp_path, monkeypatch):
    """Not "permission denied": a read-only mount needs another fix (another -o), not chmod."""
    import os as os_mod

    from tfsep.errors import OutputError
    from tfsep.separation.outputs import check_writable

    target = {"vocals": tmp_path / "out" / "vocals.wav"}
    monkeypatch.setattr(os_mod, "access", lambda path, mode: False)
    with pytest.raises(OutputError, match="permission denied"):
        check_writable(target, overwrite=False)
    real = os_mod.statvfs(tmp_path)

    class ReadOnly:
        f_flag = real.f_flag | os_mod.ST_RDONLY

    monkeypatch.setattr(os_mod, "statvfs", lambda path: ReadOnly())
    with pytest.raises(OutputError, match=f"cannot write to {tmp_path}: read-only file system"):
        check_writable(target, overwrite=False)


def test_a_tiny_rescale_is_never_reported_as_minus_zero_db():
    from tfsep.separation.stem_sink import _db, _gain_text

    assert _gain_text(_db(1 / 1.00001)) == "less than 0.001 dB"
    assert _gain_text(_db(1 / 1.0001)) == "-0.001 dB"
    assert _gain_text(_db(1 / 1.004)) == "-0.035 dB"
    assert _gain_text(_db(0.5)) == "-6.0 dB"


def test_an_unreachable_4stems_suggests_the_offline_model(monkeypatch, tmp_path):
    from tfsep import pretrained
    from tfsep.errors import ModelError

    monkeypatch.setenv("TFSEP_RELEASE_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(ModelError, match="offline, -m 4stems-lite needs no download"):
        pretrained.resolve("4stems", quiet=True)
