"""The worker side of a catalogue job: a RunInference ``ModelHandler`` around tfsep's separator.

Each worker process loads the model once (``load_model``) and reuses it for
every input it is given.  An input is separated by
:func:`tfsep.separation.stemfiles.separate_file`, the code behind
``tfsep separate``, with the same options, so its stem files are the bytes
``tfsep separate`` writes.  Remote inputs are first copied to a local
scratch folder; stems for a remote output folder are written there and then
uploaded (an object appears only once its upload completes).  A failure
raises: RunInference's dead-letter output turns it into an error row.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from ..audio.partials import process_alive
from ..errors import OutputError
from .inputs import is_remote, local_path
from .manifest import base_row, row_uri, write_atomic

SCRATCH_PREFIX = "tfsep-catalogue-"


@dataclass(frozen=True)
class CatalogueJob:
    """Everything a worker needs, resolved on the launching machine (picklable: it travels to workers)."""

    model: str | None
    model_name: str
    model_sha256: str
    options_sha256: str
    separator: dict
    writer: dict
    output_root: str
    manifest_uri: str
    saved_model: bool = False
    threads: int | None = None
    # The launching process: a worker it started (the local runner's) stops when it is gone (kill -9).
    launcher_pid: int | None = None


def _copy(src_uri: str, dst_path: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(src_uri) as src, open(dst_path, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _upload(src_path: str, dst_uri: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    with open(src_path, "rb") as src, FileSystems.create(dst_uri) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _fetch_model(uri: str) -> str:
    """A model folder on a Beam filesystem -> a local copy (once per worker process)."""
    from apache_beam.io.filesystems import FileSystems

    base = uri.rstrip("/")
    local = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-model-")
    for result in FileSystems.match([base + "/**"]):
        for meta in result.metadata_list:
            rel = meta.path[len(base) :].lstrip("/")
            target = os.path.join(local, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _copy(meta.path, target)
    return local


def load_separator(job: CatalogueJob):
    """The separator a worker runs: a tfsep model (name or folder) or an exported SavedModel, loaded here."""
    from ..console import quiet
    from ..console.interrupts import is_ancestor, orphan_watch

    quiet.install()
    quiet.lean()
    # A worker process of the local runner: when its launcher is killed outright, nothing else stops it.
    # (On a cluster the launcher is on another machine, never an ancestor: its runner stops the workers.)
    launcher = job.launcher_pid
    if launcher and launcher != os.getpid() and is_ancestor(launcher):
        orphan_watch(launcher)
    if job.threads:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(job.threads)
            tf.config.threading.set_inter_op_parallelism_threads(job.threads)
        except RuntimeError:  # TensorFlow already started in this process (the in-process runner): keep its pools
            pass
    model = job.model
    if model is not None and is_remote(model):
        model = _fetch_model(model)
    if job.saved_model:
        from ..export.serving_client import RemoteSeparator

        return RemoteSeparator(
            local_path(model), "", overlap=job.separator.get("overlap"), stems=job.separator.get("stems")
        )
    from ..separation import Separator

    return Separator(model, **job.separator)


def done_row(task: dict, job: CatalogueJob, summary: dict, seconds: float) -> dict:
    row = base_row_for(task, job)
    row.update(
        status="done",
        outputs=dict(task["outputs"]),
        duration=round(float(summary["duration"]), 3),
        seconds=round(seconds, 3),
        notes=list(summary.get("notes", [])),
    )
    return row


def record_row(row: dict, job: CatalogueJob) -> dict:
    """Keep an input's row in its own file at once (the manifest is assembled from these at the end)."""
    write_atomic(row_uri(job.output_root, row["id"]), json.dumps(row).encode("utf-8"))
    return row


def separate_task(separator, task: dict, job: CatalogueJob) -> dict:
    """Separate one input into its stem files and record its row (``done``), which it returns. Raises on failure.

    Local stems are recorded in the same critical section that puts them in
    place: a worker stopped hard (its launcher killed) never leaves stems without their row.
    """
    from ..separation.stemfiles import separate_file

    t0 = time.perf_counter()
    scratch = None
    local_out = not is_remote(job.output_root)

    recorded = []

    def published(summary):
        if local_out and set(summary["outputs"]) == set(task["outputs"]):
            recorded.append(record_row(done_row(task, job, summary, time.perf_counter() - t0), job))

    try:
        source = task["uri"]
        if is_remote(source) or is_remote(job.output_root):
            scratch = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        if is_remote(source):
            # Keep the file and folder names: they name the stems ({track}, {folder}).
            parent = os.path.basename(os.path.dirname(source.rstrip("/"))) or "_"
            local = os.path.join(scratch, "in", parent, os.path.basename(source.rstrip("/")))
            os.makedirs(os.path.dirname(local))
            _copy(source, local)
        else:
            local = local_path(source)
        out_dir = os.path.join(scratch, "out") if is_remote(job.output_root) else local_path(job.output_root)
        # The launcher refused outputs it does not own; a retried bundle rewrites the same bytes.
        summary = separate_file(separator, local, out_dir, overwrite=True, published=published, **job.writer)
        written = summary["outputs"]
        if set(written) != set(task["outputs"]):
            raise OutputError(f"{source}: wrote stems {sorted(written)}, expected {sorted(task['outputs'])}")
        if is_remote(job.output_root):
            for stem, path in written.items():
                _upload(path, task["outputs"][stem])
        elif any(os.path.abspath(written[s]) != os.path.abspath(task["outputs"][s]) for s in written):
            raise OutputError(f"{source}: stems went to {written}, expected {task['outputs']}")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if recorded:
        return recorded[0]  # the manifest's row is the recorded one, to the byte
    return record_row(done_row(task, job, summary, time.perf_counter() - t0), job)


def base_row_for(task: dict, job: CatalogueJob) -> dict:
    from .inputs import CatalogueItem

    return base_row(CatalogueItem(task["index"], task["id"], task["uri"]), job)


def sweep_scratch() -> int:
    """Remove scratch folders of worker processes that are gone (killed runs); returns how many."""
    removed = 0
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(SCRATCH_PREFIX):
            continue
        pid = name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed += 1
    return removed


class StemModelHandler(ModelHandler):
    """RunInference's view of tfsep: examples are tasks (one input each), predictions are manifest rows."""

    def __init__(self, job: CatalogueJob):
        # One file per call: a batch is a file's segments (``--batch-size``), never several files, so that a
        # file's stems do not depend on what it was batched with (byte-identical to ``tfsep separate``).
        super().__init__(min_batch_size=1, max_batch_size=1)
        self.job = job

    def load_model(self):
        sweep_scratch()
        return load_separator(self.job)

    def run_inference(self, batch, model, inference_args=None):
        return [PredictionResult(task, separate_task(model, task, self.job)) for task in batch]

    def get_num_bytes(self, batch) -> int:
        return len(batch)

    def get_metrics_namespace(self) -> str:
        return "tfsep_catalogue"
