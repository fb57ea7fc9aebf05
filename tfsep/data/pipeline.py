"""Training input: decoded-once stem audio, random excerpts, augmentation, tf.data batches.

Every training example is a pure function of ``(seed, global example
index)``: the track(s), offsets, gains, channel swaps and remix choices are
drawn from ``numpy.random.default_rng([seed, index])``.  The example index of
step ``s``, replica-pipeline ``p``, slot ``j`` is ``s * global_batch + p *
per_pipeline_batch + j``, so

- the data position is the step number: resuming at step ``k`` reproduces
  exactly the batches an uninterrupted run would have seen;
- parallel ``map`` is deterministic, and every worker of a multi-worker run
  reads a different, fixed shard of each global batch.

The pipeline yields waveforms, ``mixture (B, L, C)`` and ``stems (B, S, L,
C)``; the training task turns them into spectrograms (on the accelerator) or
feeds them to waveform models directly.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from ..audio.channels import remix
from . import augment
from .datasets import DatasetError, Track, musdb_tracks, stem_folders, stem_recordings

MIN_TRACKS_FOR_HOLDOUT = 2
# An excerpt of a pooled recording quieter than this (about -60 dBFS) counts as a rest.
POOL_SILENCE_RMS = 1e-3


def _check_path(path, key: str, config_source: str = "config") -> Path:
    if path is None:
        raise DatasetError(f"training.{key} is not set: give the dataset root in the {config_source}")
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"training.{key}: dataset path {p} not found")
    return p


def _hold_out(tracks: list[Track], n: int, root) -> tuple[list[Track], list[Track]]:
    """The last ``n`` tracks for validation, the others for training."""
    if len(tracks) < n + 1:
        raise DatasetError(
            f"{root}: {len(tracks)} track(s) cannot give {n} validation track(s) and training tracks; "
            "set training.validation_path or lower training.validation_tracks"
        )
    return tracks[:-n], tracks[-n:]


def song_key(track: Track) -> str:
    """What identifies a song across sources: its name without a folder tree's prefix, case-folded."""
    return track.name.rsplit("/", 1)[-1].strip().casefold()


def _open_source(index: int, entry: dict, sample_rate: int) -> list[Track]:
    """The tracks of ``training.sources[index]``, each marked with that index (for its weight)."""
    kind, paths = entry["dataset"], entry["path"]
    if kind == "folders":
        roots = [_check_path(p, "sources[].path") for p in (paths if isinstance(paths, list) else [paths])]
        tracks = [t for root in roots for t in stem_folders(root, sample_rate=sample_rate)]
    else:
        tracks = musdb_tracks(
            _check_path(paths, "sources[].path"), kind == "musdbhq", entry["subset"], None, sample_rate
        )
    return [dataclasses.replace(t, source=index) for t in tracks]


def _hold_out_songs(tracks: list[Track], n: int, seed: int) -> tuple[list[Track], list[Track]]:
    """``n`` whole songs (drawn with ``seed``) for validation: a song's tracks from every source stay together."""
    songs = sorted({song_key(t) for t in tracks})
    if len(songs) < n + 1:
        raise DatasetError(
            f"training.sources: {len(songs)} song(s) cannot give {n} validation song(s) and training songs; "
            "lower training.validation_tracks"
        )
    held = set(np.random.default_rng([seed, 7919]).choice(songs, size=n, replace=False).tolist())
    return [t for t in tracks if song_key(t) not in held], [t for t in tracks if song_key(t) in held]


def source_weights(config: dict, tracks: list[Track]) -> np.ndarray | None:
    """Probability of drawing each training track: a source's weight shared by its tracks by duration.

    None without ``training.sources`` (tracks are drawn uniformly, as before).
    """
    entries = config["training"]["sources"]
    if not entries:
        return None
    by_source: dict[int, list[int]] = {}
    for i, t in enumerate(tracks):
        by_source.setdefault(t.source, []).append(i)
    p = np.zeros(len(tracks), np.float64)
    for src, idx in by_source.items():
        dur = np.array([tracks[i].duration or 1.0 for i in idx], np.float64)
        p[idx] = entries[src]["weight"] * dur / dur.sum()
    return p / p.sum()


