"""Separate through a running TF Serving: gRPC (``grpc://HOST:PORT``) or REST (``http://HOST:PORT``).

The server runs a SavedModel from :mod:`tfsep.export.savedmodel`.  The client
reads the model's ``config`` signature (stems, rate, segmenting), cuts the
input into the same overlapping segments as the local ``Separator``, sends
each segment to ``serving_default`` (one segment in, so the server applies no
crossfade of its own) and blends the answers with the same crossfade
weights: the stems equal local separation up to float rounding, and
``tfsep.separation.stemfiles.separate_file`` writes them like local ones.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Iterable, Iterator
from urllib.parse import urlparse

import numpy as np

from ..errors import AudioError, TfsepError
from ..separation.options import select_stems
from ..separation.overlap_add import overlap_add_stream
from ..separation.plan import make_plan

MAX_MESSAGE = 1 << 30


class ServingError(TfsepError):
    """The model server cannot be reached or answers with an error."""


# -- TensorProto <-> numpy without TensorFlow's helpers --------------------------------


def to_tensor_proto(array):
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    a = np.ascontiguousarray(array, dtype=np.float32)
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in a.shape])
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape, tensor_content=a.tobytes())


def from_tensor_proto(proto):
    from tensorflow.core.framework import types_pb2

    shape = [d.size for d in proto.tensor_shape.dim]
    if proto.dtype == types_pb2.DT_STRING:
        values = [v.decode("utf-8") for v in proto.string_val]
        return values[0] if not shape and values else np.array(values, dtype=object).reshape(shape)
    if proto.dtype != types_pb2.DT_FLOAT:
        raise ServingError(f"unexpected output dtype {types_pb2.DataType.Name(proto.dtype)}")
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=np.float32).reshape(shape)
    values = np.asarray(proto.float_val, dtype=np.float32)
    if values.size == 1 and int(np.prod(shape)) != 1:
        values = np.full(shape, values[0], np.float32)
    return values.reshape(shape)


class GrpcClient:
    """``PredictionService.Predict`` over gRPC (tensorflow-serving-api protos)."""

    def __init__(self, address: str, model_name: str, timeout: float = 300.0):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.address, self.model_name, self.timeout = address, model_name, timeout
        options = [("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)]
        self.channel = grpc.insecure_channel(address, options=options)
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)

    def predict(self, signature: str, inputs: dict) -> dict:
        import grpc
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = signature
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(to_tensor_proto(value))
        try:
            response = self.stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise ServingError(
                f"grpc://{self.address} model {self.model_name!r} signature {signature!r}: "
                f"{exc.code().name}: {exc.details()}"
            ) from None
        return {name: from_tensor_proto(t) for name, t in response.outputs.items()}

    def close(self):
        self.channel.close()


class RestClient:
    """TF Serving's REST API: ``POST /v1/models/NAME:predict`` with columnar ``inputs``."""

    def __init__(self, base_url: str, model_name: str, timeout: float = 300.0):
        self.url = f"{base_url.rstrip('/')}/v1/models/{model_name}:predict"
        self.model_name, self.timeout = model_name, timeout

    def predict(self, signature: str, inputs: dict) -> dict:
        body = {"signature_name": signature, "inputs": {k: np.asarray(v).tolist() for k, v in inputs.items()}}
        req = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                answer = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            try:
                detail = json.loads(detail).get("error", detail)
            except ValueError:
                pass
            raise ServingError(f"{self.url} signature {signature!r}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ServingError(f"{self.url}: {getattr(exc, 'reason', exc)}") from None
        if "error" in answer:
            raise ServingError(f"{self.url} signature {signature!r}: {answer['error']}")
        outputs = answer.get("outputs")
        if not isinstance(outputs, dict):  # TF Serving unwraps a single output
            outputs = {"__single__": outputs}
        return {k: v if isinstance(v, str) else np.asarray(v, dtype=np.float32) for k, v in outputs.items()}

    def close(self):
        pass


class SavedModelClient:
    """The same signatures called in this process on an exported SavedModel (no server): batch jobs, tests."""

    def __init__(self, path: str):
        import tensorflow as tf

        self.path = str(path)
        try:
            self.loaded = tf.saved_model.load(self.path)
        except Exception as exc:
            raise ServingError(f"{path}: cannot load the SavedModel ({type(exc).__name__}: {exc})") from None
        self.model_name = os.path.basename(os.path.normpath(self.path))

    def predict(self, signature: str, inputs: dict) -> dict:
        import tensorflow as tf

        try:
            fn = self.loaded.signatures[signature]
        except KeyError:
            raise ServingError(f"{self.path}: no signature {signature!r} (is it a tfsep export?)") from None
        out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy().decode() if v.dtype == tf.string else v.numpy() for k, v in out.items()}

    def close(self):
        pass


