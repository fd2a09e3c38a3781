"""Run facts (ids, triggers, git) and folding phase reports into records."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List

import pytest

from pytest_orchestra.core.runinfo import GitState, detect_trigger, git_state, new_run_id
from pytest_orchestra.recording.folding import RecordFolder, collection_error_record, one_line_reason, phase_outcome


def test_run_ids_sort_by_time_and_are_unique() -> None:
    first, second = new_run_id(0), new_run_id(0)
    assert re.fullmatch(r"19700101T000000Z-[0-9a-f]{6}", first)
    assert first != second
    assert new_run_id(86400) > first


@pytest.mark.parametrize(
    ("environ", "trigger"),
    [
        ({"GITHUB_ACTIONS": "true"}, "github-actions"),
        ({"GITLAB_CI": "true"}, "gitlab-ci"),
        ({"TF_BUILD": "True"}, "azure-pipelines"),
        ({"JENKINS_URL": "http://ci"}, "jenkins"),
        ({"GITHUB_ACTIONS": "false"}, "local"),
        ({}, "local"),
    ],
)
def test_trigger_detection(environ: dict, trigger: str) -> None:
    assert detect_trigger(environ) == trigger


def test_git_state_outside_a_repo_and_on_a_detached_head(tmp_path: Path) -> None:
    assert git_state(tmp_path).commit is None
    run = lambda *args: subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", "main")
    (tmp_path / "f").write_text("x")
    run("add", "f")
    run("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x")
    state = git_state(tmp_path)
    assert state.branch == "main" and len(state.commit or "") == 40
    run("checkout", "-q", "--detach")
    assert git_state(tmp_path, {"GITHUB_HEAD_REF": "feature/x"}).branch == "feature/x"
    assert git_state(tmp_path, {}).branch is None


def test_git_state_read_from_files_agrees_with_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = lambda *args, cwd=repo: subprocess.run(  # noqa: E731
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()
    git("init", "-q", "-b", "feature/x")
    assert git_state(repo) == GitState(None, None)  # an unborn branch: no commit yet, as git says
    (repo / "f").write_text("x")
    git("add", "f")
    git("commit", "-qm", "x")
    head = git("rev-parse", "HEAD")
    (repo / "sub").mkdir()
    assert git_state(repo / "sub") == GitState(head, "feature/x")  # found from a folder inside
    git("pack-refs", "--all")  # the branch now lives only in packed-refs
    assert not (repo / ".git" / "refs" / "heads" / "feature" / "x").exists()
    assert git_state(repo) == GitState(head, "feature/x")
    git("worktree", "add", "-q", "-b", "other", str(tmp_path / "wt"))
    (tmp_path / "wt" / "g").write_text("y")
    git("add", "g", cwd=tmp_path / "wt")
    git("commit", "-qm", "y", cwd=tmp_path / "wt")
    other = git("rev-parse", "HEAD", cwd=tmp_path / "wt")
    assert git_state(tmp_path / "wt") == GitState(other, "other")  # a linked worktree's .git file
    assert git_state(repo) == GitState(head, "feature/x")
    # GIT_DIR and friends are left to git itself.
    assert git_state(tmp_path, {"GIT_DIR": str(repo / ".git")}) == GitState(head, "feature/x")


def _report(when: str, outcome: str, nodeid: str = "t.py::test_a", **extra: Any) -> SimpleNamespace:
    fields = dict(
        nodeid=nodeid,
        when=when,
        outcome=outcome,
        passed=outcome == "passed",
        skipped=outcome == "skipped",
        failed=outcome == "failed",
        longrepr=None,
        duration=0.5,
        location=("t.py", 9, "test_a"),
    )
    fields.update(extra)
    return SimpleNamespace(**fields)


def test_teardown_error_does_not_hide_the_call_failure(tmp_path: Path) -> None:
    builder = RecordFolder(tmp_path)
    builder.add(_report("setup", "passed"))
    crash = SimpleNamespace(path=str(tmp_path / "t.py"), lineno=12, message="AssertionError: wrong total")
    builder.add(_report("call", "failed", longrepr=SimpleNamespace(reprcrash=crash)))
    record, reports = builder.add(_report("teardown", "failed", longrepr="teardown broke"))
    assert (record.outcome, record.phase, record.message) == ("failed", "call", "AssertionError: wrong total")
    assert record.location == ("t.py", 12)
    assert record.duration == pytest.approx(1.5)
    assert len(reports) == 3


def test_interleaved_phases_of_two_tests_fold_into_their_own_records(tmp_path: Path) -> None:
    # As an xdist controller receives them: each item's reports share its location tuple.
    here, there = ("t.py", 9, "test_a"), ("t.py", 20, "test_b")
    a = lambda when, outcome, **extra: _report(when, outcome, "t.py::test_a", location=here, **extra)  # noqa: E731
    b = lambda when, outcome, **extra: _report(when, outcome, "t.py::test_b", location=there, **extra)  # noqa: E731
    reports = [a("setup", "passed"), b("setup", "passed"), b("call", "failed", longrepr="ValueError: b"),
               a("call", "passed"), a("teardown", "passed"), b("teardown", "passed")]
    finished: List[Any] = []
    RecordFolder(tmp_path).add_all(reports, lambda record, phases: finished.append((record, phases)))
    assert [(r.nodeid, r.outcome, r.phase, r.message, len(p)) for r, p in finished] == [
        ("t.py::test_a", "passed", "call", "", 3),
        ("t.py::test_b", "failed", "call", "ValueError: b", 3),
    ]


def test_phase_outcomes_and_reasons() -> None:
    assert phase_outcome(_report("call", "skipped", wasxfail="bug")) == "xfailed"
    assert phase_outcome(_report("call", "passed", wasxfail="bug")) == "xpassed"
    assert phase_outcome(_report("setup", "failed")) == "error"
    skip = _report("setup", "skipped", longrepr=("t.py", 3, "Skipped: no license"))
    assert one_line_reason(skip) == "no license"
    plain = _report("call", "failed", longrepr="Traceback...\n  line\nValueError: bad\n\n")
    assert one_line_reason(plain) == "ValueError: bad"
    assert one_line_reason(_report("call", "failed", longrepr="\n")) == ""


def test_unfinished_tests_are_drained(tmp_path: Path) -> None:
    builder = RecordFolder(tmp_path)
    builder.add(_report("???", "failed", longrepr="worker 'gw0' crashed while running 't.py::test_a'"))
    ((record, _),) = builder.drain()
    assert (record.outcome, record.phase) == ("error", "crash")
    assert builder.drain() == []


def test_collection_error_outside_rootdir_keeps_no_location(tmp_path: Path) -> None:
    crash = SimpleNamespace(path="/elsewhere/x.py", lineno=1, message="ImportError: nope")
    report = SimpleNamespace(nodeid="", fspath="pkg/test_x.py", longrepr=SimpleNamespace(reprcrash=crash), location=None)
    record = collection_error_record(report, tmp_path)
    assert (record.nodeid, record.outcome, record.phase, record.location) == ("pkg/test_x.py", "error", "collect", None)
