"""The ``training`` section of a config: its schema, defaults and checks (datasets, losses, schedules).

Called by :func:`tfsep.config.loader.validate` once the model section is
checked (stem weights and pools name the config's stems).
"""

from __future__ import annotations

from .schema import NUMBER, REQUIRED, check_section, fail

TRAINING = {
    "batch_size": (int, 4),
    "learning_rate": (NUMBER, 1e-4),
    "train_max_steps": (int, 200000),
    "random_seed": (int, 0),
    # l1_masked_magnitude | l1_mask | mse_mask | l1_mrstft | neg_sdr (tfsep.training.losses)
    "loss": (str, "l1_masked_magnitude"),
    "loss_params": (dict, {}),
    "stem_weights": ((dict, type(None)), None),
    # Excerpt length; null = the model's input length (T frames for spectrogram models).
    "excerpt_seconds": ((int, float, type(None)), None),
    "checkpoint_every": (int, 1000),
    "validate_every": (int, 1000),
    "log_every": (int, 50),
    "keep_checkpoints": (int, 3),
    # Data: "folders" (stem folders, e.g. tfsep data synth output), "musdb" (.stem.mp4), "musdbhq" (WAV).
    "dataset": (str, "folders"),
    # A dataset root; for "folders" also a list of roots, used together.
    "train_path": ((str, list, type(None)), None),
    # folders: a second folder tree; null = the last validation_tracks tracks of train_path.
    # musdb/musdbhq: null = musdb's validation split of the train subset.
    "validation_path": ((str, type(None)), None),
    # Several datasets in one run, instead of dataset/train_path: a list of
    # {"dataset", "path", "weight", "subset"} (see SOURCE); validation then
    # holds out validation_tracks whole songs (a song in two sources stays on one side).
    "sources": ((list, type(None)), None),
    "validation_tracks": (int, 1),
    "validation_seconds": ((int, float, type(None)), 30.0),
    "audio_summaries": (int, 2),
    # Decoded audio cache: null = in memory; a directory = .npy files memory-mapped from disk.
    "data_cache": ((str, type(None)), None),
    "augment_gain": ((list, type(None)), [0.25, 1.25]),
    "augment_channel_swap": (bool, True),
    "augment_remix": (NUMBER, 0.5),
    "augment_pitch_shift": (NUMBER, 0),
    "augment_time_stretch": (NUMBER, 0),
    # Flip each stem's sign with probability 1/2 (Demucs' FlipSign).
    "augment_polarity": (bool, False),
    # Remixed examples redraw a stem whose excerpt is this quiet (dBFS RMS); null: off.
    "silence_db": ((int, float, type(None)), None),
    # Recordings of one stem (files or folders of audio files) added to that stem in
    # training examples, e.g. {"other": ["/path/guitar-takes/"]}: real recorded parts
    # over synthetic songs.  Each example draws them with stem_pool_probability, at a
    # level stem_pool_level_db [low, high] relative to the example's mixture.
    "stem_pools": ((dict, type(None)), None),
    "stem_pool_probability": (NUMBER, 0.5),
    "stem_pool_level_db": (list, [-12.0, 0.0]),
    "num_parallel_calls": ((int, type(None)), None),
    "optimizer": (str, "adam"),
    "weight_decay": (NUMBER, 0.0),
    "clipnorm": ((int, float, type(None)), None),
    "lr_schedule": (str, "constant"),
    "warmup_steps": (int, 0),
    "lr_min": (NUMBER, 0.0),
    "lr_plateau_patience": (int, 5),
    "lr_plateau_factor": (NUMBER, 0.5),
    "early_stopping_patience": ((int, type(None)), None),
    "mixed_precision": (str, "auto"),
    "strategy": (str, "auto"),
    # Starting weights copied from another model before step 0 ("NAME" or "NAME:STEM");
    # model.params.init_from is different: where a network's own weights live.
    "warm_start": ((str, type(None)), None),
    # Knowledge distillation: a teacher model (name or directory) with the same stems and STFT; its masked
    # magnitudes are the targets (distill_weight of them, the rest the true stems').
    "distill_from": ((str, type(None)), None),
    "distill_weight": (NUMBER, 1.0),
    # Batch normalisation in inference mode (its statistics and scales kept): fine-tuning a pretrained
    # network on small batches (Spleeter's U-Nets fall apart on batch statistics of 4 excerpts).
    "freeze_batch_norm": (bool, False),
    # Training for live separation (tfsep.separation.stream): the model sees windows of excerpt_seconds and
    # is scored on their last live_edge seconds only; the targets (true stems or a teacher) see live_future
    # seconds more of the music after the window, which a live stream has not heard yet.
    "live_edge": ((int, float, type(None)), None),
    "live_future": (NUMBER, 0.0),
}