def is_savedmodel(path) -> bool:
    """True for a directory holding a SavedModel (``saved_model.pb``), such as ``tfsep export``'s ``<out>/1``."""
    return os.path.isfile(os.path.join(os.fspath(path), "saved_model.pb"))


def connect(server: str, model_name: str, timeout: float = 300.0):
    """A client for ``grpc://HOST:PORT``, ``http(s)://HOST:PORT``, or a local SavedModel directory."""
    if is_savedmodel(server):
        return SavedModelClient(server)
    url = urlparse(server)
    if url.scheme == "grpc" and url.netloc:
        return GrpcClient(url.netloc, model_name, timeout)
    if url.scheme in ("http", "https") and url.netloc:
        return RestClient(server, model_name, timeout)
    raise ServingError(f"server must be grpc://HOST:PORT or http://HOST:PORT, got {server!r}")


class RemoteSeparator:
    """A separator whose model runs in TF Serving; drop-in for ``Separator`` in ``tfsep.separation.stemfiles.separate_file``.

    Args:
        server: ``grpc://HOST:PORT``, ``http://HOST:PORT``, or the directory
            of an exported SavedModel (run here, without a server).
        model_name: the name TF Serving serves the model under.
        overlap: overlap fraction (default: the exported model's).
        stems: keep only these stems.
    """

    def __init__(self, server: str, model_name: str, *, overlap=None, stems=None, timeout: float = 300.0):
        self.client = connect(server, model_name, timeout)
        out = self.client.predict("config", {"unused": np.float32(0.0)})
        raw = out.get("config", out.get("__single__"))
        try:
            meta = json.loads(raw)
        except (TypeError, ValueError):
            raise ServingError(f"{server} model {model_name!r}: its config signature is not a tfsep export") from None
        self.config = meta
        self.sample_rate = meta["sample_rate"]
        self.channels = meta["n_channels"]
        frac = meta["overlap"] / meta["segment"] if overlap is None else float(overlap)
        self.plan = make_plan(meta["segment"], frac, meta["crossfade_edge"], meta.get("padding", 0))
        self.segment, self.overlap, self.hop = self.plan.segment, self.plan.overlap, self.plan.hop
        self.stems = select_stems(meta["stems"], stems, meta["name"])

    def _run(self, segment: np.ndarray) -> np.ndarray:
        # Zero-padded to a whole segment, as the local Separator runs its last one.
        full = np.zeros((self.segment, self.channels), np.float32)
        full[: len(segment)] = segment
        out = self.client.predict("separate_segment", {"waveform": full})
        try:
            y = np.stack([np.asarray(out[s], np.float32) for s in self.stems])
        except KeyError as exc:
            raise ServingError(f"server answer lacks stem {exc}") from None
        if y.shape[1:] != full.shape or not np.all(np.isfinite(y)):
            raise ServingError(
                f"server answered stems of shape {y.shape[1:]} (non-finite or wrong) for a segment {segment.shape}"
            )
        return y

    def iter_separate(self, blocks: Iterable[np.ndarray], on_segment=None) -> Iterator[np.ndarray]:
        """Blocks ``(n, C)`` -> stem blocks ``(stems, m, C)``; the same segments and weights as ``Separator``."""
        return overlap_add_stream(
            blocks,
            lambda segments: [self._run(seg) for seg in segments],
            segment=self.segment,
            hop=self.hop,
            window=self.plan.window,
            n_stems=len(self.stems),
            channels=self.channels,
            padding=self.plan.padding,
            on_segment=on_segment,
        )

    def separate(self, waveform, sample_rate: int) -> dict:
        """Waveform ``(samples, channels)`` at the model's rate -> ``{stem: waveform}``."""
        x = np.asarray(waveform, np.float32)
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise AudioError(f"waveform must have shape (samples, {self.channels}), got {x.shape}")
        if int(sample_rate) != self.sample_rate:
            raise AudioError(f"the served model needs {self.sample_rate} Hz audio, got {sample_rate}")
        parts = list(self.iter_separate([x]))
        if not parts:
            raise AudioError("waveform is empty (0 samples)")
        out = np.concatenate(parts, axis=1)
        return {s: out[i] for i, s in enumerate(self.stems)}

    def separate_file(self, path, output_dir, **options):
        from ..separation.stemfiles import separate_file

        return separate_file(self, path, output_dir, **options)
