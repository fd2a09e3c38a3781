"""Run records and reports, end to end through pytester (with and without xdist)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import history_rows, latest_summary

SUITE = """
import os
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

@pytest.mark.app("billing")
def test_pass():
    pass

@pytest.mark.app("billing")
def test_fail():
    assert 1 + 1 == 3

def test_setup_error(broken):
    pass

@pytest.mark.skip(reason="not on this edition")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False

@pytest.mark.parametrize("n", range(6))
def test_many(n):
    assert n >= 0
"""


def _records(base: Path) -> set[tuple]:
    return {
        (r["nodeid"], r["outcome"], r["phase"], r["app"])
        for r in history_rows(base)
    }


def test_run_is_recorded_with_every_test_and_its_outcome(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=7, failed=1, errors=1, skipped=1, xfailed=1)

    assert _records(pytester.path) >= {
        ("test_shop.py::test_pass", "passed", "call", "billing"),
        ("test_shop.py::test_fail", "failed", "call", "billing"),
        ("test_shop.py::test_setup_error", "error", "setup", None),
        ("test_shop.py::test_skipped", "skipped", "setup", None),
        ("test_shop.py::test_xfail", "xfailed", "call", None),
    }
    (run,) = history_rows(pytester.path, "runs")
    assert run["status"] == "complete"
    assert run["exit_status"] == 1
    assert run["triggered_by"] == "local"
    assert run["success_rate"] == pytest.approx(8 / 10)
    failing = next(r for r in history_rows(pytester.path) if r["nodeid"].endswith("test_fail"))
    assert "assert (1 + 1) == 3" in failing["message"]
    assert failing["location_file"] == "test_shop.py"

    summary = latest_summary(pytester.path)
    assert summary["counts"]["failed"] == 1 and summary["counts"]["error"] == 1
    assert summary["by_app"]["billing"]["failed"] == 1
    result.stdout.fnmatch_lines(
        [
            "orchestra: run *: 1 failed, 1 error, 7 passed, 1 skipped, 1 xfailed; success rate 80.0%",
            "orchestra: report .orchestra/reports/*/report.md",
        ]
    )


def test_with_xdist_records_are_the_same_and_written_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=SUITE)
    pytester.runpytest()
    serial = _records(pytester.path)
    pytester.runpytest("-n", "4")
    runs = history_rows(pytester.path, "runs", "ORDER BY started")
    assert len(runs) == 2
    parallel_rows = history_rows(pytester.path, "tests", f"WHERE run_id = '{runs[1]['run_id']}'")
    assert len(parallel_rows) == len({r["nodeid"] for r in parallel_rows}) == 11  # no duplicated rows
    assert {(r["nodeid"], r["outcome"], r["phase"], r["app"]) for r in parallel_rows} == serial
    assert {r["worker"] for r in parallel_rows} <= {"gw0", "gw1", "gw2", "gw3"}
    assert runs[1]["workers"] >= 2
    report_dirs = [p for p in (pytester.path / ".orchestra" / "reports").iterdir() if p.name != "latest"]
    assert len(report_dirs) == 2  # one per run, none per worker
    assert latest_summary(pytester.path)["counts"]["total"] == 11


def test_collection_errors_are_recorded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_ok="def test_ok(): pass", test_broken="import no_such_module_xyz")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED  # pytest stops on collection errors
    rows = {r["nodeid"]: r for r in history_rows(pytester.path)}
    assert rows["test_broken.py"]["outcome"] == "error"
    assert rows["test_broken.py"]["phase"] == "collect"
    assert "no_such_module_xyz" in rows["test_broken.py"]["message"]
    (run,) = history_rows(pytester.path, "runs")
    assert run["status"] == "interrupted"


def test_collection_error_under_xdist_is_recorded_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_ok="def test_ok(): pass", test_broken="import no_such_module_xyz")
    pytester.runpytest("-n", "2")
    rows = [r for r in history_rows(pytester.path) if r["nodeid"] == "test_broken.py"]
    assert len(rows) == 1 and rows[0]["phase"] == "collect"


def test_a_crashed_worker_is_recorded_as_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_crash="""
        import os
        def test_dies():
            os._exit(3)
        def test_fine():
            pass
        """
    )
    pytester.runpytest("-n", "2")
    rows = {r["nodeid"]: r for r in history_rows(pytester.path)}
    assert rows["test_crash.py::test_dies"]["outcome"] == "error"
    assert rows["test_crash.py::test_dies"]["phase"] == "crash"
    assert "crashed" in rows["test_crash.py::test_dies"]["message"]
    assert rows["test_crash.py::test_fine"]["outcome"] == "passed"


def test_a_killed_run_keeps_its_partial_data_and_is_marked_incomplete(pytester: pytest.Pytester) -> None:
    # 600 quick tests flush at least one batch, then the process kills itself.
    pytester.makepyfile(
        test_killed="""
        import os, signal, pytest
        @pytest.mark.parametrize("n", range(600))
        def test_quick(n):
            pass
        def test_zz_kill():
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -9
    assert len(history_rows(pytester.path)) >= 500
    pytester.makepyfile(test_killed="def test_again(): pass")
    pytester.runpytest()
    statuses = [r["status"] for r in history_rows(pytester.path, "runs", "ORDER BY started")]
    assert statuses == ["incomplete", "complete"]


