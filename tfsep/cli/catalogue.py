"""``tfsep catalogue``: a folder, a bucket or a list of thousands of songs -> stems and a manifest, on Apache Beam."""

from __future__ import annotations

import sys

import click

from ..errors import TfsepError
from . import options
from .common import EXIT_FAILED, fail, status_line


@click.command()
@click.argument("inputs", nargs=-1, type=str)
@click.option(
    "-i",
    "--input-list",
    default=None,
    help="A file listing the inputs: one URI per line, or CSV/JSONL with 'uri' (or 'path') and 'id' columns.",
)
@click.option(
    "-o", "--output", "output_dir", default="separated", show_default=True, help="Output folder or URI (gs://...)."
)
@click.option("--manifest", default=None, help="Where the manifest goes. [default: OUTPUT/manifest.jsonl]")
@options.MODEL
@options.apply(options.OUTPUT)
@options.apply(options.SEPARATION)
@click.option("--resume", is_flag=True, help="Keep inputs an earlier run finished with this model and these options.")
@click.option("--overwrite", is_flag=True, help="Replace stem files that exist (default: such inputs fail).")
@click.option(
    "--runner",
    default="DirectRunner",
    show_default=True,
    help="Beam runner: DirectRunner (this machine), DataflowRunner, FlinkRunner, SparkRunner, ...",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=256),
    default=1,
    show_default=True,
    help="Worker processes of the local DirectRunner (other runners size themselves).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=1024),
    default=None,
    help="TensorFlow threads per worker. [default: cores / workers on the DirectRunner]",
)
@click.option(
    "--beam-options",
    default="",
    metavar="'--opt=value ...'",
    help="More Beam pipeline options, one quoted string (e.g. '--project=p --region=r --temp_location=gs://b/t').",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def catalogue(inputs, input_list, output_dir, manifest, model, resume, overwrite, runner, workers, threads, **params):
    """Separate a whole catalogue with Apache Beam, one manifest row per input.

    INPUTS are files, folders (their audio files, at any depth) and glob
    patterns on any filesystem Beam knows (local, gs://, s3://, hdfs://).
    Stem files are named and written as `tfsep separate` writes them, and
    appear only complete.  A file that fails becomes an error row in the
    manifest; the exit code is 1 if any input failed.  Needs
    `pip install 'tfsep[beam]'`.
    """
    import os

    from ..catalogue import require_beam

    beam_options = params.pop("beam_options")
    quiet = params.pop("quiet")
    if not inputs and not input_list:
        raise click.UsageError("give input files, folders or glob patterns, or --input-list")
    if resume and overwrite:
        raise click.UsageError("--resume keeps finished inputs and --overwrite replaces them: choose one")
    if threads is None and runner in ("DirectRunner", "direct"):
        threads = max(1, (os.cpu_count() or 1) // workers)
    try:
        require_beam()
        from ..catalogue.pipeline import run_catalogue

        def on_plan(tasks, known):
            if not quiet:
                kept = sum(r["status"] == "done" for r in known)
                refused = len(known) - kept
                status_line(
                    f"catalogue: {len(tasks) + len(known)} inputs: {len(tasks)} to separate"
                    + (f", {kept} finished before" if kept else "")
                    + (f", {refused} refused (see the manifest)" if refused else "")
                    + f"; {runner}"
                    + (f" with {workers} workers" if runner in ("DirectRunner", "direct") else "")
                )

        def on_progress(done, total, write):
            if not quiet:
                write(f"tfsep: catalogue: {done} of {total} inputs finished\n")

        result = run_catalogue(
            inputs,
            output_dir,
            input_list=input_list,
            model=model,
            separator=options.separator_kwargs(params),
            writer=options.writer_kwargs(params),
            manifest=manifest,
            resume=resume,
            overwrite=overwrite,
            runner=runner,
            workers=workers,
            beam_args=beam_options,
            threads=threads,
            on_plan=on_plan,
            on_progress=on_progress,
        )
    except TfsepError as exc:
        fail(str(exc))
    if not quiet:
        status_line(
            f"catalogue: {result.separated} separated, {result.kept} kept from before, "
            f"{result.failed} failed -> {result.manifest}"
        )
    if result.failed:
        for row in result.rows:
            if row["status"] != "done" and not quiet:
                click.echo(f"tfsep: error: {row['error']}", err=True)
        sys.exit(EXIT_FAILED)