def open_datasets(config: dict) -> tuple[list[Track], list[Track]]:
    """(training tracks, validation tracks) that the config's ``training`` section names."""
    tr = config["training"]
    sr = config["sample_rate"]
    stems = config["stems"]
    kind = tr["dataset"]
    if tr["sources"]:
        tracks = [t for i, entry in enumerate(tr["sources"]) for t in _open_source(i, entry, sr)]
        if tr["validation_path"]:
            train = tracks
            valid = stem_folders(_check_path(tr["validation_path"], "validation_path"), sample_rate=sr)
        else:
            train, valid = _hold_out_songs(tracks, tr["validation_tracks"], tr["random_seed"])
        _check_stems(train + valid, stems)
        return train, valid
    if kind == "folders" and isinstance(tr["train_path"], list):
        train_root = [_check_path(p, "train_path") for p in tr["train_path"]]
    else:
        train_root = _check_path(tr["train_path"], "train_path")
    if kind == "folders":
        # All stems of each folder are listed (not only the config's): a
        # derived stem such as accompaniment needs them.
        if isinstance(train_root, list):  # several trees: names get their tree's name, to stay unique
            train = [
                dataclasses.replace(t, name=f"{root.name}/{t.name}")
                for root in train_root
                for t in stem_folders(root, sample_rate=sr)
            ]
        else:
            train = stem_folders(train_root, sample_rate=sr)
        if tr["validation_path"]:
            valid = stem_folders(_check_path(tr["validation_path"], "validation_path"), sample_rate=sr)
        else:
            train, valid = _hold_out(train, tr["validation_tracks"], train_root)
    else:
        is_wav = kind == "musdbhq"
        if tr["validation_path"]:
            train = musdb_tracks(train_root, is_wav, "train", None, sr)
            valid = musdb_tracks(_check_path(tr["validation_path"], "validation_path"), is_wav, "train", None, sr)
        else:
            train = musdb_tracks(train_root, is_wav, "train", "train", sr)
            valid = musdb_tracks(train_root, is_wav, "train", "valid", sr, allow_empty=True)
            if not valid:  # not MUSDB18's own songs (only those have a validation split): hold tracks out
                train, valid = _hold_out(train, tr["validation_tracks"], train_root)
        valid = valid[: tr["validation_tracks"]] if tr["validation_tracks"] < len(valid) else valid
    _check_stems(train + valid, stems)
    return train, valid


def _check_stems(tracks: list[Track], stems) -> None:
    for t in tracks:
        missing = [s for s in stems if s not in t.stems and s != "accompaniment"]
        if missing:
            raise DatasetError(f"track {t.name!r} lacks stem(s) {', '.join(missing)} that the config's stems need")


def open_stem_pools(config: dict) -> dict[str, list[Track]]:
    """``{stem: recordings}`` that ``training.stem_pools`` names (empty when it names none)."""
    pools = config["training"]["stem_pools"] or {}
    out = {}
    for stem, paths in pools.items():
        out[stem] = [
            t
            for path in paths
            for t in stem_recordings(_check_path(path, f"stem_pools.{stem}"), stem, config["sample_rate"])
        ]
    return out


class StemCache:
    """Every track's stems decoded once, as ``(stems, samples, channels)`` float32 arrays.

    In memory by default; with ``cache_dir`` the arrays are ``.npy`` files,
    written once and memory-mapped afterwards (MUSDB18 does not fit in RAM).
    """

    def __init__(
        self, tracks: list[Track], stems: list[str], channels: int, cache_dir=None, jobs: int = 4, progress=None
    ):
        self.names = [t.name for t in tracks]
        self.mono = [t.mono for t in tracks]
        self.stems = list(stems)
        self.channels = channels
        self.cache_dir = Path(cache_dir) if cache_dir else None
        if self.cache_dir:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
            self.arrays = list(pool.map(self._load, tracks))
        self.lengths = np.array([a.shape[1] for a in self.arrays], np.int64)

    def _key(self, track: Track) -> str:
        ident = json.dumps([track.name, self.stems, track.sample_rate, track.duration, self.channels])
        return hashlib.sha1(ident.encode()).hexdigest()[:16]

    def _load(self, track: Track) -> np.ndarray:
        if self.cache_dir:
            path = self.cache_dir / f"{self._key(track)}.npy"
            if path.is_file():
                return np.load(path, mmap_mode="r")
        audio = track.load(self.stems)
        arr = np.stack([remix(audio[s].astype(np.float32), self.channels) for s in self.stems])
        if self.cache_dir:
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, arr)
            tmp.rename(path)
            return np.load(path, mmap_mode="r")
        return arr


