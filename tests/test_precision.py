"""``precision``: the network in bfloat16 where the CPU runs it natively, float32 elsewhere.

``auto`` must never pick bfloat16 on a CPU that would emulate it (slower
than float32), and every precision must give finite stems that sum to the
mixture and stay close to float32's.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SR

from tfsep.cli import main
from tfsep.errors import TfsepError
from tfsep.separation import Separator
from tfsep.separation import precision as prec

# Its results depend on the CPU's instructions: `make test` runs it again as the other class of CPU.
pytestmark = pytest.mark.cpu_sensitive


@pytest.fixture
def no_isa_cap(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)


@pytest.fixture
def no_gpu(monkeypatch):
    """The probe of a GPU says none, as on the CPU machines these tests are about (a CUDA install sees one)."""
    monkeypatch.setattr(prec, "_gpu_visible", lambda: False)


def test_auto_picks_bfloat16_only_where_the_cpu_has_it(monkeypatch, no_isa_cap, no_gpu):
    x86_avx2 = {"sse4_2", "avx", "avx2", "fma", "avx512f"}
    assert prec.resolve_precision("auto", x86_avx2) == "float32"
    assert prec.resolve_precision("auto", x86_avx2 | {"avx512_bf16"}) == "bfloat16"
    assert prec.resolve_precision("auto", {"amx_bf16", "amx_tile"}) == "bfloat16"
    assert prec.resolve_precision(None, set()) == "float32"
    # Arm's "bf16" feature counts on Arm only.
    monkeypatch.setattr(prec.platform, "machine", lambda: "aarch64")
    assert prec.resolve_precision("auto", {"fp", "asimd", "bf16"}) == "bfloat16"
    monkeypatch.setattr(prec.platform, "machine", lambda: "x86_64")
    assert prec.resolve_precision("auto", {"bf16"}) == "float32"
    # oneDNN capped below its bfloat16 kernels: bfloat16 would be emulated, so auto stays float32.
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert prec.resolve_precision("auto", x86_avx2 | {"avx512_bf16"}) == "float32"
    # An explicit choice is kept; an unknown one is refused in one line.
    assert prec.resolve_precision("bfloat16", set()) == "bfloat16"
    with pytest.raises(TfsepError, match="precision must be one of auto, float32, bfloat16"):
        prec.resolve_precision("int8", set())
    # With a GPU visible, auto keeps float32 whatever the CPU (Keras' own mixed precision is the tool there).
    monkeypatch.setattr(prec, "_gpu_visible", lambda: True)
    assert prec.resolve_precision("auto", x86_avx2 | {"avx512_bf16"}) == "float32"


def test_separator_auto_follows_the_probe(monkeypatch, tiny_model, no_isa_cap, no_gpu):
    monkeypatch.setattr(prec, "cpu_features", lambda: {"avx2", "fma"})
    sep = Separator(tiny_model)
    assert sep.precision == "float32" and sep.model is tiny_model
    monkeypatch.setattr(prec, "cpu_features", lambda: {"avx2", "avx512_bf16"})
    sep = Separator(tiny_model)
    assert sep.precision == "bfloat16"
    assert {layer.dtype_policy.name for layer in sep.model.keras_model.layers if layer.weights} == {"mixed_bfloat16"}


@pytest.fixture(scope="module")
def float64_twin(tiny_model):
    """The tiny model with its network in float64: a reference no precision under test computes."""
    from tfsep import models
    from tfsep.models import TfsepModel, dtype_policy

    with dtype_policy("float64"):
        twin = models.build(tiny_model.config)
    twin.set_weights([np.asarray(w, np.float64) for w in tiny_model.keras_model.get_weights()])
    assert {w.dtype for w in twin.weights} == {"float64"}
    return TfsepModel(twin, tiny_model.config, tiny_model.path)


@pytest.mark.parametrize("precision, min_snr", [("float32", 100), ("bfloat16", 25)])
def test_each_precision_gives_finite_stems_that_sum_to_the_mixture(tiny_model, float64_twin, music, precision, min_snr):
    x = music[: 3 * 8192 + 100]
    # The reference runs the same weights in float64 (STFT and masks as the separator's): float32 is
    # measured 139 dB from it, bfloat16 57 dB; a "float32" that ran in bfloat16 would show.
    ref = Separator(float64_twin, precision="float32", residual="none", mask_extension="average")
    sep = Separator(tiny_model, precision=precision, residual="none", mask_extension="average")
    out = sep.separate(x, SR)
    assert all(np.all(np.isfinite(y)) and y.shape == x.shape for y in out.values())
    # Ratio masks sum to one: the stems sum to the mixture away from the first and last frame.
    total = sum(out.values())
    inner = slice(512, len(x) - 512)
    err = np.sum((total[inner] - x[inner]) ** 2) / np.sum(x[inner] ** 2)
    assert 10 * np.log10(err) < -40
    # And close to the float64 network's stems (bfloat16 keeps 8 bits of mantissa inside the network only).
    want = ref.separate(x, SR)
    for stem in out:
        error = np.sum((want[stem] - out[stem]) ** 2)
        assert error > 0, "the reference is the code under test"
        snr = 10 * np.log10(np.sum(want[stem] ** 2) / error)
        assert snr > min_snr, (stem, snr)


def test_cli_precision_option(tmp_path, music_wav, tiny_model_dir):
    import json

    import soundfile as sf

    written = {}
    for precision in ("float32", "bfloat16"):
        out = tmp_path / precision
        args = ["separate", str(music_wav), "-o", str(out), "-m", str(tiny_model_dir), "--bit-depth", "32"]
        res = CliRunner().invoke(main, [*args, "--precision", precision, "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["precision"] == precision  # what the separator ran
        written[precision] = sf.read(out / "song" / "vocals.wav", dtype="float32")[0]
    # The option reached the network: bfloat16's stems are not float32's (nor further than 25 dB).
    diff = np.sum((written["float32"] - written["bfloat16"]) ** 2)
    assert 0 < diff < np.sum(written["float32"] ** 2) / 10**2.5
    res = CliRunner().invoke(
        main, ["separate", str(music_wav), "-o", str(out), "-m", str(tiny_model_dir), "--precision", "int8"]
    )
    assert res.exit_code == 2 and "int8" in res.output