LOSSES = {
    "l1_masked_magnitude": {},
    "l1_mask": {},
    "mse_mask": {},
    "l1_mrstft": {
        "time_weight": (NUMBER, 0.85),
        "stft_weight": (NUMBER, 0.15),
        "resolutions": (list, [512, 1024, 2048]),
    },
    "neg_sdr": {},
}
OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "plateau", "cosine")
DATASETS = ("folders", "musdb", "musdbhq")
# Upper bounds of the sizes (as the top level's LIMITS).
TRAINING_LIMITS = {"batch_size": 4096, "excerpt_seconds": 600, "validation_seconds": 3600}
# One entry of training.sources.
SOURCE = {
    "dataset": (str, REQUIRED),
    # A dataset root (folders: also a list of roots).
    "path": ((str, list), REQUIRED),
    # Share of the training examples drawn from this source (relative to the others).
    "weight": (NUMBER, 1.0),
    # musdb/musdbhq: which subset (train; never the test songs you measure on).
    "subset": (str, "train"),
}
# training.mixed_precision: "auto"/"on" mix on a GPU (bfloat16 where it has bf16 tensor cores,
# compute capability >= 8.0, else float16 with loss scaling), float32 without one ("on" says so);
# "float16"/"bfloat16" force that mixed policy, on a CPU too (slow: for checks); "off" is float32.
MIXED_PRECISION = ("auto", "on", "off", "float16", "bfloat16")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")

# Old training keys -> their names now (configs and model directories written before the rename load as they did).
RENAMED_TRAINING = {"init_from": "warm_start"}


def _renamed_keys(training, source):
    if not isinstance(training, dict):
        return training
    out = dict(training)
    for old, new in RENAMED_TRAINING.items():
        if old in out:
            if new in out:
                fail(source, f"training.{old}", f"is the old name of training.{new}; give only {new}")
            out[new] = out.pop(old)
    return out


def validate_training(training, cfg: dict, source: str) -> dict:
    """The ``training`` section checked, with defaults filled in and old key names renamed; returns a new dict."""
    tr = check_section(_renamed_keys(training, source), TRAINING, "training.", source)
    return _validate_training(tr, cfg, source)


