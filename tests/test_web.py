"""mobile/web: the LiteRT.js page separates in headless Chromium like tfsep does.

The page is served on 127.0.0.1 by mobile/web/serve.py, driven over the
DevTools protocol (mobile/web/headless.py), fed the Falcon 69 excerpt through
its file input, and the WAVs behind its download links are compared with the
Separator on the same input, with the options the export bakes in.  Skips
without Debian's chromium or mobile/web/node_modules (``npm ci``), unless
``TFSEP_REQUIRE_BROWSER=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import falcon_path
from export_helpers import EXPORTED, pretrained_2stems, sdr

SR = 44100
WEB = Path(__file__).resolve().parent.parent / "mobile" / "web"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, WEB / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, mod)
    spec.loader.exec_module(mod)
    return sys.modules[name]


serve = _load("serve")
headless = _load("headless")


def _require(ok, why):
    if ok:
        return
    if os.environ.get("TFSEP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why} (TFSEP_REQUIRE_BROWSER=1)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    _require(headless.chromium_binary(), "chromium not installed (apt-get install chromium chromium-driver)")
    _require(headless.node_modules_ready(), "mobile/web/node_modules missing (cd mobile/web && npm ci)")
    with headless.Chromium() as b:
        yield b


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("web_models")


@pytest.fixture(scope="module")
def site(models_dir):
    """The page as ``python3 mobile/web/serve.py`` serves it (COOP/COEP: threaded WASM)."""
    server, base = serve.serve_in_thread(port=0, models=str(models_dir), quiet=True)
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def falcon_wav(tmp_path_factory):
    """4 s of Falcon 69, the mixture as the sum of its stems, as a float WAV; returns (path, waveform)."""
    from tfsep.audio.io import load_stems

    stems, sr = load_stems(falcon_path(), sample_rate=SR)
    mix = sum(stems[k] for k in ("drums", "bass", "other", "vocals"))[2 * SR : 6 * SR].astype(np.float32)
    path = tmp_path_factory.mktemp("web_audio") / "falcon.wav"
    sf.write(path, mix, SR, subtype="FLOAT")
    return path, mix


def _export(model, models_dir, name):
    from tfsep.export.tflite import export_tflite

    path = export_tflite(model, models_dir / f"{name}.tflite", graph="full", overwrite=True)
    return path, json.loads(path.with_suffix(".json").read_text())


def _reference(model, meta, x):
    """What tfsep separates with the options the export computes with (no Wiener, no TTA)."""
    from tfsep.separation import Separator

    sep = Separator(
        model,
        wiener_iterations=0,
        shifts=0,
        channel_swap=False,
        mask_extension=meta.get("mask_extension"),
        residual=meta.get("residual") or "none",
        precision=EXPORTED["precision"],
    )
    return sep.separate(x, SR)


def _wavs(out):
    return {stem: sf.read(io.BytesIO(data), dtype="float32") for stem, data in out["wavs"].items()}


def _check_against(ref, out, x, min_sdr=30):
    assert out["error"] is None, out["error"]
    stems = _wavs(out)
    assert list(stems) == list(ref)
    scores = {}
    for stem, (y, sr) in stems.items():
        assert sr == SR and y.shape == x.shape, (stem, sr, y.shape)
        scores[stem] = sdr(ref[stem], y)
        assert scores[stem] >= min_sdr, (stem, scores[stem])
    return scores


def _report(label, scores, result):
    sdrs = ", ".join(f"{k} {v:.1f} dB" for k, v in scores.items())
    print(
        f"\n[web] {label}: SDR vs tfsep {sdrs}; {result['audioSeconds']:.1f} s in {result['seconds']:.2f} s "
        f"= {result['xRealTime']:.2f}x real time ({result['backend']}, {result['segments']} segments)"
    )


def test_page_separates_like_tfsep(browser, site, models_dir, falcon_wav, tiny_model):
    path, x = falcon_wav
    _, meta = _export(tiny_model, models_dir, "tiny2_full")
    page = headless.open_page(browser, site, "models/tiny2_full.tflite", accelerator="wasm")
    assert page.evaluate("self.crossOriginIsolated"), "serve.py must send COOP/COEP"
    out = headless.separate_file(page, path, wav_bits=32)
    ref = _reference(tiny_model, meta, x)
    scores = _check_against(ref, out, x)
    assert out["result"]["backend"] == "wasm (threads)"
    assert out["result"]["segments"] > 10  # tiny segments: many crossfades and a short last one
    assert page.evaluate("document.getElementById('progress').value") == 1
    _report("tiny2", scores, out["result"])
    # The default download is 16-bit PCM: the same stems, quantised.
    page.evaluate("document.getElementById('wav-format').value = '16'")
    page.evaluate("document.getElementById('wav-format').dispatchEvent(new Event('change'))")
    pcm = page.evaluate(headless.READ_DOWNLOADS)
    for stem, item in pcm.items():
        data = base64.b64decode(item["data"])
        assert sf.info(io.BytesIO(data)).subtype == "PCM_16"
        assert item["name"] == f"falcon_{stem}.wav"
        y, _ = sf.read(io.BytesIO(data), dtype="float32")
        assert sdr(np.clip(ref[stem], -1, 1), y) >= 30, stem


def test_plain_server_and_picked_model_files(browser, models_dir, falcon_wav, tiny_model):
    """No COOP/COEP (as ``python -m http.server``): single-threaded WASM; the model picked as files."""
    path, x = falcon_wav
    tfl, meta = _export(tiny_model, models_dir, "tiny2_picked")
    server, base = serve.serve_in_thread(port=0, models=str(models_dir), quiet=True, isolate=False)
    try:
        page = browser.new_page()
        page.navigate(base + "?model=models/missing.tflite")
        assert page.wait_for("window.tfsepWeb && tfsepWeb.state === 'error'")
        assert "Cannot load the model: models/missing.json answered HTTP 404" in page.evaluate("tfsepWeb.error")
        assert page.evaluate("document.getElementById('error').textContent").startswith("Cannot load the model")
        assert headless.separate_file(page, path)["error"].startswith("Cannot load the model")  # still says why
        page.set_files("#model-files", [tfl, tfl.with_suffix(".json")])
        assert page.wait_for("tfsepWeb.state === 'ready'")
        assert not page.evaluate("self.crossOriginIsolated")
        out = headless.separate_file(page, path, wav_bits=32)
    finally:
        server.shutdown()
        server.server_close()
    scores = _check_against(_reference(tiny_model, meta, x), out, x)
    assert out["result"]["backend"] == "wasm"
    _report("tiny2, single thread", scores, out["result"])


def test_undecodable_file_is_a_clear_message(browser, site, models_dir, tiny_model, tmp_path):
    _export(tiny_model, models_dir, "tiny2_full")
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"this is not audio at all\n" * 100)
    page = headless.open_page(browser, site, "models/tiny2_full.tflite", accelerator="wasm")
    out = headless.separate_file(page, bad)
    assert out["error"].startswith('Cannot decode "broken.mp3"'), out["error"]
    assert "WAV, MP3" in page.evaluate("document.getElementById('error').textContent")
    assert page.evaluate("document.querySelectorAll('#stems .stem').length") == 0


def _tfsep_separate(wav, meta, out_dir):
    """``tfsep separate`` with the export's options, float WAVs: ``{stem: waveform}``."""
    from click.testing import CliRunner

    from tfsep.cli import main

    args = ["separate", "-q", str(wav), "-o", str(out_dir), "--bit-depth", "32", "--clip", "none"]
    args += ["--wiener", "0", "--shifts", "0", "--no-channel-swap", "--residual", meta.get("residual") or "none"]
    if meta.get("mask_extension"):
        args += ["--mask-extension", meta["mask_extension"]]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    track = Path(wav).stem
    return {stem: sf.read(out_dir / track / f"{stem}.wav", dtype="float32")[0] for stem in meta["stems"]}


