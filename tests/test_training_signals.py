"""A real SIGINT/SIGTERM to ``tfsep train`` stops it between steps: resume then equals an uninterrupted run.

The signal goes to a training subprocess just after its first checkpoint
appears, so it lands in the next train step (where a handler that raises
would cut in after the weight update).  The checkpoint written on the
way out must hold as many optimizer updates as its step counter (a handler
raising inside the step would count one update too few), and training on
from it must give the uninterrupted run's weights exactly.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_training import make_tone_dataset, train_config

STEPS = 10
TIMEOUT_S = 180
# After the checkpoint file appears: the save returns, and the signal lands ~50 ms into the next step (~150 ms).
DELAY_S = 0.05


def _config(data):
    # Steps long enough (batch 16, a wider U-Net) that a signal sent just after a checkpoint lands in a step.
    cfg = train_config(
        data, train_max_steps=STEPS, batch_size=16, checkpoint_every=2, validate_every=STEPS, log_every=5
    )
    cfg["model"]["params"]["conv_n_filters"] = [16, 32, 64]
    return cfg


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(config, weights of an uninterrupted run), trained in this process."""
    from tfsep.training.loop import Trainer

    root = tmp_path_factory.mktemp("signals")
    cfg = _config(make_tone_dataset(root / "data", n_tracks=3, seconds=2.0))
    full = Trainer(copy.deepcopy(cfg), root / "full", quiet=True)
    assert full.run()["steps"] == STEPS
    return cfg, [np.array(w) for w in full.model.get_weights()]


def _train_and_signal(cfg_path, run_dir, log_path, signum) -> int:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tfsep.cli", "train", "-c", str(cfg_path), "-o", str(run_dir), "-q"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while not (run_dir / "checkpoints" / "checkpoint").exists():
                assert proc.poll() is None, "training ended before its first checkpoint:\n" + log_path.read_text()
                assert time.monotonic() < deadline, "no checkpoint in time:\n" + log_path.read_text()
                time.sleep(0.005)
            time.sleep(DELAY_S)
            proc.send_signal(signum)
            return proc.wait(timeout=TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run_then_resume_equals_uninterrupted(setup, tmp_path, signum):
    import tensorflow as tf

    from tfsep.training.loop import Trainer

    cfg, expected = setup
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    run_dir = tmp_path / "run"
    log_path = tmp_path / "train.log"
    rc = _train_and_signal(cfg_path, run_dir, log_path, signum)
    log = log_path.read_text()
    assert rc == 130, log
    assert "Traceback" not in log, log
    assert log.strip().splitlines()[-1].startswith("tfsep: error: interrupted at step"), log

    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    reader = tf.train.load_checkpoint(latest)
    step = int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
    updates = int(reader.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"))
    assert 2 <= step < STEPS, log
    assert updates == step, f"checkpoint at step {step} holds {updates} optimizer updates"
    assert f"interrupted at step {step};" in log

    resumed = Trainer(copy.deepcopy(cfg), run_dir, resume=True, quiet=True)
    assert resumed.run()["steps"] == STEPS and resumed.start == step
    got = [np.array(w) for w in resumed.model.get_weights()]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_first_signal_sets_the_flag_a_second_stops_at_once():
    from tfsep.training.signals import StopSignals

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    seen = []
    with StopSignals(seen.append) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # the handler runs between bytecodes of the main thread
        assert stop.received == signal.SIGTERM and seen == [signal.SIGTERM]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
