"""A history shared in PostgreSQL, end to end: real pytest runs (with and without -n 2) against a
real server the tests start, stopped and restarted under them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, Dict, List

import pytest

from pytest_orchestra.environments.throwaway import ThrowawayPostgres
from pytest_orchestra.history.location import parse_history_url
from pytest_orchestra.history.postgres import PostgresHistoryStore
from tests.conftest import latest_summary
from tests.pghistory import history_server, history_url  # noqa: F401

pytestmark = pytest.mark.slow


def shared(url: str) -> Any:
    return PostgresHistoryStore.open(parse_history_url(url, "history.url"), timeout=20, on_failure=print)


def workflow(pytester: pytest.Pytester, url: str, extra: str = "") -> None:
    pytester.makefile(".yaml", orchestra=f"history: {{url: '{url}'}}\n{extra}")


def files_text(root: Path) -> str:
    return "\n".join(path.read_text(errors="replace") for path in root.rglob("*") if path.is_file()
                     and path.suffix in (".md", ".json", ".jsonl", ".svg"))


SUITE = """
import pytest
@pytest.mark.parametrize("n", range(12))
def test_many(n):
    pass
def test_broken():
    assert 1 + 1 == 3
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_runs_are_recorded_once_in_the_shared_database_and_never_locally(
    pytester: pytest.Pytester, history_server: ThrowawayPostgres, history_url: str, workers: List[str]
) -> None:
    workflow(pytester, history_url)
    pytester.makepyfile(test_suite=SUITE)
    for _ in range(2):
        result = pytester.runpytest(*workers)
        result.assert_outcomes(passed=12, failed=1)
    with shared(history_url) as store:
        runs = store.runs()
        assert [run.status for run in runs] == ["complete", "complete"]
        for run in runs:
            nodeids = [test.nodeid for test in store.tests(run.run_id)]
            assert len(nodeids) == 13 and len(set(nodeids)) == 13
        assert history_server.password not in runs[0].args
    assert not (pytester.path / ".orchestra" / "history.db").exists()
    output = result.stdout.str() + result.stderr.str()
    assert history_server.password not in output
    assert history_server.password not in files_text(pytester.path / ".orchestra")
    # The second run's report shows the trend of both, as a Mermaid chart and an SVG file.
    report = (pytester.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert "### Trends: last 2 runs" in report and "xychart-beta" in report
    ElementTree.parse(pytester.path / ".orchestra" / "reports" / "latest" / "trends.svg")
    assert len(latest_summary(pytester.path)["trends"]["points"]) == 2


def test_a_bad_url_stops_the_run_with_one_line_naming_the_setting(pytester: pytest.Pytester) -> None:
    workflow(pytester, "mysql://qa:topsecret99@db/history")
    pytester.makepyfile(test_one="def test_one(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: orchestra.yaml: history.url: expected a postgresql:// URL (the history's "
                                 "shared database), got mysql://qa:***@db/history"])
    assert "topsecret99" not in result.stdout.str() + result.stderr.str()


