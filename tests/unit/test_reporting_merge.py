"""Merging shard reports: tests, runs and gates come back from the files each shard wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_orchestra.core.records import GateCheck, GateVerdict, RunRecord, RunResult, TestRecord
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.ordering.merge import MergeError, find_report_dir, main, merge_reports
from pytest_orchestra.reporting.writer import write_reports


def shard(folder: Path, tests: list, *, exit_status: int = 0, gate: GateVerdict | None = None,
          commit: str = "abc") -> Path:
    run = RunRecord(run_id=folder.name, started=100.0, ended=110.0, status="complete", commit=commit,
                    branch="main", exit_status=exit_status, workers=2)
    write_reports(RunResult(run=run, tests=tests, gate=gate or GateVerdict()), folder, redactor=Redactor(()))
    return folder


def test_merge_round_trips_test_records_and_combines_runs(tmp_path: Path) -> None:
    one = shard(tmp_path / "s1", [
        TestRecord("a.py::t1", "passed", duration=1.5, start=101.0, app="auth", matrix={"role": "Admin"}),
        TestRecord("a.py::t2", "failed", phase="call", category="product", message="boom",
                   location=("a.py", 3), attempts=2),
    ], exit_status=1, gate=GateVerdict(True, [GateCheck("max_failures", False, "<= 0", "1")]))
    two = shard(tmp_path / "s2", [TestRecord("b.py::t3", "passed", flaky=True, attempts=2)], commit="abc")
    result = merge_reports([one, two])
    by_id = {t.nodeid: t for t in result.tests}
    assert by_id["a.py::t1"].matrix == {"role": "Admin"} and by_id["a.py::t1"].app == "auth"
    assert by_id["a.py::t1"].duration == pytest.approx(1.5)
    assert by_id["a.py::t2"].location == ("a.py", 3) and by_id["a.py::t2"].category == "product"
    assert by_id["a.py::t2"].attempts == 2 and by_id["b.py::t3"].flaky
    assert result.run.exit_status == 1 and result.run.workers == 4 and result.run.commit == "abc"
    assert result.gate.enabled and not result.gate.passed
    assert result.gate.checks[0].rule == "max_failures (shard s1)"


def test_merge_cli_writes_one_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shard(tmp_path / "project" / ".orchestra" / "reports" / "latest", [TestRecord("a.py::t", "passed")])
    shard(tmp_path / "s2", [TestRecord("b.py::t", "skipped")])
    assert main([str(tmp_path / "project"), str(tmp_path / "s2"), "--out", str(tmp_path / "out"),
                 "--durations", str(tmp_path / "next" / "durations.json")]) == 0
    # Skipped tests say nothing about their cost: only what ran plans the next shards.
    assert json.loads((tmp_path / "next" / "durations.json").read_text()) == {"a.py::t": 0.0}
    assert "merged 2 shard reports: 1 passed, 1 skipped" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["passed"] == 1 and summary["run"]["commit"] == "abc"


def test_unreadable_reports_are_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = shard(tmp_path / "s1", [TestRecord("a.py::t", "passed")])
    (folder / "events.jsonl").write_text('{"parentSpanId": "x", \n')
    with pytest.raises(MergeError, match=r"events.jsonl:1: not valid JSON"):
        merge_reports([folder])
    (folder / "summary.json").write_text("[]")
    with pytest.raises(MergeError, match="not a pytest-orchestra summary"):
        merge_reports([folder])
    (folder / "summary.json").write_text("{")
    with pytest.raises(MergeError, match="summary.json: not valid JSON"):
        merge_reports([folder])
    with pytest.raises(MergeError, match="name at least one report folder"):
        merge_reports([])
    with pytest.raises(MergeError, match="no report here"):
        find_report_dir(tmp_path / "nothing")
    assert main([str(folder)]) == 2
    assert "python -m pytest_orchestra merge:" in capsys.readouterr().err
