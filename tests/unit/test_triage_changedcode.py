"""DeFlaker's question on real git repositories: did a failing test run code changed since its last pass?"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List, Tuple

import pytest

from pytest_orchestra.core.codestate import CodeState, blob_id, read_code_state
from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.triage.changedcode import ChangedCode, Footprint, GitObjects, changed_lines

CALC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
NODE = "tests/test_calc.py::test_add"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "calc.py").write_text(CALC)
    (root / "app" / "prices.csv").write_text("sku,price\na,1\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "qa@example.com")
    git(root, "config", "user.name", "QA")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root


def state(root: Path) -> CodeState:
    found = read_code_state(root, git(root, "rev-parse", "HEAD").strip())
    assert found is not None
    return found


def passed_in(run_id: str, found: CodeState, outcome: str = "passed") -> Tuple[RunRecord, TestRecord]:
    run = RunRecord(run_id=run_id, started=1.0, commit=found.commit, code_state=found.key,
                    code_changes=found.changes_json())
    return run, TestRecord(NODE, outcome)


def footprint(root: Path, lines: frozenset) -> Footprint:
    return Footprint({"app/calc.py": (blob_id((root / "app" / "calc.py").read_bytes()), lines)})


def changed(root: Path, now: CodeState, print_: Footprint | None) -> ChangedCode:
    return ChangedCode(now=now, objects=GitObjects(root), footprint_of=lambda nodeid: print_, rootdir=root)


def test_changed_lines_on_both_sides() -> None:
    old, new = changed_lines("a\nb\nc\n", "a\nB\nc\nd\n")
    assert (old, new) == ({2, 3, 4}, {2, 4})  # b became B; d was added after c (its neighbours count)
    inserted_old, inserted_new = changed_lines("a\nc\n", "a\nb\nc\n")
    assert inserted_new == {2} and inserted_old == {1, 2}  # the neighbours of an insertion


def test_git_objects_read_blobs_and_texts(repo: Path) -> None:
    objects = GitObjects(repo)
    commit = git(repo, "rev-parse", "HEAD").strip()
    try:
        blob = objects.blob_at(commit, "app/calc.py")
        assert blob == blob_id(CALC.encode())
        assert objects.text(blob) == CALC
        assert objects.blob_at(commit, "app/none.py") == ""  # not in that commit
        assert objects.blob_at("0" * 40, "app/calc.py") is None  # a commit this clone lacks
    finally:
        objects.close()


def test_nothing_changed_since_the_last_pass_makes_a_suspect(repo: Path) -> None:
    clean = state(repo)
    verdict = changed(repo, clean, None).verdict(NODE, [passed_in("r1", clean)])
    assert (verdict.ran_changed_code, verdict.suspect) == (False, True)
    assert verdict.reason == "no code changed since the last pass (run r1)"


def test_without_a_last_pass_or_a_state_nothing_is_known(repo: Path) -> None:
    clean = state(repo)
    assert changed(repo, clean, None).verdict(NODE, [passed_in("r1", clean, "failed")]).ran_changed_code is None
    assert changed(repo, None, None).verdict(NODE, [passed_in("r1", clean)]).ran_changed_code is None  # type: ignore[arg-type]
    unknown = RunRecord(run_id="old", started=1.0, commit=clean.commit)  # history from before code states
    assert changed(repo, clean, None).verdict(NODE, [(unknown, TestRecord(NODE, "passed"))]).ran_changed_code is None


def test_without_a_map_a_change_leaves_it_unknown(repo: Path) -> None:
    clean = state(repo)
    (repo / "app" / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    verdict = changed(repo, state(repo), None).verdict(NODE, [passed_in("r1", clean)])
    assert verdict.ran_changed_code is None and "without a map for this test" in verdict.reason


def test_a_test_that_ran_the_changed_line_ran_changed_code(repo: Path) -> None:
    clean = state(repo)
    print_ = footprint(repo, frozenset({1, 2}))  # add's def and body, as the map recorded them
    (repo / "app" / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    verdict = changed(repo, state(repo), print_).verdict(NODE, [passed_in("r1", clean)])
    assert verdict.ran_changed_code is True
    assert verdict.reason == "executed app/calc.py:2, changed since the last pass (run r1)"
    assert verdict.places == ("app/calc.py:2",)


def test_a_test_that_ran_none_of_the_changed_lines_is_a_suspect(repo: Path) -> None:
    clean = state(repo)
    print_ = footprint(repo, frozenset({1, 2}))
    (repo / "app" / "calc.py").write_text(CALC.replace("a * b", "a * b * 1"))
    verdict = changed(repo, state(repo), print_).verdict(NODE, [passed_in("r1", clean)])
    assert verdict.ran_changed_code is False
    assert verdict.reason.startswith("executed none of the changed lines of 1 file(s)")


def test_the_map_may_describe_the_new_version(repo: Path) -> None:
    clean = state(repo)
    (repo / "app" / "calc.py").write_text("# a new first line\n" + CALC)
    print_ = footprint(repo, frozenset({2, 3}))  # recorded after the edit: add is now lines 2-3
    verdict = changed(repo, state(repo), print_).verdict(NODE, [passed_in("r1", clean)])
    assert verdict.ran_changed_code is False  # only line 1 is new, and the test did not run it


def test_a_changed_data_file_the_test_read_counts_whole(repo: Path) -> None:
    clean = state(repo)
    (repo / "app" / "prices.csv").write_text("sku,price\na,2\n")
    print_ = Footprint({"app/prices.csv": (blob_id(b"sku,price\na,1\n"), None)})
    verdict = changed(repo, state(repo), print_).verdict(NODE, [passed_in("r1", clean)])
    assert verdict.ran_changed_code is True and verdict.places == ("app/prices.csv",)


def test_an_unreadable_version_is_taken_as_changed(repo: Path) -> None:
    clean = state(repo)
    print_ = footprint(repo, frozenset({1, 2}))
    lost = CodeState("0" * 40)  # a last pass at a commit this clone does not have
    run = RunRecord(run_id="r0", started=1.0, commit=lost.commit, code_state=lost.key)
    verdict = changed(repo, clean, print_).verdict(NODE, [(run, TestRecord(NODE, "passed"))])
    assert verdict.ran_changed_code is True and "cannot be read: taken as changed" in verdict.reason


def test_per_test_state_ignores_files_the_test_did_not_run(repo: Path) -> None:
    clean = state(repo)
    print_ = footprint(repo, frozenset({1, 2}))
    code = changed(repo, clean, print_)
    (repo / "README.md").write_text("docs\n")
    other_edit = state(repo)
    (repo / "app" / "calc.py").write_text(CALC.replace("a * b", "b * a"))
    own_edit = state(repo)
    assert code.state_for_test(clean, print_) == code.state_for_test(other_edit, print_)
    assert code.state_for_test(clean, print_) != code.state_for_test(own_edit, print_)
    assert code.state_for_test(clean, None) == clean.key
    assert code.state_for_test(None, print_) is None


def test_the_last_pass_is_the_newest_one_with_a_state(repo: Path) -> None:
    clean = state(repo)
    (repo / "app" / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    broken = state(repo)
    history: List[Tuple[RunRecord, TestRecord]] = [
        passed_in("now", broken, "failed"), passed_in("r2", broken, "failed"), passed_in("r1", clean),
    ]
    verdict = changed(repo, broken, footprint(repo, frozenset({2}))).verdict(NODE, history, current_run="now")
    # The map recorded the broken version; the test ran its line 2, which differs from r1's.
    assert verdict.last_pass == "r1" and verdict.ran_changed_code is True
