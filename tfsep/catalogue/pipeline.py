"""Plan and run a catalogue job: inputs -> RunInference -> stem files + one manifest row per input.

The launching process lists the inputs, names every stem file, decides what
``--resume`` keeps, and refuses outputs it does not own, all before the
pipeline starts; the workers only separate.  Any Beam runner runs it: the
local ``DirectRunner`` with N worker processes, or ``--runner
DataflowRunner`` (Flink, Spark) with that runner's own options.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import re
import shlex
import threading
import time
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from ..errors import ModelError, OutputError, TfsepError
from .handler import CatalogueJob, StemModelHandler, base_row_for, record_row
from .inputs import is_remote, local_path, read_inputs
from .manifest import (
    MANIFEST_NAME,
    check_manifest_target,
    check_output_place,
    digest_options,
    digest_tree,
    error_row,
    error_text,
    exists,
    is_complete,
    join,
    read_json,
    row_uri,
    stem_uris,
    sweep_row_temps,
    write_manifest,
)

DIRECT_RUNNERS = ("DirectRunner", "direct", "BundleBasedDirectRunner")


def cores() -> int:
    """The cores this process may run on (what TensorFlow's thread pools use by default)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def local_workers(workers: int, tasks) -> int:
    """Worker processes of the local runner: as asked, but no more than inputs to separate (each loads the model)."""
    return max(1, min(int(workers), len(tasks)))


@dataclass
class CatalogueResult:
    """What a run did: the manifest's URI and rows, and how many inputs were separated, kept or failed."""

    manifest: str
    rows: list
    separated: int
    kept: int
    failed: int


# What an export fixed when it was made: a catalogue cannot change them per job (only overlap and stems).
EXPORT_FIXED = {
    "quality": "--quality",
    "segment": "--segment",
    "batch_size": "--batch-size",
    "wiener_iterations": "--wiener",
    "mask_extension": "--mask-extension",
    "residual": "--residual",
    "shifts": "--shifts",
    "channel_swap": "--channel-swap",
    "precision": "--precision",
}


def _model_spec(model, separator: dict):
    """``(config-like dict, stems, saved_model?, model digest)`` of ``model`` without loading it.

    ``separator`` holds the options as asked (None: not given).  A local
    model directory's weights are read through once here, so that a damaged
    file is one line before any worker starts.
    """
    from ..export.savedmodel import META_FILE
    from ..pretrained import DEFAULT_MODEL, peek_config, resolve
    from ..pretrained.modeldir import check_weights, is_model_dir
    from ..separation import separation_options
    from ..separation.options import select_stems

    spec = DEFAULT_MODEL if model is None else str(model)
    if exists(join(spec, "saved_model.pb")):
        meta = read_json(join(spec, META_FILE))
        if not isinstance(meta, dict) or "stems" not in meta:
            raise ModelError(f"{spec}: a SavedModel without {META_FILE}; export it with `tfsep export`")
        given = [flag for key, flag in EXPORT_FIXED.items() if separator.get(key) is not None]
        if given:
            raise ModelError(
                f"{spec}: an exported SavedModel separates as it was exported (full-band masks, residual, no Wiener "
                f"step, float32): {', '.join(given)} cannot change that; only --overlap and --stems apply to it"
            )
        return meta, select_stems(meta["stems"], separator.get("stems"), meta["name"]), True, digest_tree(spec)
    if is_remote(spec):
        cfg = read_json(join(spec, "config.json"))
        if not isinstance(cfg, dict):
            raise ModelError(f"{spec}: not a tfsep model folder (no readable config.json) nor a SavedModel")
        from ..config import validate

        cfg = validate(cfg)
        return cfg, separation_options(cfg, **separator).stems, False, digest_tree(spec)
    cfg = peek_config(spec)
    if cfg is None:
        raise ModelError(f"{spec}: a Spleeter checkpoint under a name of its own; import it with `tfsep models` first")
    stems = separation_options(cfg, **separator).stems
    path = resolve(spec).path
    if is_model_dir(path):
        check_weights(path)
    return cfg, stems, False, digest_tree(str(path))


def make_job(output, *, model=None, separator=None, writer=None, manifest=None, threads=None) -> tuple:
    """``(CatalogueJob, stems)``: the model and every option checked, nothing written, no TensorFlow."""
    from ..separation.precision import resolve_precision
    from ..separation.preflight import check_output_options
    from ..separation.presets import preset

    separator = dict(separator or {})
    output = str(output)
    manifest = str(manifest) if manifest else join(output, MANIFEST_NAME)
    # Where it all goes, first: a full disk or a read-only -o is one line before anything else.
    check_output_place(output)
    check_manifest_target(manifest)
    asked = dict(separator)  # None: not given (a SavedModel refuses what it cannot apply)
    # ``auto`` is resolved here, once: every worker computes in the same precision (and so writes the same
    # bytes), whatever CPU a retried bundle lands on; the options hash records which.
    chosen = separator.get("precision") or preset(separator.get("quality"))["precision"]
    separator["precision"] = resolve_precision(chosen)
    writer = dict(writer or {})
    writer.setdefault("filename_template", "{track}/{stem}.{codec}")
    writer["codec"] = check_output_options(
        writer["filename_template"],
        writer.get("codec"),
        writer.setdefault("bitrate", "320k"),
        writer.setdefault("bit_depth", 16),
        writer.setdefault("clip", "rescale"),
    )
    writer.setdefault("sample_rate", None)
    cfg, stems, saved_model, model_digest = _model_spec(model, asked)
    options = {"separator": separator, "writer": writer, "stems": stems}
    job = CatalogueJob(
        model=None if model is None else str(model),
        model_name=cfg["name"],
        model_sha256=model_digest,
        options_sha256=digest_options(options),
        separator=separator,
        writer=writer,
        output_root=output,
        manifest_uri=manifest,
        saved_model=saved_model,
        threads=threads,
        launcher_pid=os.getpid(),
    )
    return job, stems


def plan(items, job: CatalogueJob, stems, *, resume=False, overwrite=False) -> tuple[list, list]:
    """``(tasks, rows)``: the inputs to separate now, and the rows already known (kept or refused)."""
    tasks, rows, claimed, first_id = [], [], {}, {}
    for item in items:
        try:
            if item.uri in first_id:
                raise OutputError(
                    f"{item.uri} is listed twice, as id {first_id[item.uri]!r} and as id {item.id!r}: "
                    f"it is separated once, under id {first_id[item.uri]!r}"
                )
            first_id[item.uri] = item.id
            outputs = stem_uris(item.uri, job.output_root, stems, job.writer["filename_template"], job.writer["codec"])
            for uri in outputs.values():
                if uri in claimed:
                    raise OutputError(
                        f"{uri} would also hold a stem of {claimed[uri]}: add {{folder}} to the filename template"
                    )
                if not is_remote(uri) and not is_remote(item.uri):
                    if os.path.abspath(local_path(uri)) == os.path.abspath(local_path(item.uri)):
                        raise OutputError(f"{uri} is the input file: refusing to overwrite it; choose another -o or -f")
            claimed.update(dict.fromkeys(outputs.values(), item.uri))
            if resume:
                previous = read_json(row_uri(job.output_root, item.id))
                if is_complete(previous, job, outputs):
                    rows.append({**previous, "_index": item.index})
                    continue
            elif not overwrite:
                present = [u for u in outputs.values() if exists(u)]
                if present:
                    raise OutputError(
                        f"{present[0]} exists: pass --overwrite to replace it, or --resume to keep finished inputs"
                    )
        except TfsepError as exc:
            rows.append({**error_row(item, job, str(exc)), "_index": item.index})
            continue
        tasks.append({"index": item.index, "id": item.id, "uri": item.uri, "outputs": outputs})
    return tasks, rows


def _done_row(result, job: CatalogueJob) -> dict:
    return {**result.inference, "_index": result.example["index"]}  # recorded by the worker (separate_task)


def _failed_rows(failure, job: CatalogueJob):
    batch, exc = failure
    for task in batch:
        row = {**base_row_for(task, job), "status": "error", "error": " ".join(error_text(exc, task["uri"]).split())}
        yield {**record_row(row, job), "_index": task["index"]}


def pipeline_options(runner="DirectRunner", workers=1, beam_args=()) -> PipelineOptions:
    """Beam options: ``runner``; for the local runner, ``workers`` processes; ``beam_args`` as Beam reads them.

    Raises:
        TfsepError: options Beam cannot parse, or a runner it does not know (one line, not Beam's usage).
    """
    try:
        args = shlex.split(beam_args) if isinstance(beam_args, str) else list(beam_args)
    except ValueError as exc:  # "No closing quotation"
        raise TfsepError(f"--beam-options {beam_args!r}: {exc}") from None
    from ..console.quiet import verbose

    extra = {"runner": runner}
    if not verbose() and not any(a.startswith("--default_sdk_harness_log_level") for a in args):
        extra["default_sdk_harness_log_level"] = "ERROR"  # workers warn of optional cloud clients, not of our files
    if runner in DIRECT_RUNNERS:
        extra.update(
            direct_num_workers=int(workers),
            direct_running_mode="multi_processing" if int(workers) > 1 else "in_memory",
        )
    options = PipelineOptions(args, **extra)
    said = io.StringIO()
    try:  # Beam parses lazily, with argparse: a bad option prints its usage and exits
        with contextlib.redirect_stderr(said):
            options.get_all_options(retain_unknown_options=True)
    except SystemExit:
        lines = [line for line in said.getvalue().splitlines() if line.strip()]
        why = lines[-1].split("error: ", 1)[-1] if lines else "Beam cannot parse them"
        raise TfsepError(f"--beam-options {beam_args!r}: {why}") from None
    try:
        from apache_beam.runners.runner import create_runner

        create_runner(runner)
    except (ValueError, ImportError) as exc:
        raise TfsepError(f"--runner {runner}: {' '.join(str(exc).split())}") from None
    return options


def build(p, tasks, known_rows, job: CatalogueJob):
    """The pipeline: tasks -> RunInference (errors to the dead-letter output) -> rows -> one manifest."""
    todo = p | "Tasks" >> beam.Create(tasks) | "Spread" >> beam.Reshuffle()
    results, dead = todo | "Separate" >> RunInference(StemModelHandler(job)).with_exception_handling()
    done = results | "DoneRows" >> beam.Map(_done_row, job)
    failed = dead.failed_inferences | "ErrorRows" >> beam.FlatMap(_failed_rows, job)
    known = p | "KnownRows" >> beam.Create(known_rows)
    return (
        (done, failed, known)
        | "AllRows" >> beam.Flatten()
        | "Gather" >> beam.combiners.ToList()
        | "Manifest" >> beam.Map(write_manifest, job.manifest_uri)
    )


# What Beam's worker processes print on their own stderr at start-up: notes on optional cloud clients.
WORKER_NOISE = re.compile(
    rb"apitools not found|Logging handler created|semi_persistent_directory|Discarding unparseable args"
    rb"|Resource module is not available|Python sdk harness (starting|exiting)"
)
PROGRESS_EVERY = 10.0


@contextlib.contextmanager
def _quiet_workers():
    """Beam's worker chatter off the user's terminal (unless ``--verbose``); yields the real stderr's fd."""
    from ..console import quiet

    if quiet.verbose():
        yield 2
        return
    loggers = [logging.getLogger(), logging.getLogger("apache_beam")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        with quiet.filtered_stderr(re.compile(quiet.NOISE.pattern + rb"|" + WORKER_NOISE.pattern)) as fd:
            yield fd
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


@contextlib.contextmanager
def _watch(tasks, job, on_progress, fd):
    """Call ``on_progress`` every few seconds with how many tasks have their row (local outputs)."""
    if on_progress is None or not tasks or is_remote(job.output_root) or fd is None:
        yield
        return
    start, stop = time.time(), threading.Event()
    rows = [local_path(row_uri(job.output_root, t["id"])) for t in tasks]

    def finished():
        return sum(1 for r in rows if os.path.exists(r) and os.path.getmtime(r) >= start - 1)

    def write(text):
        os.write(fd, text.encode("utf-8", "replace"))

    def loop():
        while not stop.wait(PROGRESS_EVERY):
            on_progress(finished(), len(tasks), write)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_catalogue(
    inputs=(),
    output="separated",
    *,
    input_list=None,
    model=None,
    separator=None,
    writer=None,
    manifest=None,
    resume=False,
    overwrite=False,
    runner="DirectRunner",
    workers=1,
    beam_args=(),
    threads=None,
    on_plan=None,
    on_progress=None,
) -> CatalogueResult:
    """Separate every input into stem files with a Beam pipeline and write the manifest.

    Args:
        inputs: files, folders and glob patterns (any Beam filesystem).
        input_list: a list file (text, CSV or JSONL; see :mod:`.inputs`).
        separator: :class:`~tfsep.separation.Separator` keyword arguments.
        writer: output options of ``separate_file`` (template, codec, ...).
        manifest: the manifest's URI (default ``<output>/manifest.jsonl``).
        resume: keep inputs finished by an earlier run with this model and options.
        overwrite: replace stem files this job did not write.
        workers: worker processes of the local runner.
        threads: TensorFlow threads per worker (default on the local runner: cores / workers).
        on_plan: called with ``(tasks, known_rows)`` before the pipeline runs.
        on_progress: called now and then with ``(finished, total, write)`` while
            it runs (local outputs); ``write(text)`` reaches the real stderr.
    Returns:
        A :class:`CatalogueResult`; failed inputs are error rows, never an exception.
    """
    pipeline_options(runner, workers, beam_args)  # a bad runner or option is one line before anything else
    # The inputs before the model: a pattern that matches nothing must not wait for a model's download.
    items = read_inputs(inputs, input_list)
    job, stems = make_job(output, model=model, separator=separator, writer=writer, manifest=manifest, threads=threads)
    sweep_row_temps(job.output_root)
    tasks, known = plan(items, job, stems, resume=resume, overwrite=overwrite)
    if runner in DIRECT_RUNNERS:
        workers = local_workers(workers, tasks)
        if threads is None:  # the cores shared out; each worker's model runs on its own
            job = dataclasses.replace(job, threads=max(1, cores() // workers))
    if on_plan is not None:
        on_plan(tasks, known)
    with _quiet_workers() as stderr_fd, _watch(tasks, job, on_progress, stderr_fd):
        with beam.Pipeline(options=pipeline_options(runner, workers, beam_args)) as p:
            build(p, tasks, known, job)
    rows = read_manifest(job.manifest_uri)
    if len(rows) != len(items):
        raise TfsepError(f"{job.manifest_uri}: {len(rows)} rows for {len(items)} inputs; the pipeline lost some")
    kept = sum(1 for r in known if r.get("status") == "done")
    failed = sum(1 for r in rows if r.get("status") != "done")
    return CatalogueResult(job.manifest_uri, rows, len(rows) - kept - failed, kept, failed)


def read_manifest(uri: str) -> list[dict]:
    """A manifest's rows, in order."""
    if is_remote(uri):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(uri) as f:
            text = f.read().decode("utf-8")
    else:
        with open(local_path(uri), encoding="utf-8") as f:
            text = f.read()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
