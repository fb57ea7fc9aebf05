"""``tfsep catalogue``: a folder, a bucket or a list of thousands of songs -> stems and a manifest, on Apache Beam."""

from __future__ import annotations

import os
import sys

import click

from ..errors import TfsepError
from . import options
from .common import EXIT_FAILED, fail, note_line, status_line, stop_requested


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
@click.pass_context
def catalogue(
    ctx, inputs, input_list, output_dir, manifest, model, resume, overwrite, runner, workers, threads, **params
):
    """Separate a whole catalogue with Apache Beam, one manifest row per input.

    INPUTS are files, folders (their audio files, at any depth) and glob
    patterns on any filesystem Beam knows (local, gs://, s3://, hdfs://).
    Stem files are named and written as `tfsep separate` writes them, and
    appear only complete.  A file that fails becomes an error row in the
    manifest; the exit code is 1 if any input failed.  Needs
    `pip install 'tfsep[beam]'`.
    """

    from ..catalogue import require_beam

    beam_options = params.pop("beam_options")
    quiet = params.pop("quiet")
    if ctx.get_parameter_source("quality") is click.core.ParameterSource.DEFAULT:
        params["quality"] = None  # not asked for: an exported SavedModel keeps what it was exported with
    if not inputs and not input_list:
        raise click.UsageError("give input files, folders or glob patterns, or --input-list")
    if resume and overwrite:
        raise click.UsageError("--resume keeps finished inputs and --overwrite replaces them: choose one")
    slow = options.precision_note(params)
    try:
        require_beam()
        from ..catalogue.pipeline import DIRECT_RUNNERS, local_workers, run_catalogue

        def on_plan(tasks, known):  # the request stands: a refused one was its one error line
            if slow and not quiet:
                note_line(slow)
            if not quiet:
                kept = sum(r["status"] == "done" for r in known)
                refused = len(known) - kept
                status_line(
                    f"catalogue: {len(tasks) + len(known)} inputs: {len(tasks)} to separate"
                    + (f", {kept} finished before" if kept else "")
                    + (f", {refused} refused (see the manifest)" if refused else "")
                    + f"; {runner}"
                    + (f" with {_count(local_workers(workers, tasks), 'worker')}" if runner in DIRECT_RUNNERS else "")
                )

        def on_progress(done, total, write):
            if not quiet:
                write(f"tfsep: catalogue: {done} of {total} inputs finished\n")

        result = _interruptible(
            run_catalogue,
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
            output=output_dir,
        )
    except TfsepError as exc:
        fail(str(exc))
    if not quiet:
        status_line(
            f"catalogue: {result.separated} separated, {result.kept} kept from before, "
            f"{result.failed} failed -> {result.manifest}"
        )
    if result.failed:
        for row in result.rows:  # -q hides progress, never what failed
            if row["status"] != "done":
                click.echo(f"tfsep: error: {row['error']}", err=True)
        sys.exit(EXIT_FAILED)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _interruptible(run, *args, output, **kwargs):
    """``run(...)``; on Ctrl-C or SIGTERM: stop the worker processes, remove their temps, keep finished rows.

    Beam may turn the interrupt into an error of its own from inside the
    pipeline: a stop signal received meanwhile says what it was.
    """
    import threading

    def thread_failed(args):
        # Beam's threads that watch worker processes fail loudly when the workers are stopped: after a stop
        # signal that is expected, not news; otherwise one line, as every tfsep error.
        if not stop_requested():
            click.echo(f"tfsep: error: {args.thread.name if args.thread else 'a thread'}: {args.exc_value}", err=True)

    from ..console.interrupts import on_hard_stop

    previous, threading.excepthook = threading.excepthook, thread_failed
    # The hard stop sweeps too, also while the orderly stop below runs: it may end the process midway.
    try:
        with on_hard_stop(lambda: _sweep(output)):
            try:
                return run(*args, **kwargs)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt) or stop_requested():
                    _stop_workers(output)
                    raise KeyboardInterrupt from None
                raise
    finally:
        threading.excepthook = previous


def _stop_workers(output) -> None:
    from ..console.interrupts import stop_children

    stop_children(timeout=0.5)
    _sweep(output)


def _sweep(output) -> None:
    """Remove the temps of stopped workers: partial stems, row temps, scratch folders."""
    import time

    from ..audio.partials import sweep_partials
    from ..catalogue.handler import sweep_scratch
    from ..catalogue.manifest import sweep_row_temps

    sweep_scratch()
    if "://" in str(output):
        return
    # A stopped worker's temps go once its process is gone; on a loaded machine that can take a moment
    # after SIGKILL, so look again for a few seconds while some are still there.
    deadline = time.monotonic() + 3.0
    while True:
        sweep_row_temps(output)
        partial = [folder for folder, dirs, _ in os.walk(output) if ".tfsep-partial" in dirs]
        for folder in partial:
            sweep_partials(folder)
        left = [f for f in partial if os.path.isdir(os.path.join(f, ".tfsep-partial"))]
        if not left or time.monotonic() > deadline:
            return
        time.sleep(0.1)
