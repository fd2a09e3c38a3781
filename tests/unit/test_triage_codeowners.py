"""CODEOWNERS: GitHub's matching semantics and where the file is found."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_orchestra.triage.codeowners import CodeOwners

SAMPLE = """\
# Default owners for everything
*       @acme/everyone

*.js    @acme/frontend   # inline comment
/build/logs/ @acme/ops
docs/*  @acme/docs
apps/   @acme/apps
/shop/billing/ @acme/billing @alice
**/fixtures/** @acme/qa
/tests/test_?.py @acme/single
/vendor/
"""


@pytest.fixture
def owners() -> CodeOwners:
    return CodeOwners.from_text(SAMPLE)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("README.md", ["@acme/everyone"]),
        ("web/app.js", ["@acme/frontend"]),
        ("build/logs/today.log", ["@acme/ops"]),
        ("src/build/logs/today.log", ["@acme/everyone"]),  # anchored at the root
        ("docs/intro.md", ["@acme/docs"]),
        ("docs/deep/intro.md", ["@acme/everyone"]),  # docs/* is one level only
        ("apps/a.py", ["@acme/apps"]),
        ("src/apps/b/c.py", ["@acme/apps"]),  # unanchored directory at any depth
        ("shop/billing/invoice.py", ["@acme/billing", "@alice"]),
        ("tests/shop/fixtures/data/order.json", ["@acme/qa"]),
        ("tests/test_a.py", ["@acme/single"]),
        ("tests/test_ab.py", ["@acme/everyone"]),
        ("vendor/lib.py", []),  # explicitly unowned
        ("./shop/billing/x.py", ["@acme/billing", "@alice"]),
    ],
)
def test_last_matching_pattern_wins_with_github_semantics(
    owners: CodeOwners, path: str, expected: list[str]
) -> None:
    assert owners.owners_for(path) == expected


def test_plain_name_owns_a_directory_of_that_name() -> None:
    owners = CodeOwners.from_text("billing @acme/billing\n")
    assert owners.owners_for("shop/billing/x.py") == ["@acme/billing"]
    assert owners.owners_for("shop/billing_old.py") == []


def test_no_rules_means_no_owners() -> None:
    assert CodeOwners.from_text("# only a comment\n\n").owners_for("a.py") == []


@pytest.mark.parametrize("location", ["CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS"])
def test_load_finds_the_file_where_github_looks(tmp_path: Path, location: str) -> None:
    target = tmp_path / location
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("* @acme/team\n")
    loaded = CodeOwners.load(tmp_path)
    assert loaded is not None
    assert loaded.source == target
    assert loaded.owners_for("x/y.py") == ["@acme/team"]


def test_load_prefers_the_root_file(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @github-dir\n")
    (tmp_path / "CODEOWNERS").write_text("* @root\n")
    loaded = CodeOwners.load(tmp_path)
    assert loaded is not None and loaded.owners_for("a") == ["@root"]


def test_load_returns_none_without_a_file(tmp_path: Path) -> None:
    assert CodeOwners.load(tmp_path) is None


def test_load_returns_none_when_unreadable(tmp_path: Path) -> None:
    (tmp_path / "CODEOWNERS").mkdir()  # a directory is not a file: skipped
    assert CodeOwners.load(tmp_path) is None
