"""Helpers shared by the export, serving and mobile tests."""

from __future__ import annotations

import os

import pytest


def pretrained_2stems():
    """The pretrained 2stems model; skip when it cannot be fetched (fail with TFSEP_REQUIRE_PRETRAINED=1)."""
    from tfsep.errors import TfsepError
    from tfsep.pretrained import load_model

    try:
        return load_model("2stems", quiet=True)
    except TfsepError as exc:
        if os.environ.get("TFSEP_REQUIRE_PRETRAINED") == "1":
            raise
        pytest.skip(f"pretrained 2stems unavailable: {exc}")


def sdr(ref, est):
    from tfsep.evaluation.metrics import global_sdr

    return global_sdr(ref, est)
