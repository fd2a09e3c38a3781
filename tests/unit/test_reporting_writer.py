"""Writing the three report files, the ``latest`` pointer and pruning old runs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from pytest_orchestra.core.records import RunRecord, RunResult, TestRecord
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.reporting import writer
from pytest_orchestra.reporting.events import build_spans, spans_to_jsonl
from pytest_orchestra.reporting.markdown import render_report
from pytest_orchestra.reporting.summary import build_summary
from pytest_orchestra.reporting.writer import ReportPaths, prune_reports, update_latest, write_reports

STARTED = 1714564800.0
SECRET = "ghp_s3cr3tT0kenValue"


def make_result(tests: int = 2) -> RunResult:
    records = [
        TestRecord("tests/test_api.py::test_login", "failed", category="product",
                   message=f"AssertionError: 401 for Authorization: Bearer {SECRET}\nmore", app="api"),
    ]
    records += [TestRecord(f"tests/test_api.py::test_{i}", "passed", duration=0.01) for i in range(tests - 1)]
    return RunResult(RunRecord("20240501T120000Z-abcdef", STARTED, ended=STARTED + 2), records)


def test_writes_three_reports_with_secrets_masked(tmp_path: Path) -> None:
    result = make_result()
    redactor = Redactor.from_environ({"GITHUB_TOKEN": SECRET, "HOME": "/root"})
    report_dir = tmp_path / "reports" / "20240501T120000Z-abcdef"
    paths = write_reports(result, report_dir, redactor=redactor)

    assert paths == ReportPaths(report_dir / "summary.json", report_dir / "report.md", report_dir / "events.jsonl")
    assert sorted(p.name for p in report_dir.iterdir()) == ["events.jsonl", "report.md", "summary.json"]
    texts = {path.name: path.read_text(encoding="utf-8") for path in (paths.summary, paths.markdown, paths.events)}
    for name, text in texts.items():
        assert SECRET not in text, name
        assert "Bearer ***" in text, name

    masked = lambda text: text.replace(SECRET, "***")  # noqa: E731
    assert texts["summary.json"] == masked(json.dumps(build_summary(result), indent=2, ensure_ascii=False) + "\n")
    assert json.loads(texts["summary.json"])["failures"][0]["message"] == (
        "AssertionError: 401 for Authorization: Bearer ***\nmore"
    )
    assert texts["report.md"] == masked(render_report(result))
    assert texts["events.jsonl"] == masked(spans_to_jsonl(build_spans(result)))


def test_rewriting_replaces_files_and_leaves_no_temporaries(tmp_path: Path) -> None:
    write_reports(make_result(2), tmp_path, redactor=Redactor())
    write_reports(make_result(4), tmp_path, redactor=Redactor())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "report.md", "summary.json"]
    assert json.loads((tmp_path / "summary.json").read_text())["counts"]["total"] == 4


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.md"
    target.write_text("old", encoding="utf-8")

    def refuse(source: str, destination: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writer.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        writer.write_text_atomically(target, "new")
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
    assert target.read_text(encoding="utf-8") == "old"


def test_writing_reports_for_5000_tests_is_fast(tmp_path: Path) -> None:
    result = make_result(5000)
    started = time.process_time()
    write_reports(result, tmp_path, redactor=Redactor([SECRET]))
    # Generous for slow CI machines; typically ~50 ms of CPU time.
    assert time.process_time() - started < 0.5
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 5001


def run_dir(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "report.md").write_text(name, encoding="utf-8")
    return path


def test_latest_is_a_relative_symlink_replaced_on_each_run(tmp_path: Path) -> None:
    first = run_dir(tmp_path, "20240501T120000Z-aaaaaa")
    second = run_dir(tmp_path, "20240502T120000Z-bbbbbb")
    update_latest(tmp_path, first)
    update_latest(tmp_path, second)
    latest = tmp_path / "latest"
    assert latest.is_symlink()
    assert os.readlink(latest) == "20240502T120000Z-bbbbbb"
    assert (latest / "report.md").read_text(encoding="utf-8") == "20240502T120000Z-bbbbbb"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20240501T120000Z-aaaaaa", "20240502T120000Z-bbbbbb", "latest"]


def test_latest_is_a_copy_where_symlinks_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_dir(tmp_path, "20240501T120000Z-aaaaaa")
    second = run_dir(tmp_path, "20240502T120000Z-bbbbbb")
    update_latest(tmp_path, first)  # a symlink first, then copies replace it and each other

    def no_symlinks(*args: object, **kwargs: object) -> None:
        raise OSError("symbolic links are not supported")

    monkeypatch.setattr(writer.os, "symlink", no_symlinks)
    for target in (second, first):
        update_latest(tmp_path, target)
        latest = tmp_path / "latest"
        assert latest.is_dir() and not latest.is_symlink()
        assert (latest / "report.md").read_text(encoding="utf-8") == target.name
    monkeypatch.undo()
    update_latest(tmp_path, second)  # and a symlink can replace a copy
    assert os.readlink(tmp_path / "latest") == "20240502T120000Z-bbbbbb"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20240501T120000Z-aaaaaa", "20240502T120000Z-bbbbbb", "latest"]


def test_prune_keeps_the_newest_runs_latest_target_and_unrelated_entries(tmp_path: Path) -> None:
    names = [f"2024050{day}T120000Z-00000{day}" for day in range(1, 7)]
    runs = [run_dir(tmp_path, name) for name in names]
    update_latest(tmp_path, runs[0])  # someone pinned an old run as latest
    run_dir(tmp_path, "notes")
    (tmp_path / "20240101T000000Z-cafe00.txt").write_text("not a run folder", encoding="utf-8")

    deleted = prune_reports(tmp_path, keep=3)
    assert deleted == [tmp_path / names[1], tmp_path / names[2]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20240101T000000Z-cafe00.txt", names[0], names[3], names[4], names[5], "latest", "notes",
    ]
    assert prune_reports(tmp_path, keep=3) == []
    assert prune_reports(tmp_path, keep=0) == []  # pruning disabled
    assert prune_reports(tmp_path / "missing", keep=1) == []


def test_prune_skips_folders_it_cannot_delete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("20240501T120000Z-000001", "20240502T120000Z-000002"):
        run_dir(tmp_path, name)

    def busy(path: object) -> None:
        raise OSError("in use")

    monkeypatch.setattr(writer.shutil, "rmtree", busy)
    assert prune_reports(tmp_path, keep=1) == []
