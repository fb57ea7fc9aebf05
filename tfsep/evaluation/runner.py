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


def resolve_method(name: str, wiener_iterations: int = 0, **params) -> MethodSpec:
    """A baseline/oracle name, a pretrained model name or a model directory -> ``MethodSpec``."""
    from ..baselines import get_method, is_baseline

    if is_baseline(name):
        method = get_method(name, **params)
        return MethodSpec(method.name, method, bool(getattr(method, "needs_references", False)), list(method.stems))
    from ..separator import Separator

    sep = Separator(name, wiener_iterations=wiener_iterations)
    label = Path(name).name if os.sep in str(name) or Path(str(name)).exists() else str(name)
    if wiener_iterations:
        label += f"+wiener{wiener_iterations}"
    return MethodSpec(label, sep, False, list(sep.stems))


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
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    log = log or (lambda msg: None)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tracks) * len(methods), unit="run", desc="evaluate")
    pool = None
    if jobs > 1:
        import multiprocessing

        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    futures, scored, skipped, files = [], 0, 0, []
    plotted = set()

    def drain(limit):
        nonlocal scored
        while len(futures) > limit:
            files.append(futures.pop(0).result())
            scored += 1

    try:
        for track in tracks:
            todo = []
            for spec in methods:
                path = report.track_json_path(outdir, spec.label, track.name)
                if report.is_scored(path, metric, duration, offset):
                    skipped += 1
                    if bar is not None:
                        bar.update(1)
                    continue
                todo.append((spec, path))
            if not todo:
                continue
            wanted = sorted({s for spec, _ in todo for s in _reference_stems(spec, track)})
            audio = track.load(wanted, offset=offset, duration=duration)
            sr = track.sample_rate
            mixture = audio["mixture"]
            for spec, path in todo:
                ref_stems = _reference_stems(spec, track)
                if not ref_stems:
                    log(
                        f"{spec.label}: no stem of {', '.join(spec.stems)} in track {track.name} ({', '.join(track.stems)}); skipped"
                    )
                    if bar is not None:
                        bar.update(1)
                    continue
                refs = {s: audio[s] for s in ref_stems}
                method = spec.method.for_track(refs, sr) if spec.needs_references else spec.method
                t0 = time.perf_counter()
                estimates = method.separate(mixture, sr)
                seconds = time.perf_counter() - t0
                estimates = {s: np.asarray(estimates[s], dtype=np.float32) for s in estimates if s in refs}
                fields = {
                    "track": track.name,
                    "method": spec.label,
                    "duration": duration,
                    "offset": offset,
                    "seconds": round(seconds, 3),
                }
                if plots and spec.label not in plotted:
                    from .plots import track_figure

                    plotted.add(spec.label)
                    fig = outdir / "plots" / f"{report.safe_name(spec.label)}_{report.safe_name(track.name)}.png"
                    files.append(
                        str(track_figure(mixture, estimates, refs, sr, fig, title=f"{spec.label}: {track.name}"))
                    )
                if pool is None:
                    files.append(_score_and_write(path, refs, estimates, sr, metric, fields))
                    scored += 1
                else:
                    futures.append(pool.submit(_score_and_write, path, refs, estimates, sr, metric, fields))
                    drain(2 * jobs)
                if bar is not None:
                    bar.update(1)
        drain(0)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    rows = report.collect(outdir, metric)
    labels = {m.label for m in methods}
    rows = [r for r in rows if r["method"] in labels]
    report.write_csv(rows, outdir / "scores.csv")
    md = report.markdown_table(rows)
    (outdir / "results.md").write_text(md)
    files += [str(outdir / "scores.csv"), str(outdir / "results.md")]
    if plots:
        from .plots import boxplots

        box = boxplots(rows, outdir / "plots" / "sdr_boxplot.png")
        if box is not None:
            files.append(str(box))
    return {"scored": scored, "skipped": skipped, "rows": rows, "markdown": md, "files": files}
