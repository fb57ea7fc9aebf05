"""Serving client: ``tfsep separate --server`` against loopback stand-ins for TF Serving.

The real ``tensorflow_model_server`` cannot be installed here (not on PyPI or
Debian).  These tests start, on 127.0.0.1 and a free port, a gRPC server
implementing TF Serving's ``PredictionService`` from tensorflow-serving-api's
protos, and an ``http.server`` implementing TF Serving's REST
``/v1/models/NAME:predict``; both run the exported SavedModel with
``tf.saved_model.load``.  They stand in for TF Serving and are always shut
down.
"""

from __future__ import annotations

import json
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from export_helpers import EXPORTED

SR = 44100
MODEL_NAME = "tiny2"


def _run_signature(sm, signature, inputs):
    import tensorflow as tf

    fn = sm.signatures[signature or "serving_default"]
    return {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


@pytest.fixture(scope="module")
def served(tiny_model, tmp_path_factory):
    import tensorflow as tf

    from tfsep.export import export_savedmodel

    path = export_savedmodel(tiny_model, tmp_path_factory.mktemp("serving") / MODEL_NAME)
    return tf.saved_model.load(str(path))


@pytest.fixture
def grpc_server(served):
    """Loopback PredictionService standing in for TF Serving's gRPC API."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            if request.model_spec.name != MODEL_NAME:
                context.abort(
                    grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({request.model_spec.name})"
                )
            sig = request.model_spec.signature_name or "serving_default"
            if sig not in served.signatures:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature name: "{sig}" not found')
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            response = predict_pb2.PredictResponse()
            response.model_spec.CopyFrom(request.model_spec)
            for k, v in _run_signature(served, sig, inputs).items():
                response.outputs[k].CopyFrom(tf.make_tensor_proto(v))
            return response

    options = [("grpc.max_send_message_length", 1 << 30), ("grpc.max_receive_message_length", 1 << 30)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=options)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"grpc://127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


@pytest.fixture
def rest_server(served):
    """Loopback HTTP server standing in for TF Serving's REST predict API (columnar ``inputs``)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if self.path != f"/v1/models/{MODEL_NAME}:predict":
                return self._reply(404, {"error": f"Servable not found for request: {self.path}"})
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            inputs = {k: np.asarray(v, np.float32) for k, v in body["inputs"].items()}
            out = _run_signature(served, body.get("signature_name"), inputs)
            out = {k: v.decode() if isinstance(v, bytes) else v.tolist() for k, v in out.items()}
            if len(out) == 1:  # TF Serving unwraps a single output
                out = next(iter(out.values()))
            return self._reply(200, {"outputs": out})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _separate(args):
    from tfsep.cli import main

    # No Wiener: the served export bakes in the rest of the default preset (mask extension, residual).
    return CliRunner().invoke(main, ["separate", "-q", "--bit-depth", "32", "--clip", "none", "--wiener", "0", *args])


def test_grpc_client_writes_the_same_stems_as_local_separation(grpc_server, tiny_model_dir, music, tmp_path):
    wav = tmp_path / "song.wav"
    sf.write(wav, music[: 2 * SR], SR, subtype="FLOAT")  # several segments of the tiny model
    res = _separate([str(wav), "-o", str(tmp_path / "remote"), "--server", grpc_server, "--model-name", MODEL_NAME])
    assert res.exit_code == 0, res.output
    res = _separate([str(wav), "-o", str(tmp_path / "local"), "-m", str(tiny_model_dir), "--precision", "float32"])
    assert res.exit_code == 0, res.output
    for stem in ("vocals", "accompaniment"):
        remote, _ = sf.read(tmp_path / "remote" / "song" / f"{stem}.wav", dtype="float32")
        local, _ = sf.read(tmp_path / "local" / "song" / f"{stem}.wav", dtype="float32")
        assert remote.shape == local.shape == (2 * SR, 2)
        np.testing.assert_allclose(remote, local, atol=1e-5)


def test_rest_client_matches_local_separator(rest_server, tiny_model, music):
    from tfsep.export.serving_client import RemoteSeparator
    from tfsep.separation import Separator

    x = music[: SR // 2]
    remote = RemoteSeparator(rest_server, MODEL_NAME, stems=["vocals"])
    assert remote.stems == ["vocals"] and remote.sample_rate == SR
    out = remote.separate(x, SR)
    ref = Separator(tiny_model, **EXPORTED).separate(x, SR)
    np.testing.assert_allclose(out["vocals"], ref["vocals"], atol=1e-5)
    short = remote.separate(x[:50], SR)  # shorter than one frame
    assert short["vocals"].shape == (50, 2)


def test_serving_errors_are_one_line(grpc_server, rest_server, music_wav, tmp_path):
    res = _separate([str(music_wav), "-o", str(tmp_path), "--server", grpc_server, "--model-name", "nope"])
    assert res.exit_code == 1 and "NOT_FOUND" in res.output and "Traceback" not in res.output
    res = _separate([str(music_wav), "-o", str(tmp_path), "--server", rest_server, "--model-name", "nope"])
    assert res.exit_code == 1 and "HTTP 404" in res.output
    res = _separate([str(music_wav), "-o", str(tmp_path), "--server", "ftp://x", "--model-name", "m"])
    assert res.exit_code == 1 and "grpc://HOST:PORT" in res.output
    assert not any(tmp_path.rglob("*.wav"))
