"""Stem datasets behind one interface: a list of ``Track`` objects with named stems.

- ``StemFolders``: ``<root>/<track>/{mixture,vocals,drums,...}.<wav|flac|...>``
  (Open-Unmix's track folders; MUSDB18-HQ's layout; what ``tfsep data synth``
  writes).  ``mixture`` is optional: the sum of the stems when absent.
- ``Musdb``: MUSDB18 (``.stem.mp4``) and MUSDB18-HQ (``is_wav``) through the
  ``musdb`` package, with its train/test subsets and validation split.

A track's ``load(stems)`` returns float32 ``(samples, channels)`` arrays at the
track's rate, all of one length, plus ``mixture``.  ``accompaniment`` is
derived (sum of every stem but vocals) when asked for and not stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..audio import io as audio_io
from ..audio.probe import audio_info
from ..audio.resampling import resample
from ..errors import TfsepError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac")
MUSDB_STEMS = ("vocals", "drums", "bass", "other")


class DatasetError(TfsepError):
    """A dataset path or layout is unusable."""


@dataclass
class Track:
    """One multitrack song: a name, its stem names, and a loader."""

    name: str
    stems: list[str]
    sample_rate: int | None
    _loader: Callable = field(repr=False)
    duration: float | None = None
    # Every stem file is mono (MedleyDB's takes): training pans such stems into stereo.
    mono: bool = False
    # Which entry of training.sources the track came from.
    source: int = 0

    def load(self, stems=None, offset: float = 0.0, duration: float | None = None) -> dict[str, np.ndarray]:
        """``{stem: (n, C)}`` for ``stems`` (default: all) plus ``mixture``; derived stems are computed."""
        wanted = list(stems) if stems is not None else list(self.stems)
        audio = self._loader(offset, duration)
        n = min(len(a) for a in audio.values())
        audio = {k: v[:n] for k, v in audio.items()}
        if "mixture" not in audio:
            audio["mixture"] = np.sum([audio[s] for s in self.stems], axis=0).astype(np.float32)
        out = {}
        for s in wanted:
            if s in audio:
                out[s] = audio[s]
            elif s == "accompaniment":
                if not any(k != "vocals" for k in self.stems):
                    raise DatasetError(f"track {self.name!r}: no stems besides vocals to derive accompaniment from")
                out[s] = np.sum([audio[k] for k in self.stems if k != "vocals"], axis=0).astype(np.float32)
            else:
                raise DatasetError(f"track {self.name!r} has no stem {s!r} (it has {', '.join(self.stems)})")
        out["mixture"] = audio["mixture"]
        return out


def _is_audio_file(path: Path) -> bool:
    """An audio file by its extension, not a hidden one (``._x.wav`` from macOS, editors' temp files)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def _load_folder(files: dict, sample_rate):
    def loader(offset, duration):
        return {
            name: audio_io.load(path, sample_rate=sample_rate, channels=2, offset=offset, duration=duration)[0]
            for name, path in files.items()
        }

    return loader


def stem_folders(root, stems=None, sample_rate=None) -> list[Track]:
    """Tracks from ``<root>/<track>/<stem>.<ext>`` folders, sorted by name."""
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"{root}: dataset directory not found")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory (expected <root>/<track>/<stem>.wav folders)")
    tracks = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = {p.stem: p for p in sorted(folder.iterdir()) if _is_audio_file(p)}
        names = [s for s in files if s != "mixture"]
        if not names:
            continue
        if stems is not None:
            missing = [s for s in stems if s not in files and s != "accompaniment"]
            if missing:
                raise DatasetError(f"{folder}: missing stem file(s) {', '.join(missing)}")
            keep = [s for s in stems if s in files]
            if "accompaniment" in stems and "accompaniment" not in files:
                keep = names  # every stem is needed to derive it
            names = [s for s in names if s in keep]
        use = {s: files[s] for s in names}
        if "mixture" in files:
            use["mixture"] = files["mixture"]
        infos = [audio_info(f) for f in use.values()]
        info = infos[0]
        mono = all(i.channels == 1 for i in infos)
        tracks.append(
            Track(
                folder.name, names, sample_rate or info.sample_rate, _load_folder(use, sample_rate), info.duration, mono
            )
        )
    if not tracks:
        raise DatasetError(f"{root}: no track folders with stem audio files found")
    return tracks


def stem_recordings(path, stem: str, sample_rate=None) -> list[Track]:
    """Single-stem recordings: one audio file, or every audio file under a folder, as tracks of ``stem``."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if _is_audio_file(p))
        if not files:
            raise DatasetError(f"{path}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) for stem {stem!r}")
    else:
        files = [path]
    tracks = []
    for f in files:
        info = audio_info(f)
        tracks.append(
            Track(str(f), [stem], sample_rate or info.sample_rate, _load_folder({stem: f}, sample_rate), info.duration)
        )
    return tracks


def musdb_tracks(root, is_wav=False, subset="test", split=None, sample_rate=None, allow_empty=False) -> list[Track]:
    """MUSDB18 / MUSDB18-HQ tracks through the ``musdb`` package.

    ``split`` is musdb's split of the train subset by MUSDB18's own track
    names: a dataset in MUSDB18's layout with other songs has no ``valid``
    tracks (``allow_empty`` returns ``[]`` then, instead of raising).
    """
    import musdb

    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: MUSDB18 root not found")
    if subset not in ("train", "test"):
        raise DatasetError(f"musdb subset must be 'train' or 'test', got {subset!r}")
    if split not in (None, "train", "valid"):
        raise DatasetError(f"musdb split must be 'train' or 'valid', got {split!r}")
    if split is not None and subset != "train":
        raise DatasetError("musdb's validation split exists only in the train subset")
    try:
        db = musdb.DB(root=str(root), is_wav=is_wav, subsets=subset, split=split)
    except Exception as exc:  # musdb raises plain RuntimeError/OSError
        raise DatasetError(f"{root}: cannot open MUSDB18 ({exc})") from None
    if not len(db.tracks):
        if allow_empty:
            return []
        where = f"subset {subset!r}" + (f", split {split!r}" if split else "")
        raise DatasetError(
            f"{root}: no MUSDB18 tracks in {where}" + (" (MUSDB18-HQ needs --is-wav)" if not is_wav else "")
        )
    tracks = []
    for t in db.tracks:
        missing = [s for s in MUSDB_STEMS if s not in t.sources]
        if missing:  # musdb skips a missing MUSDB18-HQ stem file silently
            raise DatasetError(
                f"{Path(t.path).parent}: no {', '.join(f'{s}.wav' for s in missing)} (MUSDB18-HQ layout)"
            )

        def loader(offset, duration, t=t):
            t.chunk_start = offset
            t.chunk_duration = duration
            audio = {"mixture": t.audio.astype(np.float32)}
            audio.update({s: t.targets[s].audio.astype(np.float32) for s in MUSDB_STEMS})
            empty = [k for k, v in audio.items() if not v.size]
            if empty and audio["mixture"].size:  # stempeg reads a missing stream as no samples
                raise DatasetError(
                    f"{t.path}: no audio for {', '.join(empty)}; a MUSDB18 .stem.mp4 holds 5 streams "
                    "(mixture, drums, bass, other, vocals)"
                )
            rate = t.rate
            if sample_rate and rate != sample_rate:
                audio = {k: resample(v, rate, sample_rate) for k, v in audio.items()}
            return audio

        tracks.append(Track(t.name, list(MUSDB_STEMS), sample_rate or t.rate, loader, t.duration))
    return tracks
