"""Two MultiWorkerMirroredStrategy workers on 127.0.0.1 train a few steps and end with identical weights.

The workers are subprocesses (a strategy needs a fresh process); both are
bounded in time and always killed in ``finally``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import h5py
import numpy as np
import pytest
from test_training import make_tone_dataset, train_config

TIMEOUT_S = 240


def _free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _h5_arrays(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, np.array(obj)) if isinstance(obj, h5py.Dataset) else None)
    return out


def test_two_workers_end_with_identical_weights(tmp_path):
    data = make_tone_dataset(tmp_path / "data", n_tracks=3, seconds=2.0)
    cfg = train_config(data, train_max_steps=4, validate_every=4, checkpoint_every=2, validation_seconds=0.5)
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    run_dir = tmp_path / "run"
    procs = []
    logs = []
    try:
        for i in range(2):
            env = dict(
                os.environ,
                TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                TF_CPP_MIN_LOG_LEVEL="2",
                CUDA_VISIBLE_DEVICES="",
            )
            log = open(tmp_path / f"worker{i}.log", "w")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tfsep.cli",
                        "train",
                        "-c",
                        str(cfg_path),
                        "-o",
                        str(run_dir),
                        "-q",
                        "--keep-worker-dirs",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for i, p in enumerate(procs):
            try:
                rc = p.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"worker {i} did not finish in {TIMEOUT_S} s:\n" + (tmp_path / f"worker{i}.log").read_text()[-3000:]
                )
            assert rc == 0, f"worker {i} exited {rc}:\n" + (tmp_path / f"worker{i}.log").read_text()[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
        for log in logs:
            log.close()
    chief = _h5_arrays(run_dir / "model.weights.h5")
    other = _h5_arrays(run_dir / ".worker-worker-1" / "model.weights.h5")
    assert chief.keys() == other.keys() and chief
    for k in chief:
        np.testing.assert_array_equal(chief[k], other[k], err_msg=k)
    # They trained: the weights moved away from the initialisation.
    from tfsep import models, pretrained
    from tfsep.config import load_config

    init = models.build(load_config(run_dir))
    assert any(
        not np.allclose(a, b)
        for a, b in zip(init.get_weights(), pretrained.load_model_dir(run_dir).keras_model.get_weights())
    )
