"""Sharding across CI machines, the shard plan, merging shard reports, and xdist equivalence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from tests.conftest import history_rows

SUITE = {
    "test_journey": """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_signup(n):
    pass

@pytest.mark.requires("test_signup")
def test_checkout():
    pass

@pytest.mark.requires("test_checkout")
def test_receipt():
    assert False, "receipt missing"

@pytest.mark.requires("test_receipt")
def test_refund():
    pass
""",
    "test_many": "".join(f"def test_{i}():\n    pass\n" for i in range(20)),
}

CHAIN = ["test_journey.py::test_signup[0]", "test_journey.py::test_signup[1]", "test_journey.py::test_signup[2]",
         "test_journey.py::test_signup[3]", "test_journey.py::test_checkout", "test_journey.py::test_receipt",
         "test_journey.py::test_refund"]


def _ran(result: pytest.RunResult) -> Dict[str, str]:
    outcomes = {}
    for line in result.outlines:
        parts = line.split(" ")
        if len(parts) > 1 and "::" in parts[0] and parts[1] in ("PASSED", "FAILED", "SKIPPED", "ERROR"):
            outcomes[parts[0]] = parts[1]
    return outcomes


def _ran_as_history(result: pytest.RunResult) -> Dict[str, str]:
    return {nodeid: outcome.lower() for nodeid, outcome in _ran(result).items()}


def test_shards_cover_everything_once_keep_chains_whole_and_merge(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**SUITE)
    durations = {f"test_many.py::test_{i}": 0.1 * (i + 1) for i in range(20)}
    pytester.path.joinpath("durations.json").write_text(json.dumps(durations))
    pytester.makefile(".yaml", orchestra="sharding: {durations_file: durations.json}\n")
    seen: Dict[str, str] = {}
    for index in (1, 2, 3):
        result = pytester.runpytest("-v", f"--orchestra-shard={index}/3", f"--orchestra-report-dir=shard{index}")
        result.stdout.fnmatch_lines([f"orchestra: shard {index}/3 (--orchestra-shard): * tests, ~*s of ~*s"])
        ran = _ran(result)
        assert not set(ran) & set(seen), "a test ran in two shards"
        chain_here = [n for n in CHAIN if n in ran]
        assert chain_here in ([], CHAIN)
        if chain_here:
            assert [n for n in ran if n in CHAIN] == CHAIN  # in order, too
        seen.update(ran)
    assert len(seen) == 27
    assert seen["test_journey.py::test_refund"] == "SKIPPED"
    merged = subprocess.run(
        [sys.executable, "-m", "pytest_orchestra", "merge", "shard1", "shard2", "shard3", "--out", "merged"],
        cwd=pytester.path, capture_output=True, text=True,
    )
    assert merged.returncode == 1, merged.stderr  # the shards had a failure
    assert "merged 3 shard reports: 1 failed, 25 passed, 1 skipped -> merged" in merged.stdout
    summary = json.loads((pytester.path / "merged" / "summary.json").read_text())
    assert summary["counts"]["passed"] == 25 and summary["counts"]["failed"] == 1
    assert [e["nodeid"] for e in summary["ordering"]["dependency_skipped"]] == ["test_journey.py::test_refund"]
    assert "Merged from 3 shards" in (pytester.path / "merged" / "report.md").read_text()


def test_shard_plan_is_printed_without_running(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(**SUITE)
    monkeypatch.setenv("CI_NODE_INDEX", "2")
    monkeypatch.setenv("CI_NODE_TOTAL", "4")
    result = pytester.runpytest("--orchestra-shard-plan")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "orchestra: shard 2/4 (CI_NODE_INDEX/CI_NODE_TOTAL): * tests*",
        "orchestra shard plan: 4 shards, longest/mean *, 27 tests without history counted as 1.000s",
        "  shard 1/4: 7 tests in 1 units, ~7.00s",
        "  shard 2/4: 7 tests in 7 units, ~7.00s",
    ])
    assert not (pytester.path / ".orchestra" / "history.db").exists()


def test_history_durations_plan_the_next_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_slow="import time, pytest\n@pytest.mark.parametrize('n', range(6))\n"
                  "def test_t(n):\n    time.sleep(0.15 if n == 0 else 0.01)\n"
    )
    pytester.runpytest()
    result = pytester.runpytest("--orchestra-shard=1/2", "--orchestra-shard-plan")
    # The slow test fills one shard alone; the five fast ones share the other.
    result.stdout.fnmatch_lines(["  shard 1/2: 1 tests in 1 units, *", "  shard 2/2: 5 tests in 5 units, *"])


def test_missing_durations_file_counts_every_test_the_same(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**SUITE)
    pytester.makefile(".yaml", orchestra="sharding: {durations_file: .orchestra/durations.json}\n")
    result = pytester.runpytest("--orchestra-shard=1/2")
    result.stdout.fnmatch_lines([
        "orchestra: durations.json (sharding.durations_file) not found: every test counts the same",
        "orchestra: shard 1/2 (--orchestra-shard): * tests*",
    ])
    pytester.path.joinpath(".orchestra", "durations.json").write_text("[not json")
    result = pytester.runpytest("--orchestra-shard=1/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: sharding.durations_file: *durations.json: not valid JSON*"])


def test_bad_shard_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--orchestra-shard=4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --orchestra-shard: expected K/N with 1 <= K <= N (e.g. 2/4), got '4/3'"])


def test_merge_rejects_a_folder_without_reports(tmp_path: Path) -> None:
    merged = subprocess.run([sys.executable, "-m", "pytest_orchestra", "merge", str(tmp_path)],
                            capture_output=True, text=True)
    assert merged.returncode == 2
    assert f"{tmp_path}: no report here" in merged.stderr


def test_xdist_with_many_workers_gives_the_serial_outcomes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**SUITE)
    serial = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    parallel = pytester.runpytest_subprocess("-n", "8", "-v", "-p", "no:cacheprovider")
    assert len(_ran(serial)) == 27
    parallel.assert_outcomes(passed=25, failed=1, skipped=1)
    rows = history_rows(pytester.path, where="ORDER BY id")
    by_run: Dict[str, Dict[str, str]] = {}
    workers: Dict[str, set] = {}
    for row in rows:
        by_run.setdefault(row["run_id"], {})[row["nodeid"]] = row["outcome"]
        if row["nodeid"] in CHAIN:
            workers.setdefault(row["run_id"], set()).add(row["worker"])
    first, second = by_run.values()
    assert first == second == _ran_as_history(serial)
    assert [len(w) for w in workers.values()] == [1, 1]  # the chain stayed on one worker
