"""``tfsep export``: SavedModel for TF Serving, TFLite for devices."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import TfsepError
from .common import fail, status_line


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@click.command()
@click.option(
    "-m", "--model", default=None, help="Model name (2stems, 4stems, 5stems) or model directory. [default: 2stems]"
)
@click.option("--format", "fmt", type=click.Choice(["savedmodel", "tflite"]), default="savedmodel", show_default=True)
@click.option(
    "-o",
    "--output",
    required=True,
    help="savedmodel: the model base directory (writes OUTPUT/VERSION/); tflite: a .tflite file or a directory.",
)
@click.option(
    "--version", "model_version", type=int, default=1, show_default=True, help="SavedModel version sub-directory."
)
@click.option(
    "--graph",
    type=click.Choice(["core", "full"]),
    default="core",
    show_default=True,
    help="tflite: core = magnitude (T, F, C) -> masks; full = waveform segment -> stems.",
)
@click.option(
    "--quantize",
    type=click.Choice(["none", "float16", "int8"]),
    default="none",
    show_default=True,
    help="tflite weights: float16, or int8 (weight-only, float compute; needs ai-edge-quantizer).",
)
@click.option(
    "--frames", type=click.IntRange(min=1), default=None, help="tflite: STFT frames per call (default: the model's T)."
)
@click.option("--overwrite", is_flag=True, help="Replace existing output.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
def export(model, fmt, output, model_version, graph, quantize, frames, overwrite, as_json):
    """Export a model as a SavedModel (TF Serving) or a builtin-ops TFLite file."""
    try:
        from ..export.outputs import check_export_output
        from ..pretrained import load_model, peek_config

        # Before the model loads: a bad -o or an existing export fails at once.
        cfg = peek_config(model)
        name = cfg["name"] if cfg is not None else None
        check_export_output(
            output, fmt, version=model_version, overwrite=overwrite, name=name, graph=graph, quantize=quantize
        )
        if not as_json:
            status_line(f"loading model {model or name}...")
        tfsep_model = load_model(model, quiet=as_json)
        if fmt == "savedmodel":
            from ..export import export_savedmodel

            path = export_savedmodel(tfsep_model, output, version=model_version, overwrite=overwrite)
        else:
            from ..export import export_tflite

            path = export_tflite(
                tfsep_model, output, graph=graph, quantize=quantize, frames=frames, overwrite=overwrite
            )
    except TfsepError as exc:
        fail(str(exc))
    summary = {"model": tfsep_model.config["name"], "format": fmt, "path": str(path), "bytes": _size(Path(path))}
    if fmt == "tflite":
        summary.update({"graph": graph, "quantize": quantize, "metadata": str(Path(path).with_suffix(".json"))})
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"{summary['path']} ({summary['bytes'] / 1e6:.1f} MB)")
