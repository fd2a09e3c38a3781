"""The code state a run tested, read from real git repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_orchestra.core.codestate import (
    AT_COMMIT,
    DELETED,
    CodeState,
    CodeStateReader,
    blob_id,
    is_tool_output,
    read_code_state,
    repository_root,
    session_code_state,
    state_of_run,
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "shop" / "prices.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "tests" / "test_prices.py").write_text("from shop.prices import add\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "qa@example.com")
    git(root, "config", "user.name", "QA")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def state(root: Path) -> CodeState:
    found = read_code_state(root, head(root))
    assert found is not None
    return found


def test_a_clean_tree_is_its_commit(repo: Path) -> None:
    found = state(repo)

    assert found.clean
    assert found.key == head(repo)
    assert found.version_of("shop/prices.py") == (AT_COMMIT, head(repo))


def test_break_restore_break_gives_two_states_and_the_same_one_twice(repo: Path) -> None:
    prices = repo / "shop" / "prices.py"
    original = prices.read_text()
    clean = state(repo).key

    prices.write_text(original.replace("a + b", "a - b"))
    broken = state(repo)
    prices.write_text(original)
    restored = state(repo)
    prices.write_text(original.replace("a + b", "a - b"))
    broken_again = state(repo)
    prices.write_text(original.replace("a + b", "a * b"))
    other_bug = state(repo)

    assert broken.key != clean and broken.key.startswith(head(repo) + "+")
    assert restored.key == clean
    assert broken_again.key == broken.key
    assert other_bug.key not in (clean, broken.key)
    assert broken.version_of("shop/prices.py") == ("blob", blob_id(prices.read_bytes().replace(b"*", b"-")))


def test_untracked_staged_and_deleted_files_count(repo: Path) -> None:
    (repo / "shop" / "tax.py").write_text("RATE = 0.2\n")
    untracked = state(repo)
    git(repo, "add", "shop/tax.py")
    staged = state(repo)
    (repo / "tests" / "test_prices.py").unlink()
    deleted = state(repo)

    assert dict(untracked.changes) == {"shop/tax.py": blob_id(b"RATE = 0.2\n")}
    assert staged.key == untracked.key  # the content decides, not the index
    assert dict(deleted.changes)["tests/test_prices.py"] == DELETED
    assert deleted.key != staged.key


def test_tool_output_in_the_tree_is_not_code(repo: Path) -> None:
    clean = state(repo).key
    for relative in (".orchestra/reports/latest/report.md", "shop/__pycache__/prices.cpython-311.pyc",
                     ".pytest_cache/v/cache/lastfailed", ".coverage.host.123", "reports/out.txt",
                     "junit.xml", "build/pytest_results.json"):
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text("output")

    found = read_code_state(repo, head(repo), exclude=[repo / "reports"])

    assert found is not None and found.key == clean
    assert is_tool_output("a/.hypothesis/examples/x") and not is_tool_output("shop/prices.py")


def test_a_subfolder_reads_the_whole_repository(repo: Path) -> None:
    (repo / "shop" / "prices.py").write_text("def add(a, b):\n    return b + a\n")

    from_tests = read_code_state(repo / "tests", head(repo))

    assert repository_root(repo / "tests") == repo.resolve()
    assert from_tests is not None and from_tests.key == state(repo).key != head(repo)


def test_outside_a_repository_or_without_a_commit_there_is_no_state(tmp_path: Path, repo: Path) -> None:
    assert read_code_state(tmp_path / "nowhere", "0" * 40) is None
    assert read_code_state(repo, None) is None


def test_a_stored_state_reads_back_and_a_damaged_one_is_unknown(repo: Path) -> None:
    (repo / "shop" / "prices.py").write_text("changed\n")
    found = state(repo)

    assert state_of_run(found.commit, found.key, found.changes_json()) == found
    assert state_of_run(found.commit, found.key, "{not json") is None
    assert state_of_run(found.commit, "0" * 40, found.changes_json()) is None  # key and changes disagree
    assert state_of_run(found.commit, None, None) is None  # a run killed before its state was read
    assert state_of_run(head(repo), head(repo), None) == CodeState(head(repo))


def test_the_reader_runs_beside_the_caller(repo: Path) -> None:
    reader = CodeStateReader(repo, head(repo))

    assert reader.result() == state(repo)


def test_a_session_reads_its_code_state_once_with_the_first_callers_exclusions(repo: Path) -> None:
    stash = pytest.Stash()
    (repo / "out").mkdir()
    (repo / "out" / "report.md").write_text("# run\n")

    first = session_code_state(stash, repo, head(repo), exclude=[repo / "out"])
    again = session_code_state(stash, repo, head(repo))

    assert again is first
    found = first.result()
    assert found == read_code_state(repo, head(repo), exclude=[repo / "out"])
    assert "out/report.md" not in dict(found.changes)
    assert "out/report.md" in dict(state(repo).changes)
