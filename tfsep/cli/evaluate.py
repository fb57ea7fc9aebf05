"""``tfsep evaluate``: score separation methods on MUSDB18 or stem folders."""

from __future__ import annotations

import json

import click

from ..errors import TfsepError
from ..separation.presets import QUALITIES
from .common import FiniteFloat, fail


def _parse_params(values) -> dict:
    """``-p key=value`` pairs -> constructor parameters of the baselines (JSON values where they parse)."""
    params = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="--param")
        key, raw = item.split("=", 1)
        try:
            params[key.strip()] = json.loads(raw)
        except ValueError:
            params[key.strip()] = raw
    return params


@click.command()
@click.option(
    "-m",
    "--method",
    "methods",
    multiple=True,
    required=True,
    help="Method to score (repeatable): model name or directory, baseline (hpss, repet-sim, nmf, nmf4, spectral-subtraction, hpss-repet4) or oracle (irm1, irm2, ibm, mwf, mixture).",
)
@click.option("--musdb", "musdb_root", type=click.Path(file_okay=False), default=None, help="MUSDB18 root directory.")
@click.option("--is-wav", is_flag=True, help="MUSDB18-HQ (WAV stems) instead of .stem.mp4.")
@click.option("--subset", type=click.Choice(["train", "test"]), default="test", show_default=True)
@click.option(
    "--tracks",
    "tracks_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Stem folders: <DIR>/<track>/<stem>.wav.",
)
@click.option("--track", "track_names", multiple=True, help="Only tracks whose name contains this (repeatable).")
@click.option(
    "--metrics",
    "metric",
    type=click.Choice(["museval", "sdr", "mir_eval"]),
    default="museval",
    show_default=True,
    help="museval: BSS Eval v4, 1 s frames; sdr: fast global SDR; mir_eval: bss_eval_sources (mono).",
)
@click.option(
    "-o",
    "--output",
    "outdir",
    default="evaluation",
    show_default=True,
    help="Output directory (JSON per track, scores.csv, results.md, plots/).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes that score tracks in parallel.",
)
@click.option(
    "--offset", type=FiniteFloat(min=0), default=0.0, show_default=True, help="Start of the excerpt in seconds."
)
@click.option(
    "--duration",
    type=FiniteFloat(min=0, min_open=True),
    default=None,
    help="Score only this many seconds of each track.",
)
@click.option(
    "--quality",
    type=click.Choice(list(QUALITIES)),
    default=None,
    help="Models separate with this preset of tfsep separate (default: its default).",
)
@click.option(
    "--wiener",
    type=click.IntRange(min=0),
    default=None,
    help="Multichannel Wiener EM iterations for models (default: the preset's).",
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    help="Baseline parameter key=value, e.g. -p margin=2 (applies to every baseline given).",
)
@click.option("--no-plots", is_flag=True, help="Skip the PNG figures.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def evaluate(
    methods,
    musdb_root,
    is_wav,
    subset,
    tracks_dir,
    track_names,
    metric,
    outdir,
    jobs,
    offset,
    duration,
    quality,
    wiener,
    params,
    no_plots,
    quiet,
):
    """Score separation methods on a dataset, the way the field does.

    Tracks already scored in OUTPUT (same metric and excerpt) are skipped, so
    an interrupted run resumes.  Prints the Markdown table (median over
    tracks) at the end.
    """
    if (musdb_root is None) == (tracks_dir is None):
        raise click.UsageError("give exactly one of --musdb ROOT or --tracks DIR")
    baseline_params = _parse_params(params)
    try:
        from ..data.datasets import musdb_tracks, stem_folders
        from ..evaluation import evaluate as run_evaluation
        from ..evaluation import resolve_method

        if musdb_root is not None:
            tracks = musdb_tracks(musdb_root, is_wav=is_wav, subset=subset)
        else:
            tracks = stem_folders(tracks_dir)
        if track_names:
            tracks = [t for t in tracks if any(n.lower() in t.name.lower() for n in track_names)]
            if not tracks:
                raise TfsepError(f"no track matches {', '.join(track_names)}")
        from ..baselines import is_baseline

        specs = []
        for m in methods:
            if not quiet and not is_baseline(m):
                from ..pretrained import peek_config

                peek_config(m)  # an unknown name fails before the note
                click.echo(f"tfsep: loading model {m}...", err=True)
            specs.append(resolve_method(m, wiener, quality, **(baseline_params if is_baseline(m) else {})))
        result = run_evaluation(
            specs,
            tracks,
            outdir,
            metric=metric,
            duration=duration,
            offset=offset,
            jobs=jobs,
            plots=not no_plots,
            progress=not quiet,
            log=lambda msg: click.echo(f"tfsep: {msg}", err=True),
        )
    except TfsepError as exc:
        fail(str(exc))
    if not quiet:
        click.echo(f"scored {result['scored']}, skipped {result['skipped']} (already scored) -> {outdir}", err=True)
    click.echo(result["markdown"])