def test_two_runs_at_once_in_the_same_folder(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_slowish="""
        import time, pytest
        @pytest.mark.parametrize("n", range(300))
        def test_n(n):
            if n % 50 == 0:
                time.sleep(0.05)
        """
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    first = subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    second = subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    outputs = [p.communicate(timeout=120)[0].decode() for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert not any("Traceback" in out or "locked" in out for out in outputs)
    runs = history_rows(pytester.path, "runs")
    assert [r["status"] for r in runs] == ["complete", "complete"]
    for run in runs:
        count = history_rows(pytester.path, "tests", f"WHERE run_id = '{run['run_id']}'")
        assert len(count) == 300


def test_a_corrupt_history_is_moved_aside_with_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    (pytester.path / ".orchestra").mkdir()
    (pytester.path / ".orchestra" / "history.db").write_bytes(b"this is not sqlite" * 100)
    result = pytester.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(["orchestra: history database *history.db is corrupt*moved it to*"])
    assert "Traceback" not in result.stdout.str()
    assert list((pytester.path / ".orchestra").glob("history.db.corrupt-*"))
    assert len(history_rows(pytester.path, "runs")) == 1


def test_records_can_be_turned_off_with_one_setting(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest("-o", "orchestra_records=false")
    assert result.ret == 0
    assert not (pytester.path / ".orchestra").exists()


def test_records_off_from_the_workflow_still_gate(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="reports: {enabled: false}\ngates: {max_failures: 0}\n")
    pytester.makepyfile("def test_bad(): assert False")
    result = pytester.runpytest()
    assert result.ret == 6
    assert not (pytester.path / ".orchestra").exists()


def test_disabled_plugin_leaves_the_suite_untouched(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="gates: {min_success_rate: '95%'}\n")  # would be a usage error
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.matrix(role=["a", "b"])
        def test_one():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:orchestra")
    result.assert_outcomes(passed=1)  # not expanded into a matrix
    assert not (pytester.path / ".orchestra").exists()
    assert "orchestra:" not in result.stdout.str()


def test_the_plugins_own_modules_load_with_pythons_importer(pytester: pytest.Pytester) -> None:
    # pytest would load them through its assertion rewriter, which cost more than a passing
    # run of a few hundred tests pays the plugin for everything else; the suite's own test
    # modules are still rewritten.
    pytester.makepyfile(
        """
        import sys

        def test_loaders():
            own = [name for name in sys.modules if name.startswith("pytest_orchestra.")]
            assert len(own) > 10
            rewritten = [name for name in own if type(sys.modules[name].__loader__).__name__ == "AssertionRewritingHook"]
            assert rewritten == []
            here = sys.modules[__name__].__loader__
            assert type(here).__name__ == "AssertionRewritingHook"

        def test_rewritten_assertions_still_explain():
            assert [1, 2] == [1, 3]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*At index 1 diff: 2 != 3*"])


def test_collect_only_writes_no_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    pytester.runpytest("--collect-only", "-q")
    assert not (pytester.path / ".orchestra").exists()


def test_report_dir_option_and_latest_link(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    pytester.runpytest("--orchestra-report-dir", "out/reports")
    assert json.loads((pytester.path / "out" / "reports" / "summary.json").read_text())["counts"]["passed"] == 1
    assert (pytester.path / "out" / "reports" / "report.md").exists()
    pytester.runpytest()
    latest = pytester.path / ".orchestra" / "reports" / "latest"
    assert os.path.islink(latest) or latest.is_dir()
    assert (latest / "events.jsonl").read_text().count("\n") == 2  # session span + 1 test


def test_ci_trigger_and_git_state_are_recorded(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("def test_ok(): pass")
    for command in (
        ["git", "init", "-q", "-b", "feature/refunds"],
        ["git", "-c", "user.email=a@b.c", "-c", "user.name=a", "add", "."],
        ["git", "-c", "user.email=a@b.c", "-c", "user.name=a", "commit", "-q", "-m", "init"],
    ):
        subprocess.run(command, cwd=pytester.path, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=pytester.path, capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.setenv("GITLAB_CI", "true")
    pytester.runpytest()
    (run,) = history_rows(pytester.path, "runs")
    assert run["triggered_by"] == "gitlab-ci"
    assert run["git_commit"] == commit
    assert run["branch"] == "feature/refunds"


def test_each_run_records_the_code_state_it_tested(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(prices="def add(a, b):\n    return a + b\n")
    pytester.makepyfile(test_prices="from prices import add\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "-c", "user.email=a@b.c", "-c", "user.name=a", "add", "."],
        ["git", "-c", "user.email=a@b.c", "-c", "user.name=a", "commit", "-q", "-m", "init"],
    ):
        subprocess.run(command, cwd=pytester.path, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=pytester.path, capture_output=True, text=True
    ).stdout.strip()
    prices = pytester.path / "prices.py"
    original = prices.read_text()
    # Clean, broken, restored, broken again: the reports and history the runs write are not code.
    for text in (original, original.replace("a + b", "a - b"), original, original.replace("a + b", "a - b")):
        prices.write_text(text)
        pytester.runpytest("-p", "no:cacheprovider")

    runs = history_rows(pytester.path, "runs", "ORDER BY started")
    states = [run["code_state"] for run in runs]
    assert states[0] == states[2] == commit
    assert states[1] == states[3] != commit
    assert runs[0]["code_changes"] is None
    assert list(json.loads(runs[1]["code_changes"])) == ["prices.py"]
