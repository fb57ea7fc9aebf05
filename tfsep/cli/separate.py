"""``tfsep separate``: audio files in, one file per stem out (locally, with a baseline, or on TF Serving)."""

from __future__ import annotations

import json
import sys
import time

import click

from ..errors import TfsepError, internal_error
from . import options
from .common import EXIT_FAILED, FiniteFloat, error, fail, note_line, status_line, stop_requested


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--output", "output_dir", default="separated", show_default=True, help="Output directory.")
@options.MODEL
@options.apply(options.OUTPUT)
@click.option(
    "--offset", type=FiniteFloat(min=0), default=0.0, show_default=True, help="Start reading at this many seconds."
)
@click.option(
    "--duration",
    type=FiniteFloat(min=0, min_open=True),
    default=None,
    help="Separate only this many seconds (default: the whole file).",
)
@options.apply(options.SEPARATION)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files (default: refuse).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--server", default=None, help="Separate on a TF Serving: grpc://HOST:PORT or http://HOST:PORT (REST).")
@click.option("--model-name", default=None, help="With --server: the name the model is served under.")
def separate(inputs, output_dir, model, offset, duration, as_json, overwrite, quiet, server, model_name, **params):
    """Separate audio files into stems.

    Each INPUT (WAV, FLAC, OGG, MP3, M4A, AAC, .stem.mp4) gives one file per
    stem under OUTPUT.  Every option, input and output is checked before the
    model loads.  A file that fails is reported and the others go on; the
    exit code is 1 if any failed.
    """
    started = time.perf_counter()
    talk = not quiet and not as_json
    sep_options = options.separator_kwargs(params)
    out = options.writer_kwargs(params)
    filename_template, clip = out["filename_template"], out["clip"]
    stem_list, overlap = sep_options["stems"], sep_options["overlap"]
    write = dict(
        bitrate=out["bitrate"],
        bit_depth=out["bit_depth"],
        offset=offset,
        duration=duration,
        sample_rate=out["sample_rate"],
    )
    try:
        from ..separation.preflight import check_output_options, plan_tracks

        codec = check_output_options(filename_template, out["codec"], out["bitrate"], out["bit_depth"], clip)
        sep, model_name, stem_names = _cheap_separator(server, model_name, model, overlap, stem_list, sep_options)
        tracks = plan_tracks(
            inputs,
            output_dir,
            stem_names,
            filename_template=filename_template,
            codec=codec,
            overwrite=overwrite,
            **write,
        )
    except TfsepError as exc:
        fail(str(exc))
    slow = options.precision_note(params)  # once the request stands: a refused one is its one error line
    if slow and not quiet:
        note_line(slow)
    for track in tracks:
        if track.error:
            error(track.error)
    if sep is None and any(t.error is None for t in tracks):
        if talk:
            status_line(f"loading model {model or model_name}...")
        try:
            from ..separation import Separator

            sep = Separator(model, **sep_options)
        except TfsepError as exc:
            fail(str(exc))
    run = dict(filename_template=filename_template, codec=codec, clip=clip, overwrite=overwrite, **write)
    # What the command spent before the first file: checks, TensorFlow's import, the model's load.
    startup = time.perf_counter() - started
    results = []
    for t in tracks:
        if t.error:
            results.append({"input": t.input, "status": "failed", "error": t.error})
            continue
        results.append(_separate_one(sep, t.input, output_dir, talk, run, startup))
        startup = None
    failed = sum(r["status"] == "failed" for r in results)
    if as_json:
        name = sep.config["name"] if sep is not None else model_name
        stems_out = sep.stems if sep is not None else stem_names
        # The arithmetic the network ran in (precision "auto" resolved), where a local model ran.
        precision = getattr(sep, "precision", None)
        summary = {"model": name, "stems": stems_out, "precision": precision, "results": results}
        click.echo(json.dumps(summary, indent=2))
    if failed:
        if not as_json and len(inputs) > 1:
            error(f"{failed} of {len(inputs)} files failed")
        sys.exit(EXIT_FAILED)


def _separate_one(sep, path, output_dir, talk, run, startup=None) -> dict:
    """Separate one file and say how it went; its summary, or ``status: failed`` and the error (printed)."""
    from ..console.progress import stderr_is_terminal

    if talk and not stderr_is_terminal():
        status_line(f"separating {path}...")
    try:
        summary = sep.separate_file(path, output_dir, progress=talk, **run)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one bad file must not stop the batch
        if stop_requested():  # the interrupt surfaced inside TensorFlow as another exception
            raise KeyboardInterrupt from None
        message = str(exc) if isinstance(exc, TfsepError) else internal_error(path, exc)
        error(message)
        return {"input": path, "status": "failed", "error": message}
    summary["status"] = "ok"
    for note in summary.get("notes", []):
        note_line(f"{path}: {note}")
    if talk:
        # The rate counts reading, separating and writing this file; the first file also pays for tracing
        # the model call, and the start-up before it (TensorFlow, the model) is said apart.
        before = f"; start-up before it {startup:.1f} s" if startup is not None else ""
        click.echo(
            f"{path}: {summary['duration']:.1f} s separated in {summary['seconds']:.1f} s "
            f"({summary['realtime_factor']:.1f}x real time{before}) -> " + ", ".join(summary["outputs"].values()),
            err=True,
        )
    return summary


def _cheap_separator(server, served_name, model, overlap, stem_list, options):
    """``(separator or None, model name, stem names or None)`` without loading a model.

    A TF Serving client or a classical baseline is cheap to make; a model is
    not, so its stems and options are checked on its config alone and the
    separator comes later (None here).
    """
    from ..baselines import baseline_separator, is_baseline

    if server:
        from ..export.serving_client import RemoteSeparator

        if not served_name:
            raise click.BadParameter("give the served model's name", param_hint="--model-name")
        sep = RemoteSeparator(server, served_name, overlap=overlap, stems=stem_list)
        return sep, sep.config["name"], sep.stems
    if is_baseline(model):
        sep = baseline_separator(model, stems=stem_list)
        return sep, sep.config["name"], sep.stems
    from ..pretrained import DEFAULT_MODEL, peek_config
    from ..separation import separation_options

    cfg = peek_config(model)
    if cfg is None:  # a Spleeter checkpoint under a name of its own: its stems are known once loaded
        return None, model or DEFAULT_MODEL, None
    return None, cfg["name"], separation_options(cfg, **options).stems