def test_a_database_that_is_down_costs_one_line_and_the_next_run_uploads_exactly_once(
    pytester: pytest.Pytester, history_server: ThrowawayPostgres, history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_HISTORY_URL", history_url)
    pytester.makepyfile(test_suite=SUITE)
    assert pytester.runpytest().ret == 1  # creates the tables
    history_server.stop()
    try:
        down = pytester.runpytest("-n", "2")
    finally:
        history_server.restart()
    assert down.ret == 1  # the run's own verdict, not the database's
    warnings = [line for line in down.stdout.lines if "history database" in line]
    assert warnings == [
        f"orchestra: history database {parse_history_url(history_url, 'x').shown} (ORCHESTRA_HISTORY_URL) is "
        "unreachable (Connection refused); this run's records go to .orchestra/history.db and are uploaded by the "
        "next run that reaches it"
    ]
    assert history_server.password not in down.stdout.str()
    outage_run = latest_summary(pytester.path)["run"]["run_id"]
    assert pytester.runpytest().ret == 1
    assert pytester.runpytest().ret == 1  # a second upload attempt must not double anything
    with shared(history_url) as store:
        assert len(store.runs()) == 4
        assert store.known_runs([outage_run]) == {outage_run: ("complete", 13)}
    assert list((pytester.path / ".orchestra" / "history-spool").glob("*.json")) == []


def test_a_database_stopped_mid_run_and_restarted_loses_nothing(
    pytester: pytest.Pytester, history_server: ThrowawayPostgres, history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_HISTORY_URL", history_url)
    monkeypatch.setenv("HISTORY_SERVER_PID", str(history_server.record.pid))  # type: ignore[union-attr]
    pytester.makepyfile(
        test_outage="""
        import os, signal, time, pytest

        @pytest.mark.parametrize("n", range(30))
        def test_before(n):
            pass

        def test_long_enough_for_a_flush():
            time.sleep(2.2)

        @pytest.mark.parametrize("n", range(5))
        def test_flushed(n):
            pass

        def test_the_database_goes_down():
            from pytest_orchestra.environments.processes import process_state

            pid = int(os.environ["HISTORY_SERVER_PID"])
            os.kill(pid, signal.SIGINT)
            for _ in range(500):  # gone, or a zombie until the test process reaps it
                if process_state(pid) in (None, "Z"):
                    return
                time.sleep(0.01)
            raise AssertionError("the server did not stop")

        @pytest.mark.parametrize("n", range(20))
        def test_after(n):
            pass
        """
    )
    try:
        result = pytester.runpytest("-p", "no:randomly")
    finally:
        history_server.restart()
    assert result.ret == 0
    assert len([line for line in result.stdout.lines if "history database" in line]) == 1
    run_id = latest_summary(pytester.path)["run"]["run_id"]
    with shared(history_url) as store:
        before = store.known_runs([run_id])[run_id]
    assert before[0] == "running" and 0 < before[1] < 57  # part of it landed before the database went down
    assert pytester.runpytest("-p", "no:randomly").ret == 0
    with shared(history_url) as store:
        tests = [test.nodeid for test in store.tests(run_id)]
        assert store.get_run(run_id).status == "complete"  # type: ignore[union-attr]
    assert len(tests) == 57 and len(set(tests)) == 57


def test_a_sharded_pipeline_is_one_run_that_reports_gates_and_reruns_as_one(
    pytester: pytest.Pytester, history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_HISTORY_URL", history_url)
    monkeypatch.setenv("ORCHESTRA_RUN_GROUP", "pipeline-41")
    pytester.makepyfile(
        test_pipeline="""
        import os, pytest
        @pytest.mark.parametrize("n", range(8))
        def test_case(n):
            assert not (n == 5 and os.environ.get("BREAK") == "1")
        """
    )
    monkeypatch.setenv("BREAK", "1")
    shards = [pytester.runpytest(f"--orchestra-shard={k}/2") for k in (1, 2)]
    assert sorted(shard.ret for shard in shards) == [0, 1]
    # A rerun of the pipeline picks what failed in any of its shards.
    monkeypatch.delenv("ORCHESTRA_RUN_GROUP")
    rerun = pytester.runpytest("--orchestra-rerun=pipeline-41", "--collect-only", "-q")
    assert [line for line in rerun.stdout.lines if "::" in line] == ["test_pipeline.py::test_case[5]"]
    monkeypatch.setenv("ORCHESTRA_RUN_GROUP", "pipeline-41")
    monkeypatch.setenv("BREAK", "0")
    failing_shard = [k for k, shard in zip((1, 2), shards) if shard.ret == 1][0]
    retried = pytester.runpytest(f"--orchestra-shard={failing_shard}/2")  # the CI job, retried
    assert retried.ret == 0
    with shared(history_url) as store:
        group = store.get_run("pipeline-41")
        assert group is not None and group.status == "complete" and group.success_rate == 1.0
        nodeids = [test.nodeid for test in store.tests("pipeline-41")]
        assert len(nodeids) == 8 and len(set(nodeids)) == 8  # the retried shard counts once
        assert len(store.group_runs("pipeline-41")) == 2 and len(store.runs()) == 3
    # The merge job reads the whole pipeline from history, gate included.
    merged = subprocess.run([sys.executable, "-m", "pytest_orchestra", "history", "report", "pipeline-41",
                             "--out", "merged", "--gate", "max_failures=0"],
                            cwd=pytester.path, capture_output=True, text=True, env=dict(os.environ))
    assert merged.returncode == 0, merged.stderr
    report = (pytester.path / "merged" / "report.md").read_text()
    assert "8 passed" in report
    summary = json.loads((pytester.path / "merged" / "summary.json").read_text())
    assert summary["gate"]["passed"] is True
    # Once the retried shard passed, the pipeline has nothing left to rerun.
    rerun = pytester.runpytest("--orchestra-rerun=pipeline-41")
    rerun.stderr.fnmatch_lines(["*run pipeline-41 had no failed tests: nothing to rerun*"])


def test_flakiness_and_auto_quarantine_read_the_shared_history(
    pytester: pytest.Pytester, history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow(pytester, history_url, "quarantine: {auto: true, min_runs: 4, flip_rate: 0.3, expires_days: 7}\n")
    # The nondeterminism lives outside the checkout: the code stays the same between runs.
    mode = pytester.path.parent / f"{pytester.path.name}-mode"
    monkeypatch.setenv("FLIP_MODE_FILE", str(mode))
    pytester.makepyfile(test_flip="""
        import os, pathlib
        def test_sometimes():
            assert pathlib.Path(os.environ["FLIP_MODE_FILE"]).read_text() == "pass"
        def test_fine():
            pass
        """)
    git = ["git", "-c", "user.email=a@b.c", "-c", "user.name=a"]
    subprocess.run(["git", "init", "-q"], cwd=pytester.path, check=True)
    subprocess.run([*git, "add", "test_flip.py", "orchestra.yaml"], cwd=pytester.path, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=pytester.path, check=True)
    for flip in ("pass", "fail", "pass", "fail", "pass", "fail"):
        mode.write_text(flip)
        pytester.runpytest()
    triage = json.loads((pytester.path / ".orchestra" / "reports" / "latest" / "triage.json").read_text())
    failure = {entry["nodeid"].split("::")[-1]: entry for entry in triage}["test_sometimes"]
    assert (failure["category"], failure["rule"]) == ("flaky", "history")
    assert "test_flip.py::test_sometimes" in (pytester.path / ".orchestra" / "quarantine.yaml").read_text()
    assert not (pytester.path / ".orchestra" / "history.db").exists()


def test_shards_plan_from_durations_pinned_for_their_group(
    pytester: pytest.Pytester, history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_HISTORY_URL", history_url)
    pytester.makepyfile(test_timed="""
        import time, pytest
        @pytest.mark.parametrize("n", range(6))
        def test_timed(n):
            time.sleep(0.05 if n == 0 else 0)
        """)
    assert pytester.runpytest().ret == 0  # measures durations
    planned: Dict[int, List[str]] = {}
    for shard in (1, 2):
        result = pytester.runpytest(f"--orchestra-shard={shard}/2", "--orchestra-run-group=p7", "--collect-only", "-q")
        planned[shard] = [line for line in result.stdout.lines if "::" in line]
        # the first shard's run adds figures; the second must still plan from the pinned ones
        assert pytester.runpytest(f"--orchestra-shard={shard}/2", "--orchestra-run-group=p7").ret == 0
    assert sorted(planned[1] + planned[2]) == sorted(f"test_timed.py::test_timed[{n}]" for n in range(6))
    assert planned[1] == ["test_timed.py::test_timed[0]"]  # the slow one alone balances the rest