@pytest.mark.slow
def test_pretrained_2stems_in_browser_matches_tfsep_separate(browser, site, models_dir, falcon_wav, tmp_path):
    path, x = falcon_wav
    model = pretrained_2stems()
    _, meta = _export(model, models_dir, "2stems_full")
    page = headless.open_page(browser, site, "models/2stems_full.tflite", accelerator="wasm")
    out = headless.separate_file(page, path, wav_bits=32)
    scores = _check_against(_tfsep_separate(path, meta, tmp_path / "cli"), out, x)
    _report("2stems vs tfsep separate", scores, out["result"])


def _live_reference(model, plan, x):
    """tfsep's own stream over the input the page's worker received, with the export's options and plan."""
    from tfsep.separation import Separator

    sep = Separator(model, **{**EXPORTED, "residual": "auto"})
    stream = sep.stream(latency=plan["latency"] / SR, window=plan["window"] / SR, hop=plan["hop"] / SR)
    assert stream.plan.hop == plan["hop"] and stream.plan.latency == plan["latency"]
    outs = [stream.process(x[i : i + 4096]) for i in range(0, len(x), 4096)] + [stream.flush()]
    L = stream.latency_samples
    return {k: np.concatenate([o[k] for o in outs])[L : L + len(x)] for k in stream.stems}