class ExcerptSampler:
    """Random training examples as a pure function of ``(seed, index)``."""

    def __init__(
        self,
        cache: StemCache,
        length: int,
        config: dict,
        pools: dict[str, StemCache] | None = None,
        track_p: np.ndarray | None = None,
    ):
        tr = config["training"]
        self.cache = cache
        # Probability of each track (training.sources' weights); None: uniform, as runs without sources.
        self.track_p = track_p
        self.polarity = tr["augment_polarity"]
        self.silence = None if tr["silence_db"] is None else 10 ** (tr["silence_db"] / 20)
        # stem index -> the decoded recordings added to that stem
        self.pools = {cache.stems.index(s): c for s, c in (pools or {}).items() if c.arrays}
        self.pool_probability = float(tr["stem_pool_probability"])
        self.pool_level_db = tuple(float(x) for x in tr["stem_pool_level_db"])
        self.length = int(length)
        self.seed = tr["random_seed"]
        self.sample_rate = config["sample_rate"]
        self.gain = tr["augment_gain"]
        self.swap = tr["augment_channel_swap"]
        self.remix = float(tr["augment_remix"])
        self.pitch = float(tr["augment_pitch_shift"])
        self.stretch = float(tr["augment_time_stretch"])
        self.n_stems = len(cache.stems)

    def _read(self, track: int, stem: int, offset: int, length: int) -> np.ndarray:
        arr = self.cache.arrays[track]
        x = np.asarray(arr[stem, offset : offset + length], dtype=np.float32)
        if len(x) < length:  # track shorter than the excerpt
            x = np.pad(x, [(0, length - len(x)), (0, 0)])
        return x

    def example(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(mixture (L, C), stems (S, L, C))`` of example ``index``."""
        rng = np.random.default_rng([self.seed, int(index)])
        n_tracks = len(self.cache.arrays)
        rate = 1.0
        if self.stretch > 0:
            rate = float(rng.uniform(1 - self.stretch, 1 + self.stretch))
        read_len = int(np.ceil(self.length * rate)) + 1 if rate != 1.0 else self.length
        remix = n_tracks > 1 and rng.random() < self.remix
        if remix:
            parts = [self._draw_stem(rng, s, read_len) for s in range(self.n_stems)]
        else:
            t = self._draw_track(rng)
            start = int(rng.integers(0, max(1, self.cache.lengths[t] - read_len + 1)))
            parts = [(t, self._read(t, s, start, read_len)) for s in range(self.n_stems)]
        stems = np.stack([self._spread(rng, t, x) for t, x in parts])
        if self.pools:  # drawn only when configured: examples of runs without pools are unchanged
            stems = self._add_pooled(stems, rng, read_len)
        if self.gain is not None:
            stems = augment.random_gain(stems, rng, *self.gain)
        if self.swap:
            stems = augment.random_channel_swap(stems, rng)
        if self.polarity:
            stems = augment.random_polarity(stems, rng)
        if rate != 1.0:
            stems = augment.time_stretch(stems, rate, self.length)
        if self.pitch > 0:
            stems = augment.pitch_shift(stems, self.sample_rate, int(rng.integers(-self.pitch, self.pitch + 1)))
        stems = np.ascontiguousarray(stems[:, : self.length], dtype=np.float32)
        mixture = np.sum(stems, axis=0, dtype=np.float32)
        return mixture, stems

    def _draw_track(self, rng) -> int:
        n = len(self.cache.arrays)
        return int(rng.integers(0, n)) if self.track_p is None else int(rng.choice(n, p=self.track_p))

    def _draw_stem(self, rng, stem: int, length: int) -> tuple[int, np.ndarray]:
        """A remixed stem: a drawn track and offset; with ``silence_db``, a few redraws for one that plays."""
        for _ in range(4 if self.silence is not None else 1):
            t = self._draw_track(rng)
            start = int(rng.integers(0, max(1, self.cache.lengths[t] - length + 1)))
            x = self._read(t, stem, start, length)
            if self.silence is None or _rms(x) > self.silence:
                break
        return t, x

    def _spread(self, rng, track: int, x: np.ndarray) -> np.ndarray:
        """A mono take (``Track.mono``) panned to a drawn position (constant power); other stems as they are."""
        if not self.cache.mono[track] or x.shape[-1] != 2:
            return x
        angle = (rng.uniform(-0.5, 0.5) + 1) * np.pi / 4  # pan in [-0.5, 0.5] of full left..right
        gains = np.array([np.cos(angle), np.sin(angle)], np.float32) * np.float32(np.sqrt(2))
        return x * gains

    def _add_pooled(self, stems: np.ndarray, rng, length: int) -> np.ndarray:
        """Add a drawn excerpt of a pooled recording to each pooled stem, at a drawn level."""
        stems = stems.copy()
        for s, pool in self.pools.items():
            if rng.random() >= self.pool_probability:
                continue
            k = int(rng.integers(0, len(pool.arrays)))
            arr, n = pool.arrays[k], int(pool.lengths[k])
            # Real takes have long rests: a few tries for an excerpt that plays.
            for _ in range(4):
                if n >= length:
                    offset = int(rng.integers(0, n - length + 1))
                    x = np.asarray(arr[0, offset : offset + length], dtype=np.float32)
                else:  # a loop shorter than the excerpt repeats, from a drawn phase
                    x = np.asarray(arr[0], dtype=np.float32)[(int(rng.integers(0, n)) + np.arange(length)) % n]
                rms = _rms(x)
                if rms > POOL_SILENCE_RMS:
                    break
            level = rng.uniform(*self.pool_level_db)
            if rms <= POOL_SILENCE_RMS:
                continue
            mix_rms = _rms(stems.sum(axis=0))
            ref = mix_rms if mix_rms > POOL_SILENCE_RMS else 0.1
            stems[s] += x * np.float32(ref * 10 ** (level / 20) / rms)
        return stems


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def make_dataset(
    sampler: ExcerptSampler,
    start_step: int,
    end_step: int,
    global_batch: int,
    pipeline_id: int = 0,
    per_pipeline_batch: int | None = None,
    num_parallel_calls=None,
):
    """tf.data of batches ``(mixture (b, L, C), stems (b, S, L, C))`` for steps ``[start_step, end_step)``."""
    import tensorflow as tf

    b = per_pipeline_batch or global_batch
    L = sampler.length
    S = sampler.n_stems
    C = sampler.cache.channels

    def index(i):
        step, j = i // b, i % b
        return step * global_batch + pipeline_id * b + j

    def load(i):
        mix, stems = tf.numpy_function(lambda k: sampler.example(int(k)), [i], [tf.float32, tf.float32], stateful=False)
        mix.set_shape([L, C])
        stems.set_shape([S, L, C])
        return mix, stems

    ds = tf.data.Dataset.range(start_step * b, end_step * b).map(index)
    ds = ds.map(load, num_parallel_calls=num_parallel_calls or tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(b, drop_remainder=True)
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def validation_excerpts(tracks: list[Track], stems: list[str], channels: int, sample_rate: int, seconds) -> list[dict]:
    """Fixed validation excerpts: ``seconds`` from the middle of each track (whole track if null)."""
    out = []
    for t in tracks:
        audio = t.load(stems)
        n = len(audio["mixture"])
        length = n if seconds is None else min(n, int(round(seconds * sample_rate)))
        start = (n - length) // 2
        ex = {"name": t.name}
        for k, v in audio.items():
            ex[k] = remix(v[start : start + length].astype(np.float32), channels)
        # The reference mixture is the sum of the target stems, as in training.
        ex["mixture"] = np.sum([ex[s] for s in stems], axis=0).astype(np.float32)
        out.append(ex)
    return out
