"""``python -m pytest_orchestra history``: push, export, trends, report, status; one line per error."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Tuple

import pytest

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.environments.throwaway import ThrowawayPostgres
from pytest_orchestra.history.cli import main
from pytest_orchestra.history.location import mask_url, parse_history_url
from pytest_orchestra.history.postgres import PostgresHistoryStore
from pytest_orchestra.history.spool import Spool
from pytest_orchestra.history.store import HistoryStore
from tests.pghistory import history_server, history_url  # noqa: F401


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORCHESTRA_HISTORY_URL", raising=False)
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def local_history(root: Path, runs: int = 3, *, running: bool = False) -> Path:
    path = root / ".orchestra" / "history.db"
    with HistoryStore.open(path) as store:
        for number in range(runs):
            run_id = f"2026010{number}T000000Z-00000{number}"
            store.begin_run(RunRecord(run_id=run_id, started=1_767_225_600.0 + number, branch="main"))
            store.add_tests(run_id, [TestRecord("t.py::test_ok", "passed", duration=0.5 + number),
                                     TestRecord("t.py::test_bad", "failed", category="product", message="no")])
            store.finish_run(RunRecord(run_id=run_id, started=1_767_225_600.0 + number, ended=1_767_225_610.0 + number,
                                       status="complete", branch="main", exit_status=1))
        if running:
            store.begin_run(RunRecord(run_id="live", started=time.time(), host="elsewhere"))
    return path


def test_push_uploads_a_local_history_once_and_clears_its_spool(
    project: Path, capsys: pytest.CaptureFixture[str], history_url: str, history_server: ThrowawayPostgres
) -> None:
    local_history(project, running=True)
    identity = parse_history_url(history_url, "x").identity
    Spool(project / ".orchestra" / "history-spool").add("20260101T000000Z-000001", identity)
    status, out, err = run_cli(capsys, "push", "--to", history_url)
    assert status == 0, err
    assert out == (f"history push: 3 runs (6 tests) pushed to {mask_url(history_url)}; 0 already there; "
                   "1 still running, left for a later push\n")
    assert Spool(project / ".orchestra" / "history-spool").pending(identity) == []
    status, out, _ = run_cli(capsys, "push", "--to", history_url)
    assert out.startswith("history push: 0 runs (0 tests) pushed") and "3 already there" in out
    assert history_server.password not in out
    with PostgresHistoryStore.open(parse_history_url(history_url, "x"), timeout=10, on_failure=print) as shared:
        assert [run.run_id for run in shared.runs()] == [f"2026010{n}T000000Z-00000{n}" for n in (2, 1, 0)]
        assert shared.summaries(["20260102T000000Z-000002"])["20260102T000000Z-000002"].failed == 1


def test_push_between_two_files_and_its_errors(project: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    local_history(project)
    assert run_cli(capsys, "push")[0:3:2] == (2, "python -m pytest_orchestra history push: history push: name the "
                                                 "database with --to URL (or set history.url or ORCHESTRA_HISTORY_URL)\n")
    status, out, _ = run_cli(capsys, "push", "--to", "copy.db")
    assert status == 0 and out.startswith("history push: 3 runs (6 tests) pushed to copy.db")
    status, _, err = run_cli(capsys, "push", "--from", "missing.db", "--to", "copy.db")
    assert (status, err) == (2, "python -m pytest_orchestra history push: --from: missing.db does not exist\n")
    status, _, err = run_cli(capsys, "push", "--to", "postgresql://qa:hunter22@127.0.0.1:1/history")
    assert status == 2 and err.count("\n") == 1 and "hunter22" not in err
    assert "history database postgresql://qa:***@127.0.0.1:1/history (--to) is unreachable" in err
    monkeypatch.setenv("ORCHESTRA_HISTORY_URL", "mysql://x:hunter22@h/db")
    status, _, err = run_cli(capsys, "status")
    assert (status, err) == (2, "python -m pytest_orchestra history status: ORCHESTRA_HISTORY_URL: expected a "
                                "postgresql:// URL (the history's shared database), got mysql://x:***@h/db\n")


def test_refused_credentials_are_one_line_without_the_password(
    project: Path, capsys: pytest.CaptureFixture[str], history_server: ThrowawayPostgres, history_url: str
) -> None:
    wrong = history_server.url(history_url.rsplit("/", 1)[1], password="not-the-password")
    status, _, err = run_cli(capsys, "status", "--from", wrong)
    assert status == 2 and err.count("\n") == 1
    assert "refused the credentials (password authentication failed" in err and "not-the-password" not in err


def test_export_writes_one_run_a_line_oldest_first(project: Path, capsys: pytest.CaptureFixture[str],
                                                   history_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    local_history(project)
    status, out, _ = run_cli(capsys, "export")
    runs = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [run["run_id"][-1] for run in runs] == ["0", "1", "2"]
    assert runs[0]["started_at"] == "2026-01-01T00:00:00.000Z"
    assert runs[0]["tests"][1] == {
        "nodeid": "t.py::test_bad", "outcome": "failed", "phase": "call", "duration": 0.0, "start": 0.0,
        "attempts": 1, "category": "product", "app": None, "matrix": {}, "markers": [], "message": "no",
        "location": None, "worker": None, "flaky": False, "quarantined": False, "fingerprint": None}
    assert run_cli(capsys, "push", "--to", history_url)[0] == 0
    monkeypatch.setenv("ORCHESTRA_HISTORY_URL", history_url)  # now the default source
    status, out, _ = run_cli(capsys, "export", "--limit", "2", "--no-tests", "--out", "runs.jsonl")
    assert out == "history export: 2 runs -> runs.jsonl\n"
    exported = [json.loads(line) for line in (project / "runs.jsonl").read_text().splitlines()]
    assert [run["run_id"][-1] for run in exported] == ["1", "2"] and "tests" not in exported[0]


def test_trends_print_and_write_markdown_and_svg(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local_history(project)
    status, out, _ = run_cli(capsys, "trends", "--branch", "main", "--markdown", "trends.md", "--svg", "trends.svg")
    assert status == 0
    assert out.splitlines()[0] == "last 3 runs (branch main), oldest first:"
    assert "xychart-beta" in (project / "trends.md").read_text()
    assert "Chart: [trends.svg](trends.svg)" in (project / "trends.md").read_text()
    ElementTree.parse(project / "trends.svg")
    assert run_cli(capsys, "trends", "--branch", "nope")[1] == "no finished runs (branch nope)\n"
    assert "last 3 runs (all branches)" in run_cli(capsys, "trends", "--all-branches")[1]


def test_report_of_a_run_and_its_gate(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local_history(project)
    status, out, _ = run_cli(capsys, "report", "20260102T000000Z-000002", "--out", "rep")
    assert status == 1 and out == "history report: 20260102T000000Z-000002: 2 tests, 1 failed -> rep/report.md\n"
    assert "### Trends: last 3 runs" in (project / "rep" / "report.md").read_text()
    assert (project / "rep" / "trends.svg").is_file()
    status, out, _ = run_cli(capsys, "report", "20260102T000000Z-000002", "--out", "rep", "--gate", "max_failures=0")
    assert status == 6 and "history report: gate: max_failures: FAILED" in out
    summary = json.loads((project / "rep" / "summary.json").read_text())
    assert summary["gate"]["passed"] is False
    status, _, err = run_cli(capsys, "report", "nope")
    assert (status, err) == (2, "python -m pytest_orchestra history report: no run or run group 'nope' in "
                                ".orchestra/history.db\n")


def test_status_names_the_history_and_the_spool(project: Path, capsys: pytest.CaptureFixture[str],
                                                 history_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    local_history(project)
    assert run_cli(capsys, "status")[1] == ("history: .orchestra/history.db: schema version 4, 3 runs, "
                                           "newest 20260102T000000Z-000002\n")
    monkeypatch.setenv("ORCHESTRA_HISTORY_URL", history_url)
    Spool(project / ".orchestra" / "history-spool").add("x", parse_history_url(history_url, "x").identity)
    status, out, _ = run_cli(capsys, "status")
    assert out.splitlines() == [f"history: {mask_url(history_url)}: schema version 4, 0 runs",
                                f"spool: 1 runs in .orchestra/history.db wait for {mask_url(history_url)}"]


def test_the_command_is_registered(project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest_orchestra", "history", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "push" in done.stdout and "trends" in done.stdout