def test_stream_js_plans_and_blends_windows_as_tfsep_does(tmp_path, tiny_model):
    """mobile/web/stream.js (in Node) against tfsep.separation.stream on the same stand-in model."""
    import shutil
    import subprocess

    from tfsep.separation.stream import _Windows
    from tfsep.separation.stream_plan import live_plan

    node = shutil.which("node")
    _require(node, "node not installed")
    x = (np.random.default_rng(3).standard_normal((30000, 2)) * 0.3).astype(np.float32)
    x.tofile(tmp_path / "in.f32")
    meta = {"segment_samples": 8192, "frame_step": 128, "crossfade_edge": 384, "n_channels": 2,
            "stems": ["a", "b"], "sample_rate": SR, "kind": "spectrogram"}  # fmt: skip
    script = tmp_path / "run.mjs"
    script.write_text(
        f"""import {{ livePlan, StemStream }} from {json.dumps((WEB / "stream.js").as_uri())};
import {{ readFileSync, writeFileSync }} from 'node:fs';
const x = new Float32Array(readFileSync({json.dumps(str(tmp_path / "in.f32"))}).buffer.slice(0));
const meta = {json.dumps(meta)}, C = 2, W = 8192;
const run = async (seg) => {{  // a stand-in model whose stems depend on where a sample sits in its window
  const out = new Float32Array(2 * W * C);
  for (let t = 0; t < W; t++) for (let c = 0; c < C; c++) {{
    const v = seg[t * C + c], k = Math.fround(Math.tanh(3 * v) * (1 + t / W));
    out[t * C + c] = k; out[W * C + t * C + c] = v - k;
  }}
  return out;
}};
const plan = livePlan(meta, {round(0.15 * SR)});
const s = new StemStream(meta, run, plan);
const parts = [[], []], sizes = [128, 1000, 7, 4096];
for (let i = 0, j = 0; i < x.length / C; j++) {{
  const n = Math.min(sizes[j % 4], x.length / C - i);
  (await s.push(x.subarray(i * C, (i + n) * C))).forEach((y, k) => parts[k].push(...y));
  i += n;
}}
(await s.flush()).forEach((y, k) => parts[k].push(...y));
writeFileSync({json.dumps(str(tmp_path / "out.f32"))}, Buffer.from(new Float32Array([...parts[0], ...parts[1]]).buffer));
console.log(JSON.stringify({{hop: plan.hop, crossfade: plan.crossfade}}));
"""
    )
    got = json.loads(subprocess.run([node, str(script)], capture_output=True, text=True, check=True).stdout)
    L, W = round(0.15 * SR), 8192
    assert got == {"hop": 3200, "crossfade": 800}  # tfsep.separation.stream_plan's defaults for this latency

    def run(seg):
        k = np.tanh(3 * seg) * (1 + np.arange(W, dtype=np.float32) / W)[:, None]
        return np.stack([k, seg - k])

    core = _Windows(run, live_plan(W, L, hop=3200, crossfade=800, edge=384), 2, 2)
    parts = [core.push(x[i : i + 333]) for i in range(0, len(x), 333)] + [core.flush()]
    want = np.concatenate([p for p in parts if p.size], axis=1)
    js = np.fromfile(tmp_path / "out.f32", np.float32).reshape(2, -1, 2)
    assert js.shape == want.shape == (2, len(x), 2)
    np.testing.assert_allclose(js, want, atol=1e-5)


def test_live_page_separates_a_microphone_in_a_worker(models_dir, falcon_wav, tiny_model, tmp_path):
    """The live page on a fake microphone playing real music for 30 s: the stems are tfsep's own stream's."""
    _require(headless.chromium_binary(), "chromium not installed (apt-get install chromium chromium-driver)")
    _require(headless.node_modules_ready(), "mobile/web/node_modules missing (cd mobile/web && npm ci)")
    from tfsep.export.tflite import export_tflite

    export_tflite(tiny_model, models_dir / "tiny2_live.tflite", graph="full", frames=64, overwrite=True)
    path, x = falcon_wav
    mic = tmp_path / "mic.wav"
    sf.write(mic, x, SR, subtype="PCM_16")  # what Chromium's fake capture device reads (looped)
    server, base = serve.serve_in_thread(port=0, models=str(models_dir), quiet=True)
    try:
        with headless.Chromium(flags=headless.fake_microphone_flags(mic)) as browser:
            out = headless.run_live(browser, base, "models/tiny2_live.tflite", 0.2, seconds=30, record_seconds=10)
    finally:
        server.shutdown()
        server.server_close()
    plan, record, figures = out["plan"], out["record"], out["figures"]
    assert plan["backend"] == "wasm (threads)" and plan["window"] == 8192
    received = record["input"]
    assert record["received"] >= 25 * SR and len(received) == 10 * SR  # the microphone ran for the 30 s
    assert np.sqrt(np.mean(received**2)) > 0.01  # and it heard the music, not silence
    ref = _live_reference(tiny_model, plan, received)
    scores = {}
    for stem, y in zip(["vocals", "accompaniment"], record["stems"]):
        n = min(len(y), len(ref[stem]))
        assert n > 9 * SR
        scores[stem] = sdr(ref[stem][:n], y[:n])
        assert scores[stem] >= 30, scores
    print(
        f"\n[web live] tiny2, latency {plan['total']} s: SDR vs tfsep's stream "
        + ", ".join(f"{k} {v:.1f} dB" for k, v in scores.items())
        + f"; {record['received'] / SR / record['busy']:.1f}x real time; underruns in 30 s: {figures.get('underruns')}"
    )