def _validate_training(tr: dict, cfg: dict, source: str) -> dict:
    p = "training."

    def choice(key, options):
        if tr[key] not in options:
            fail(source, p + key, f"must be one of {', '.join(options)}, got {tr[key]!r}")

    if isinstance(tr["train_path"], list) and (
        tr["dataset"] != "folders"
        or not tr["train_path"]
        or not all(isinstance(x, str) and x for x in tr["train_path"])
    ):
        fail(
            source, p + "train_path", "a list of dataset roots must be non-empty paths, and only for dataset 'folders'"
        )
    if tr["sources"] is not None:
        tr["sources"] = _validate_sources(tr, source)
    if tr["train_max_steps"] < 0:
        fail(
            source, p + "train_max_steps", f"must be >= 0 (0: write the starting weights), got {tr['train_max_steps']}"
        )
    for key in (
        "batch_size",
        "checkpoint_every",
        "validate_every",
        "log_every",
        "keep_checkpoints",
        "validation_tracks",
    ):
        if tr[key] < 1:
            fail(source, p + key, f"must be >= 1, got {tr[key]}")
    for key, most in TRAINING_LIMITS.items():
        if tr[key] is not None and tr[key] > most:
            fail(source, p + key, f"must be at most {most}, got {tr[key]}")
    for key in ("audio_summaries", "warmup_steps", "lr_plateau_patience"):
        if tr[key] < 0:
            fail(source, p + key, f"must be >= 0, got {tr[key]}")
    if tr["learning_rate"] <= 0:
        fail(source, p + "learning_rate", "must be positive")
    for key in ("excerpt_seconds", "validation_seconds", "clipnorm"):
        if tr[key] is not None and tr[key] <= 0:
            fail(source, p + key, "must be positive or null")
    if tr["early_stopping_patience"] is not None and tr["early_stopping_patience"] < 1:
        fail(source, p + "early_stopping_patience", "must be >= 1 or null")
    if tr["num_parallel_calls"] is not None and tr["num_parallel_calls"] < 1:
        fail(source, p + "num_parallel_calls", "must be >= 1 or null (automatic)")
    choice("loss", tuple(LOSSES))
    tr["loss_params"] = check_section(tr["loss_params"], LOSSES[tr["loss"]], p + "loss_params.", source)
    if tr["loss"] == "l1_mrstft":
        res = tr["loss_params"]["resolutions"]
        if not res or not all(isinstance(r, int) and not isinstance(r, bool) and r >= 16 for r in res):
            fail(source, p + "loss_params.resolutions", "must list FFT sizes (integers >= 16)")
    if tr["distill_from"] is not None:
        if not tr["distill_from"]:
            fail(source, p + "distill_from", "must name a model (name or directory) or be null")
        if tr["loss"] not in ("l1_masked_magnitude", "l1_mask", "mse_mask"):
            fail(source, p + "distill_from", f"distils masks: use a mask loss, not {tr['loss']!r}")
    if tr["live_edge"] is not None:
        if tr["live_edge"] <= 0 or tr["excerpt_seconds"] is None or tr["live_edge"] > tr["excerpt_seconds"]:
            fail(source, p + "live_edge", "must be positive and at most excerpt_seconds (which must be set), or null")
        if tr["loss"] not in ("l1_masked_magnitude", "l1_mask", "mse_mask"):
            fail(
                source,
                p + "live_edge",
                f"scores the masks of a window's last frames: use a mask loss, not {tr['loss']!r}",
            )
    if tr["live_future"] < 0 or (tr["live_future"] and tr["live_edge"] is None):
        fail(source, p + "live_future", "must be >= 0, and needs live_edge")
    if not 0 <= tr["distill_weight"] <= 1:
        fail(source, p + "distill_weight", f"must be in [0, 1], got {tr['distill_weight']}")
    choice("optimizer", OPTIMIZERS)
    choice("lr_schedule", LR_SCHEDULES)
    choice("dataset", DATASETS)
    choice("mixed_precision", MIXED_PRECISION)
    choice("strategy", STRATEGIES)
    if tr["weight_decay"] < 0:
        fail(source, p + "weight_decay", "must be >= 0")
    if not 0 <= tr["lr_min"] <= tr["learning_rate"]:
        fail(source, p + "lr_min", f"must be between 0 and learning_rate ({tr['learning_rate']})")
    if not 0 < tr["lr_plateau_factor"] < 1:
        fail(source, p + "lr_plateau_factor", "must be in (0, 1)")
    if tr["stem_weights"] is not None:
        for stem, w in tr["stem_weights"].items():
            if stem not in cfg["stems"]:
                fail(source, p + "stem_weights", f"names {stem!r}, which is not in stems ({', '.join(cfg['stems'])})")
            if isinstance(w, bool) or not isinstance(w, NUMBER) or w < 0:
                fail(source, p + f"stem_weights.{stem}", f"must be a number >= 0, got {w!r}")
    gain = tr["augment_gain"]
    if gain is not None and (
        len(gain) != 2
        or not all(isinstance(g, NUMBER) and not isinstance(g, bool) for g in gain)
        or not 0 <= gain[0] <= gain[1]
    ):
        fail(source, p + "augment_gain", f"must be [low, high] with 0 <= low <= high, or null; got {gain!r}")
    if not 0 <= tr["augment_remix"] <= 1:
        fail(source, p + "augment_remix", "is a probability: must be in [0, 1]")
    if not 0 <= tr["augment_pitch_shift"] <= 12:
        fail(source, p + "augment_pitch_shift", "must be 0 (off) to 12 semitones")
    if not 0 <= tr["augment_time_stretch"] < 0.5:
        fail(source, p + "augment_time_stretch", "must be 0 (off) or a fraction below 0.5")
    if tr["silence_db"] is not None and not -120 <= tr["silence_db"] <= 0:
        fail(source, p + "silence_db", f"must be in [-120, 0] dBFS or null, got {tr['silence_db']!r}")
    _validate_stem_pools(tr, cfg, source)
    return tr


