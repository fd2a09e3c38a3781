"""The labelled failure corpus, classified through the plugin: a regression guard on accuracy.

The corpus (benchmarks/triage_corpus) holds 160+ real failures, each labelled
with the category a person would give it; the script exits non-zero below 95%
accuracy, above 5% unknown, or when any deterministic failure is called flaky.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_corpus_accuracy_meets_the_targets() -> None:
    pytest.importorskip("pytest_timeout")
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "triage_accuracy.py"), "--plugin"],
        cwd=ROOT / "benchmarks",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "deterministic failures labelled flaky: 0" in run.stdout
