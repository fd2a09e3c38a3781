"""Seeds of test data: the run seed (``--orchestra-data-seed``, shared by xdist workers) and each test's seed."""

from __future__ import annotations

import random
import zlib

import pytest

from pytest_orchestra.core.errors import OrchestraError

SEED_KEY = pytest.StashKey[int]()


def run_seed(config: pytest.Config) -> int:
    """The run seed: handed down by the xdist controller, else the option or ini (``random`` draws one)."""
    worker = getattr(config, "workerinput", None)
    if worker is not None and "orchestra_data_seed" in worker:
        return int(worker["orchestra_data_seed"])
    raw = config.getoption("orchestra_data_seed", None)
    if raw is None:
        raw = config.getini("orchestra_data_seed") or "0"
    if str(raw).strip().lower() == "random":
        return random.SystemRandom().randrange(2**31)
    try:
        return int(str(raw).strip())
    except ValueError:
        raise OrchestraError(f"--orchestra-data-seed: expected an integer or 'random', got {raw!r}") from None


def test_seed(run_seed: int, nodeid: str) -> int:
    """The seed of one test's dataset: the same on every worker, different per test."""
    return zlib.crc32(f"{run_seed}::{nodeid}".encode())
