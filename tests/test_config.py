"""Config schema: built-ins, Spleeter conversion, errors that name the key and the file."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_config

from tfsep.config import builtin_config_names, load_config, segment_samples, validate
from tfsep.errors import ConfigError

# Spleeter's own configs/4stems/base_config.json (MUSDB training), verbatim in content.
SPLEETER_4STEMS = {
    "train_csv": "path/to/train.csv",
    "validation_csv": "path/to/test.csv",
    "model_dir": "4stems",
    "mix_name": "mix",
    "instrument_list": ["vocals", "drums", "bass", "other"],
    "sample_rate": 44100,
    "frame_length": 4096,
    "frame_step": 1024,
    "T": 512,
    "F": 1024,
    "n_channels": 2,
    "separation_exponent": 2,
    "mask_extension": "zeros",
    "learning_rate": 1e-4,
    "batch_size": 4,
    "training_cache": "training_cache",
    "validation_cache": "validation_cache",
    "train_max_steps": 1500000,
    "throttle_secs": 600,
    "random_seed": 3,
    "save_checkpoints_steps": 300,
    "save_summary_steps": 5,
    "model": {"type": "unet.unet", "params": {"conv_activation": "ELU", "deconv_activation": "ELU"}},
}


def _write(tmp_path, obj, name="config.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=2))
    return path


@pytest.mark.parametrize(
    "name,stems",
    [
        ("2stems", ["vocals", "accompaniment"]),
        ("4stems", ["vocals", "drums", "bass", "other"]),
        ("5stems", ["vocals", "piano", "drums", "bass", "other"]),
    ],
)
def test_builtin_configs_load(name, stems):
    assert name in builtin_config_names()
    cfg = load_config(name)
    assert cfg["stems"] == stems
    assert cfg["sample_rate"] == 44100 and cfg["n_channels"] == 2
    assert (cfg["frame_length"], cfg["frame_step"], cfg["T"], cfg["F"]) == (4096, 1024, 512, 1024)
    assert cfg["model"]["type"] == "unet"
    assert cfg["model"]["params"]["conv_n_filters"] == [16, 32, 64, 128, 256, 512]
    assert segment_samples(cfg) == 512 * 1024


def test_defaults_are_filled_in():
    cfg = validate({"stems": ["a", "b"], "model": {"type": "unet"}})
    assert cfg["frame_length"] == 4096 and cfg["separation"]["overlap"] == 0.125
    assert cfg["model"]["params"]["head"] == "sigmoid"
    assert cfg["model"]["params"]["unet_per_stem"] is True
    soft = validate({"stems": ["a", "b"], "model": {"type": "unet", "params": {"head": "softmax"}}})
    assert soft["model"]["params"]["unet_per_stem"] is False


def test_validate_does_not_modify_its_input():
    raw = tiny_config()
    before = json.dumps(raw, sort_keys=True)
    validate(raw)
    assert json.dumps(raw, sort_keys=True) == before


def test_spleeter_config_converts(tmp_path):
    path = _write(tmp_path, SPLEETER_4STEMS, "4stems.json")
    cfg = load_config(path)
    assert cfg["stems"] == ["vocals", "drums", "bass", "other"]
    params = cfg["model"]["params"]
    assert cfg["model"]["type"] == "unet"
    assert params["head"] == "sigmoid" and params["unet_per_stem"] is True
    assert params["conv_activation"] == "elu" and params["deconv_activation"] == "elu"
    assert params["conv_n_filters"] == [16, 32, 64, 128, 256, 512]
    assert cfg["training"]["learning_rate"] == 1e-4
    assert cfg["training"]["batch_size"] == 4
    assert cfg["training"]["train_max_steps"] == 1500000
    assert cfg["training"]["random_seed"] == 3
    assert cfg["training"]["checkpoint_every"] == 300
    assert cfg["separation_exponent"] == 2 and cfg["mask_extension"] == "zeros"
    for key in ("train_csv", "mix_name", "instrument_list", "model_dir"):
        assert key not in cfg
    # The converted config is a valid tfsep config in its own right.
    assert validate(json.loads(json.dumps(cfg))) == cfg


def test_spleeter_softmax_unet_and_bad_activation(tmp_path):
    raw = dict(SPLEETER_4STEMS, model={"type": "unet.softmax_unet", "params": {}})
    cfg = validate(raw)
    assert cfg["model"]["params"]["head"] == "softmax"
    bad = dict(SPLEETER_4STEMS, model={"type": "unet.unet", "params": {"conv_activation": "swish"}})
    path = _write(tmp_path, bad)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert "model.params.conv_activation" in str(exc.value) and str(path) in str(exc.value)
    with pytest.raises(ConfigError, match="model.type"):
        validate(dict(SPLEETER_4STEMS, model={"type": "blstm.blstm"}))


@pytest.mark.parametrize("where", ["top", "model.params", "separation", "training", "model"])
def test_unknown_key_names_key_and_file(tmp_path, where):
    raw = tiny_config()
    if where == "top":
        raw["frame_lenght"] = 512
        key = "frame_lenght"
    elif where == "model.params":
        raw["model"]["params"]["filters"] = [1]
        key = "model.params.filters"
    elif where == "model":
        raw["model"]["parms"] = {}
        key = "model.parms"
    else:
        raw[where] = {"ovrlap": 0.1}
        key = f"{where}.ovrlap"
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert key in msg and str(path) in msg and "\n" not in msg


@pytest.mark.parametrize(
    "key,value",
    [
        ("T", "64"),
        ("sample_rate", 44100.0),
        ("stems", "vocals"),
        ("model", []),
        ("separation_exponent", "2"),
        ("separation.overlap", "0.25"),
        ("model.params.kernel_size", 5.0),
    ],
)
def test_wrong_type_names_the_key(tmp_path, key, value):
    raw = tiny_config()
    *parents, leaf = key.split(".")
    node = raw
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert f"'{key}'" in str(exc.value) and str(path) in str(exc.value)


@pytest.mark.parametrize(
    "key",
    [
        "T",
        "n_channels",
        "model.params.kernel_size",
        "training.batch_size",
        "separation.batch_size",
        "separation_exponent",
    ],
)
def test_bool_is_not_a_number(key):
    raw = tiny_config()
    *parents, leaf = key.split(".")
    node = raw
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = True
    with pytest.raises(ConfigError, match=f"'{key}' must be"):
        validate(raw)


def test_invalid_json_names_file_and_line(tmp_path):
    text = json.dumps(tiny_config(), indent=2)
    lines = text.splitlines()
    lines[5] = lines[5] + " oops"  # line 6
    path = _write(tmp_path, "\n".join(lines))
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert str(path) in msg and "line 6" in msg


def test_not_an_object(tmp_path):
    path = _write(tmp_path, "[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(path)


@pytest.mark.parametrize("T,F", [(60, 128), (64, 100)])
def test_T_and_F_must_fit_the_depth(T, F):
    with pytest.raises(ConfigError, match="multiple of 2\\*\\*depth = 8"):
        validate(tiny_config(T=T, F=F))


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"F": 300}, "F"),  # more bins than frame_length // 2 + 1
        ({"frame_step": 1024}, "frame_step"),  # step larger than frame
        ({"n_channels": 3}, "n_channels"),
        ({"T": 0}, "T"),
        ({"stems": []}, "stems"),
        ({"stems": ["vocals", "vocals"]}, "stems"),
        ({"stems": ["voc/als"]}, "stems"),
        ({"mask_extension": "ones"}, "mask_extension"),
        ({"separation": {"overlap": 1.0}}, "separation.overlap"),
        ({"params_head": "tanh"}, "model.params.head"),
        ({"params_conv_activation": "gelu"}, "model.params.conv_activation"),
        ({"params_conv_n_filters": [4]}, "model.params.conv_n_filters"),
        ({"params_dropout": 1.0}, "model.params.dropout"),
        ({"params_kernel_size": 0}, "model.params.kernel_size"),
    ],
)
def test_bad_values_name_the_key(overrides, key):
    with pytest.raises(ConfigError) as exc:
        validate(tiny_config(**overrides))
    assert f"'{key}'" in str(exc.value)


def test_missing_required_keys():
    raw = tiny_config()
    del raw["stems"]
    with pytest.raises(ConfigError, match="'stems'"):
        validate(raw)
    raw = tiny_config()
    raw["model"] = {"params": {}}
    with pytest.raises(ConfigError, match="model.type"):
        validate(raw)


def test_missing_file_and_unknown_name(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as exc:
        load_config(missing)
    assert str(missing) in str(exc.value) and "not found" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_config("3stems")
    assert "2stems" in str(exc.value)  # lists the built-in names
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)  # a directory without config.json


def test_model_directory_loads_its_config(tmp_path):
    _write(tmp_path, tiny_config())
    assert load_config(tmp_path)["stems"] == ["vocals", "accompaniment"]


def test_training_warm_start_and_its_old_name():
    """``training.warm_start`` copies starting weights; configs written with its old name ``init_from`` load the same."""

    base = load_config("2stems")
    new = validate({**base, "training": {**base["training"], "warm_start": "2stems"}})
    old_training = {k: v for k, v in base["training"].items() if k != "warm_start"}
    old = validate({**base, "training": {**old_training, "init_from": "2stems"}})
    assert new["training"]["warm_start"] == old["training"]["warm_start"] == "2stems"
    assert "init_from" not in old["training"]
    with pytest.raises(ConfigError, match="old name of training.warm_start"):
        validate({**base, "training": {**old_training, "init_from": "a", "warm_start": "b"}})
