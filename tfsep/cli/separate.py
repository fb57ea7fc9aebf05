"""``tfsep separate``: audio files in, one file per stem out (locally, with a baseline, or on TF Serving)."""

from __future__ import annotations

import json
import sys

import click

from ..config import MASK_EXTENSIONS
from ..errors import TfsepError
from ..separation.presets import DEFAULT_QUALITY, QUALITIES
from .common import EXIT_FAILED, error, fail, note_line


def _parse_stems(value):
    if not value:
        return None
    stems = [s.strip() for s in value.split(",") if s.strip()]
    if not stems:
        raise click.BadParameter("give stem names separated by commas, e.g. vocals,drums")
    return stems


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--output", "output_dir", default="separated", show_default=True, help="Output directory.")
@click.option(
    "-m", "--model", default=None, help="Model name (2stems, 4stems, 5stems) or model directory. [default: 2stems]"
)
@click.option(
    "-f",
    "--filename-template",
    default="{track}/{stem}.{codec}",
    show_default=True,
    help="Output path inside OUTPUT; placeholders {track}, {stem}, {codec}, {folder}.",
)
@click.option(
    "-c", "--codec", type=click.Choice(["wav", "flac", "mp3", "ogg", "m4a"]), default="wav", show_default=True
)
@click.option("-b", "--bitrate", default="320k", show_default=True, help="Bitrate of mp3/ogg/m4a output.")
@click.option(
    "--bit-depth",
    type=click.Choice(["16", "24", "32"]),
    default="16",
    show_default=True,
    help="WAV/FLAC sample format (32 = float WAV).",
)
@click.option(
    "--clip",
    type=click.Choice(["rescale", "clamp", "none"]),
    default="rescale",
    show_default=True,
    help="rescale: scale all stems down together if any would clip; clamp: hard clip; none: leave as is.",
)
@click.option(
    "--offset", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Start reading at this many seconds."
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Separate only this many seconds (default: the whole file).",
)
@click.option("--segment", type=float, default=None, help="Segment length in seconds (default: the model's T frames).")
@click.option(
    "--overlap",
    type=float,
    default=None,
    help="Overlap of segments as a fraction of a segment (default 0.125 = 1.5 s crossfades for Spleeter models).",
)
@click.option("--batch-size", type=int, default=None, help="Segments per model call.")
@click.option("--stems", "stems", default=None, help="Write only these stems, e.g. vocals or vocals,drums.")
@click.option(
    "--quality",
    type=click.Choice(list(QUALITIES)),
    default=DEFAULT_QUALITY,
    show_default=True,
    help="Preset of the five options below (README: what each costs and gains).",
)
@click.option(
    "--mask-extension",
    type=click.Choice(list(MASK_EXTENSIONS)),
    default=None,
    help="Above the bins a model sees (11 kHz for Spleeter's): zeros (Spleeter's output) or average (full band).",
)
@click.option(
    "--residual",
    default=None,
    metavar="STEM|auto|none",
    help="Make STEM the mixture minus the other stems, so that the stems sum to the mixture.",
)
@click.option(
    "--wiener",
    type=click.IntRange(min=0),
    default=None,
    help="Multichannel Wiener filter EM iterations on the model's masks (0: off).",
)
@click.option(
    "--shifts",
    type=click.IntRange(min=0),
    default=None,
    help="Also separate N delayed copies of each segment and average (test-time augmentation).",
)
@click.option(
    "--channel-swap/--no-channel-swap",
    default=None,
    help="Also separate with left and right swapped and average (stereo models).",
)
@click.option(
    "--sample-rate",
    type=click.IntRange(min=1),
    default=None,
    help="Write the stems at this rate (default: the input's rate, sample-aligned with it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files (default: refuse).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--server", default=None, help="Separate on a TF Serving: grpc://HOST:PORT or http://HOST:PORT (REST).")
@click.option("--model-name", default=None, help="With --server: the name the model is served under.")
def separate(
    inputs,
    output_dir,
    model,
    filename_template,
    codec,
    bitrate,
    bit_depth,
    clip,
    offset,
    duration,
    segment,
    overlap,
    batch_size,
    stems,
    as_json,
    overwrite,
    quiet,
    server=None,
    model_name=None,
    quality=DEFAULT_QUALITY,
    mask_extension=None,
    residual=None,
    wiener=None,
    shifts=None,
    channel_swap=None,
    sample_rate=None,
):
    """Separate audio files into stems.

    Each INPUT (WAV, FLAC, OGG, MP3, M4A, AAC, .stem.mp4) gives one file per
    stem under OUTPUT.  A file that fails is reported and the others go on;
    the exit code is 1 if any failed.
    """
    stem_list = _parse_stems(stems)
    try:
        from ..baselines import baseline_separator, is_baseline

        if server:
            from ..export.serving_client import RemoteSeparator

            if not model_name:
                raise click.BadParameter("give the served model's name", param_hint="--model-name")
            sep = RemoteSeparator(server, model_name, overlap=overlap, stems=stem_list)
        elif is_baseline(model):
            sep = baseline_separator(model, stems=stem_list)
        else:
            from ..separation import Separator

            sep = Separator(
                model,
                quality=quality,
                segment=segment,
                overlap=overlap,
                batch_size=batch_size,
                stems=stem_list,
                wiener_iterations=wiener,
                mask_extension=mask_extension,
                residual=residual,
                shifts=shifts,
                channel_swap=channel_swap,
            )
    except TfsepError as exc:
        fail(str(exc))
    results = []
    failed = 0
    for path in inputs:
        try:
            summary = sep.separate_file(
                path,
                output_dir,
                filename_template=filename_template,
                codec=codec,
                bitrate=bitrate,
                bit_depth=int(bit_depth),
                clip=clip,
                offset=offset,
                duration=duration,
                overwrite=overwrite,
                progress=not quiet and not as_json,
                sample_rate=sample_rate,
            )
            summary["status"] = "ok"
            results.append(summary)
            for note in summary.get("notes", []):
                note_line(f"{path}: {note}")
            if not quiet and not as_json:
                click.echo(
                    f"{path}: {summary['duration']:.1f} s separated in {summary['seconds']:.1f} s "
                    f"({summary['realtime_factor']:.1f}x real time) -> " + ", ".join(summary["outputs"].values()),
                    err=True,
                )
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one bad file must not stop the batch
            failed += 1
            message = (
                str(exc) if isinstance(exc, TfsepError) else f"{path}: internal error: {type(exc).__name__}: {exc}"
            )
            error(message)
            results.append({"input": path, "status": "failed", "error": message})
    if as_json:
        click.echo(json.dumps({"model": sep.config["name"], "stems": sep.stems, "results": results}, indent=2))
    if failed:
        if not as_json and len(inputs) > 1:
            error(f"{failed} of {len(inputs)} files failed")
        sys.exit(EXIT_FAILED)