def _validate_sources(tr: dict, source: str) -> list[dict]:
    p = "training.sources"
    if tr["train_path"] is not None:
        fail(source, p, "replaces dataset and train_path: set one or the other")
    if not tr["sources"]:
        fail(source, p, "must list at least one dataset")
    out = []
    for i, entry in enumerate(tr["sources"]):
        if not isinstance(entry, dict):
            fail(source, f"{p}[{i}]", f"must be an object with dataset and path, got {entry!r}")
        entry = check_section(entry, SOURCE, f"{p}[{i}].", source)
        if entry["dataset"] not in DATASETS:
            fail(source, f"{p}[{i}].dataset", f"must be one of {', '.join(DATASETS)}, got {entry['dataset']!r}")
        paths = entry["path"]
        if isinstance(paths, list) and (
            entry["dataset"] != "folders" or not paths or not all(isinstance(x, str) and x for x in paths)
        ):
            fail(source, f"{p}[{i}].path", "a list of roots must be non-empty paths, and only for dataset 'folders'")
        if isinstance(entry["weight"], bool) or not entry["weight"] > 0:
            fail(source, f"{p}[{i}].weight", f"must be a number > 0, got {entry['weight']!r}")
        if entry["subset"] not in ("train", "test"):
            fail(source, f"{p}[{i}].subset", f"must be 'train' or 'test', got {entry['subset']!r}")
        out.append(entry)
    return out


def _validate_stem_pools(tr: dict, cfg: dict, source: str) -> None:
    p = "training."
    pools = tr["stem_pools"]
    if pools is not None:
        if tr["dataset"] != "folders" and not tr["sources"]:
            fail(source, p + "stem_pools", "is for dataset 'folders' (synthetic or own stem folders)")
        for stem, paths in pools.items():
            if stem not in cfg["stems"] or stem == "accompaniment":
                fail(
                    source,
                    p + "stem_pools",
                    f"names {stem!r}, which is not one of the stems ({', '.join(cfg['stems'])})",
                )
            if isinstance(paths, str):
                paths = pools[stem] = [paths]
            if not isinstance(paths, list) or not paths or not all(isinstance(x, str) and x for x in paths):
                fail(source, p + f"stem_pools.{stem}", "must be a path or a non-empty list of paths (files or folders)")
    if not 0 <= tr["stem_pool_probability"] <= 1:
        fail(source, p + "stem_pool_probability", "is a probability: must be in [0, 1]")
    level = tr["stem_pool_level_db"]
    if (
        len(level) != 2
        or not all(isinstance(x, NUMBER) and not isinstance(x, bool) for x in level)
        or level[0] > level[1]
    ):
        fail(source, p + "stem_pool_level_db", f"must be [low, high] in dB with low <= high; got {level!r}")
