"""Score separation methods on a stem dataset: the engine of ``tfsep evaluate``.

Tracks are separated one at a time in this process (TensorFlow stays here);
scoring, the slow part with museval, runs in ``jobs`` worker processes
(``spawn``: a forked TensorFlow can deadlock) while the next track is being
separated.  Each finished track is written at once to
``<outdir>/<method>/<track>.json``; a track whose file already holds a score
for the same metric and excerpt is skipped, so an interrupted run resumes
where it stopped.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import TfsepError
from . import report

METRIC_CHOICES = ("museval", "sdr", "mir_eval")


@dataclass
class MethodSpec:
    """A method to evaluate: its label (output folder) and the object that separates."""

    label: str
    method: object
    needs_references: bool = False
    stems: list = field(default_factory=list)
    # What the user named (a model directory's path): tells apart two methods of one label.
    source: str = ""


def resolve_method(name: str, wiener_iterations: int | None = None, quality: str | None = None, **params) -> MethodSpec:
    """A baseline/oracle name, a pretrained model name or a model directory -> ``MethodSpec``.

    Models separate with the ``quality`` preset (default: ``tfsep separate``'s);
    ``wiener_iterations`` overrides its Wiener iterations.
    """
    from ..baselines import get_method, is_baseline

    if is_baseline(name):
        method = get_method(name, **params)
        return MethodSpec(method.name, method, bool(getattr(method, "needs_references", False)), list(method.stems))
    from ..pretrained import peek_config
    from ..separation import Separator

    peek_config(name)  # an unknown name or a broken model directory fails before TensorFlow starts
    sep = Separator(name, quality=quality, wiener_iterations=wiener_iterations)
    label = Path(name).name if os.sep in str(name) or Path(str(name)).exists() else str(name)
    if quality:
        label += f"+{quality}"
    if wiener_iterations is not None:
        label += f"+wiener{wiener_iterations}"
    return MethodSpec(label, sep, False, list(sep.stems), str(name))


def _reference_stems(spec: MethodSpec, track) -> list[str]:
    if spec.needs_references:
        return list(track.stems)
    have = set(track.stems)
    return [s for s in spec.stems if s in have or (s == "accompaniment" and "vocals" in have and len(have) > 1)]


def score(references: dict, estimates: dict, sample_rate: int, metric: str, win: float = 1.0, hop: float = 1.0) -> dict:
    """``{stem: {metric name: [frame values]}}`` for the stems present in both dicts."""
    from .metrics import bss_eval_sources, global_sdr, museval_scores

    if metric == "museval":
        return museval_scores(references, estimates, sample_rate, win, hop)
    stems = [s for s in estimates if s in references and s != "mixture"]
    if metric == "sdr":
        return {s: {"SDR": [global_sdr(references[s], estimates[s])]} for s in stems}
    if metric == "mir_eval":
        res = bss_eval_sources({s: references[s] for s in stems}, {s: estimates[s] for s in stems})
        return {s: {m: [res[s][m]] for m in ("SDR", "SIR", "SAR")} for s in stems}
    raise TfsepError(f"unknown metric {metric!r} (use {', '.join(METRIC_CHOICES)})")


def _score_and_write(path, references, estimates, sample_rate, metric, doc_fields) -> str:
    scores = score(references, estimates, sample_rate, metric)
    win = hop = 1.0 if metric == "museval" else len(next(iter(references.values()))) / sample_rate
    doc = report.track_document(scores=scores, metric=metric, win=win, hop=hop, sample_rate=sample_rate, **doc_fields)
    report.write_json(path, doc)
    return str(path)


@dataclass(frozen=True)
class _Settings:
    """What every track of one ``evaluate`` call is scored with."""

    outdir: Path
    metric: str
    duration: float | None
    offset: float
    plots: bool
    log: object


class _Scoring:
    """Where scores are computed (here, or ``jobs`` spawned workers) and what came of them.

    Counts scored and skipped runs, collects the files written, and moves the
    progress bar (one step per method and track).
    """

    def __init__(self, jobs: int, bar=None):
        self.jobs, self.bar = jobs, bar
        self.pool = None
        if jobs > 1:
            import multiprocessing

            self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
        self.futures: list = []
        self.scored = self.skipped = 0
        self.files: list[str] = []

    def tick(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def skip(self) -> None:
        self.skipped += 1
        self.tick()

    def submit(self, path, references, estimates, sample_rate, metric, doc_fields) -> None:
        """Score and write one track now (``jobs=1``) or in a worker, keeping at most ``2 * jobs`` in flight."""
        args = (path, references, estimates, sample_rate, metric, doc_fields)
        if self.pool is None:
            self.files.append(_score_and_write(*args))
            self.scored += 1
        else:
            self.futures.append(self.pool.submit(_score_and_write, *args))
            self.drain(2 * self.jobs)
        self.tick()

    def drain(self, limit: int = 0) -> None:
        """Wait for the oldest pending scores until at most ``limit`` remain."""
        while len(self.futures) > limit:
            self.files.append(self.futures.pop(0).result())
            self.scored += 1

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.bar is not None:
            self.bar.close()


def _unscored(methods: list[MethodSpec], track, settings: _Settings, scoring: _Scoring) -> list:
    """``[(spec, json path)]`` of the methods still to score on ``track``; the others count as skipped."""
    todo = []
    for spec in methods:
        path = report.track_json_path(settings.outdir, spec.label, track.name)
        if report.is_scored(path, settings.metric, settings.duration, settings.offset):
            scoring.skip()
        else:
            todo.append((spec, path))
    return todo


def _separate(spec: MethodSpec, refs: dict, mixture, sample_rate: int, track_name: str = "") -> tuple[dict, float]:
    """Run one method on the mixture: ``({stem: float32 estimate} for the reference stems, seconds)``.

    A classical method that fails (librosa refusing a ``-p`` value, say)
    is a ``TfsepError`` naming the method and the track, not a traceback.
    """
    method = spec.method.for_track(refs, sample_rate) if spec.needs_references else spec.method
    t0 = time.perf_counter()
    try:
        estimates = method.separate(mixture, sample_rate)
    except TfsepError:
        raise
    except Exception as exc:
        if _is_model(spec.method):
            raise
        why = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise TfsepError(f"{spec.label} failed on track {track_name} ({why}); check its -p parameters") from None
    seconds = time.perf_counter() - t0
    return {s: np.asarray(estimates[s], dtype=np.float32) for s in estimates if s in refs}, seconds


def _is_model(method) -> bool:
    from ..separation import Separator

    return isinstance(method, Separator)


def _plot_track(spec: MethodSpec, track, mixture, estimates, refs, sample_rate, outdir: Path) -> str:
    from .plots import track_figure

    fig = outdir / "plots" / f"{report.safe_name(spec.label)}_{report.safe_name(track.name)}.png"
    return str(track_figure(mixture, estimates, refs, sample_rate, fig, title=f"{spec.label}: {track.name}"))


def _score_track(track, todo: list, settings: _Settings, scoring: _Scoring, plotted: set) -> None:
    """Load ``track`` once, separate it with every method in ``todo`` and hand the results to scoring.

    The first scored track of each method also gets a figure (``plotted``
    holds the labels that have one).
    """
    wanted = sorted({s for spec, _ in todo for s in _reference_stems(spec, track)})
    audio = track.load(wanted, offset=settings.offset, duration=settings.duration)
    sr = track.sample_rate
    mixture = audio["mixture"]
    for spec, path in todo:
        ref_stems = _reference_stems(spec, track)
        if not ref_stems:
            settings.log(
                f"{spec.label}: no stem of {', '.join(spec.stems)} in track {track.name} ({', '.join(track.stems)}); skipped"
            )
            scoring.tick()
            continue
        refs = {s: audio[s] for s in ref_stems}
        estimates, seconds = _separate(spec, refs, mixture, sr, track.name)
        fields = {
            "track": track.name,
            "method": spec.label,
            "duration": settings.duration,
            "offset": settings.offset,
            "seconds": round(seconds, 3),
        }
        if settings.plots and spec.label not in plotted:
            plotted.add(spec.label)
            scoring.files.append(_plot_track(spec, track, mixture, estimates, refs, sr, settings.outdir))
        scoring.submit(path, refs, estimates, sr, settings.metric, fields)


def _write_summary(methods: list[MethodSpec], settings: _Settings) -> tuple[list, str, list[str]]:
    """Collect every track JSON of these methods into ``scores.csv``, ``results.md`` and the box plot.

    Returns ``(rows, markdown, files written)``.
    """
    outdir = settings.outdir
    labels = {m.label for m in methods}
    rows = [r for r in report.collect(outdir, settings.metric) if r["method"] in labels]
    report.write_csv(rows, outdir / "scores.csv")
    md = report.markdown_table(rows)
    (outdir / "results.md").write_text(md)
    files = [str(outdir / "scores.csv"), str(outdir / "results.md")]
    if settings.plots:
        from .plots import boxplots

        box = boxplots(rows, outdir / "plots" / "sdr_boxplot.png")
        if box is not None:
            files.append(str(box))
    return rows, md, files


def evaluate(
    methods: list[MethodSpec],
    tracks: list,
    outdir,
    *,
    metric: str = "museval",
    duration: float | None = None,
    offset: float = 0.0,
    jobs: int = 1,
    plots: bool = True,
    progress: bool = False,
    log=None,
) -> dict:
    """Score every method on every track; write JSON per track, ``scores.csv``, ``results.md``, plots.

    Returns ``{"scored": n, "skipped": n, "rows": [...], "markdown": str, "files": [...]}``.
    """
    if metric not in METRIC_CHOICES:
        raise TfsepError(f"unknown metric {metric!r} (use {', '.join(METRIC_CHOICES)})")
    if jobs < 1:
        raise TfsepError(f"--jobs must be >= 1, got {jobs}")
    methods = distinct_labels(methods)
    settings = _Settings(Path(outdir), metric, duration, offset, plots, log or (lambda msg: None))
    new_dirs = [p for p in (settings.outdir, *settings.outdir.parents) if not p.exists()]
    settings.outdir.mkdir(parents=True, exist_ok=True)
    try:
        return _evaluate(methods, tracks, settings, jobs, progress)
    except BaseException:
        _remove_empty(settings.outdir, new_dirs)  # a run that failed before scoring anything leaves no folder
        raise


def distinct_labels(methods: list[MethodSpec]) -> list[MethodSpec]:
    """Methods whose labels (output folders, table rows) are all different.

    Model directories of one base name (``runs/a/model``, ``runs/b/model``)
    get as many parent folders in their label as tell them apart
    (``a-model``, ``b-model``); the same method named twice is refused.
    """
    from dataclasses import replace

    out = list(methods)
    for label in {m.label for m in methods}:
        same = [i for i, m in enumerate(out) if m.label == label]
        if len(same) < 2:
            continue
        paths = [Path(os.path.abspath(out[i].source)) if out[i].source else None for i in same]
        if None in paths or len(set(paths)) < len(paths):
            raise TfsepError(f"method {label!r} is given twice: name each method once")
        for depth in range(2, max(len(p.parts) for p in paths) + 1):
            names = ["-".join(p.parts[-depth:]).lstrip("/-") for p in paths]
            if len(set(names)) == len(names):
                break
        suffix = out[same[0]].label[len(paths[0].name) :]  # "+best", "+wiener1"
        for i, name in zip(same, names):
            out[i] = replace(out[i], label=name + suffix)
    return out


def _remove_empty(outdir: Path, new_dirs: list) -> None:
    for path in sorted((p for p in outdir.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(path.iterdir()):
            path.rmdir()
    for path in new_dirs:  # deepest first
        try:
            path.rmdir()
        except OSError:
            break


def _evaluate(methods, tracks, settings: _Settings, jobs: int, progress: bool) -> dict:
    """:func:`evaluate` once its output folder exists."""
    bar = None
    if progress:
        from tqdm import tqdm

        # disable=None: no bar when stderr is not a terminal (a log gets no carriage-return redraws).
        bar = tqdm(total=len(tracks) * len(methods), unit="run", desc="evaluate", disable=None)
    scoring = _Scoring(jobs, bar)
    plotted: set = set()
    try:
        for track in tracks:
            todo = _unscored(methods, track, settings, scoring)
            if todo:
                _score_track(track, todo, settings, scoring, plotted)
        scoring.drain(0)
    finally:
        scoring.close()
    rows, md, summary_files = _write_summary(methods, settings)
    files = scoring.files + summary_files
    return {"scored": scoring.scored, "skipped": scoring.skipped, "rows": rows, "markdown": md, "files": files}
