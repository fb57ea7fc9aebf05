"""Evaluation results on disk: per-track JSON (museval's format), aggregate CSV, Markdown tables.

Layout under the output directory::

    <method>/<track>.json   one file per scored track (museval's TrackStore
                            layout: ``targets`` -> ``frames`` -> ``metrics``,
                            plus tfsep's ``method``, ``metric``, ``duration``)
    scores.csv              method, track, target, metric, score (median over frames)
    results.md              median over tracks, one table per metric: method x stem

SDR from ``--metrics sdr`` is stored as one frame covering the whole excerpt.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import tempfile
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _package_version
from pathlib import Path

import numpy as np

from .metrics import median_over_frames

STEM_ORDER = ("vocals", "drums", "bass", "other", "accompaniment", "harmonic")


def safe_name(name: str) -> str:
    """A file-system-safe version of a track or method name."""
    name = re.sub(r"[^\w.+=-]+", "_", str(name)).strip("._")
    return name or "unnamed"


def _version(package: str):
    try:
        return _package_version(package)
    except PackageNotFoundError:
        return None


def track_json_path(outdir, method: str, track: str) -> Path:
    return Path(outdir) / safe_name(method) / f"{safe_name(track)}.json"


def _clean(v):
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else (round(v, 5) if math.isfinite(v) else (1e9 if v > 0 else -1e9))


def track_document(
    track: str,
    method: str,
    metric: str,
    scores: dict,
    *,
    win: float,
    hop: float,
    duration,
    offset,
    sample_rate,
    seconds=None,
    extra=None,
) -> dict:
    """The JSON document of one track: ``scores`` is ``{stem: {metric: [frame values]}}``."""
    targets = []
    for stem, values in scores.items():
        n = len(next(iter(values.values())))
        frames = [
            {"time": i * hop, "duration": win, "metrics": {m: _clean(values[m][i]) for m in values}} for i in range(n)
        ]
        targets.append({"name": stem, "frames": frames})
    doc = {
        "name": track,
        "method": method,
        "metric": metric,
        "duration": duration,
        "offset": offset,
        "sample_rate": sample_rate,
        "seconds": seconds,
        "targets": targets,
    }
    if metric == "museval":
        doc["museval_version"] = _version("museval")
    if extra:
        doc.update(extra)
    return doc


def write_json(path, doc) -> None:
    """Write atomically: an interrupted run leaves the old file or none, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1, allow_nan=False)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_scored(path, metric: str, duration, offset) -> bool:
    """True if ``path`` holds a finished score with the same metric and excerpt."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return False
    return (
        doc.get("metric") == metric
        and doc.get("duration") == duration
        and doc.get("offset") == offset
        and bool(doc.get("targets"))
    )


def collect(outdir, metric: str | None = None) -> list[dict]:
    """Rows ``method, track, target, metric, score`` (median over frames) from every track JSON."""
    rows = []
    for path in sorted(Path(outdir).glob("*/*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if "targets" not in doc or "method" not in doc or (metric and doc.get("metric") != metric):
            continue
        for target in doc["targets"]:
            names = list(target["frames"][0]["metrics"]) if target["frames"] else []
            for m in names:
                score = median_over_frames([fr["metrics"].get(m) for fr in target["frames"]])
                rows.append(
                    {
                        "method": doc["method"],
                        "track": doc["name"],
                        "target": target["name"],
                        "metric": m,
                        "score": score,
                    }
                )
            for m, v in (target.get("bss_eval_sources") or {}).items():
                rows.append(
                    {
                        "method": doc["method"],
                        "track": doc["name"],
                        "target": target["name"],
                        "metric": f"mir_eval_{m}",
                        "score": v,
                    }
                )
    return rows


def write_csv(rows: list[dict], path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["method", "track", "target", "metric", "score"])
        w.writeheader()
        for r in rows:
            w.writerow({**r, "score": "" if r["score"] is None or not np.isfinite(r["score"]) else f"{r['score']:.4f}"})


def stem_order(stems):
    return sorted(set(stems), key=lambda s: (STEM_ORDER.index(s) if s in STEM_ORDER else len(STEM_ORDER), s))


def summary(rows: list[dict]) -> dict:
    """``{metric: {method: {stem: median over tracks}}}`` (the SiSEC/MUSDB convention)."""
    acc: dict = {}
    for r in rows:
        acc.setdefault(r["metric"], {}).setdefault(r["method"], {}).setdefault(r["target"], []).append(r["score"])
    out = {}
    for metric, methods in acc.items():
        out[metric] = {}
        for method, stems in methods.items():
            out[metric][method] = {}
            for stem, vals in stems.items():
                v = np.asarray([x for x in vals if x is not None and np.isfinite(x)], dtype=np.float64)
                out[metric][method][stem] = float(np.median(v)) if len(v) else float("nan")
    return out


def markdown_table(rows: list[dict], metrics=("SDR", "SIR", "SAR", "ISR")) -> str:
    """Markdown tables, one per metric: methods as rows, stems as columns (median over tracks, dB)."""
    summ = summary(rows)
    parts = []
    for metric in list(metrics) + sorted(m for m in summ if m not in metrics):
        if metric not in summ:
            continue
        table = summ[metric]
        stems = stem_order(s for m in table.values() for s in m)
        tracks = {r["track"] for r in rows if r["metric"] == metric}
        parts.append(f"### {metric} (dB, median over {len(tracks)} track(s))\n")
        parts.append("| method | " + " | ".join(stems) + " |")
        parts.append("|---|" + "---:|" * len(stems))
        for method, vals in table.items():
            cells = [f"{vals[s]:.2f}" if s in vals and np.isfinite(vals[s]) else "–" for s in stems]
            parts.append(f"| {method} | " + " | ".join(cells) + " |")
        parts.append("")
    return "\n".join(parts)
