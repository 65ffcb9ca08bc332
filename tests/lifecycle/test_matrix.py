"""A sample of the adversarial matrix (``matrix.py``) in every test run: every job shape and every
event at least once, each trial checked against every lifecycle invariant. The whole matrix, with
many trials per cell, is ``benchmarks/stress_lifecycle.py``."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from .matrix import SHAPES, run_trial, sample

pytestmark = pytest.mark.process


@pytest.mark.parametrize(("shape", "event"), sample())
def test_job_shape_under_event_keeps_every_invariant(tmp_path: Path, shape: str, event: str) -> None:
    seed = zlib.crc32(f"{shape}/{event}".encode())  # stable per cell: a failure reproduces
    trial = run_trial(SHAPES[shape], event, tmp_path, seed)
    assert trial.passed, f"{trial.describe()}\n{trial.output}"
