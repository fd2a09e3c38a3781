"""The selector's rules on a real map database and real files in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Set

import pytest

from pytest_orchestra.selection.changes import compute_changes, list_project_files, read_text
from pytest_orchestra.selection.config import DEFAULT_RUN_ALL_IF_CHANGED
from pytest_orchestra.selection.imports import ImportGraph, ModuleIndex, imported_names
from pytest_orchestra.selection.mapformat import KIND_FIXTURE, KIND_TEST, Recording, fixture_context
from pytest_orchestra.selection.mapstore import MapStore
from pytest_orchestra.selection.model import CollectedTest, SelectionRules
from pytest_orchestra.selection.recorder import IMPORT_CONTEXT
from pytest_orchestra.selection.recording import file_version
from pytest_orchestra.selection.selector import Selector, matches

CALC = """\
RATE = 3


def helper(x):
    return x + 1


def add(a, b=1):
    total = helper(a) + b
    if total > 100:
        total -= 1
    return total * RATE
"""

TESTS = """\
from shop.calc import add, helper


def test_add():
    assert add(1) == 9


def test_big():
    assert add(200) == 603


def test_helper():
    assert helper(1) == 2
"""

TEST_IDS = ["tests/test_calc.py::test_add", "tests/test_calc.py::test_big", "tests/test_calc.py::test_helper",
            "tests/test_data.py::test_reads"]


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.write("shop/__init__.py", "")
        self.write("shop/calc.py", CALC)
        self.write("shop/prices.csv", "a,1\n")
        self.write("tests/test_calc.py", TESTS)
        self.write("tests/test_data.py", "def test_reads():\n    assert open('shop/prices.csv').read()\n")
        self.write("README.md", "# shop\n")

    def write(self, path: str, text: str) -> None:
        full = self.root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)

    def record(self, hits: Dict[str, Dict[str, Optional[Set[int]]]],
               kinds: Optional[Dict[str, str]] = None, fixtures: Optional[Dict[str, Sequence[str]]] = None) -> Path:
        recording = Recording(root=str(self.root), python="cpython-3.11", commit=None)
        recording.hits = hits
        recording.kinds = {context: KIND_TEST for context in hits} | {IMPORT_CONTEXT: "import"} | (kinds or {})
        recording.fixtures = dict(fixtures or {})
        recording.files = {p: v for p in list_project_files(self.root) if (v := file_version(self.root, p))}
        path = self.root / ".orchestra" / "map.db"
        store, warning = MapStore.open_for_recording(path)
        assert warning is None
        store.save(recording)
        store.close()
        return path

    def select(self, *, rules: Optional[SelectionRules] = None, tests: Sequence[str] = TEST_IDS,
               markers: Optional[Dict[str, Set[str]]] = None):
        store = MapStore.open_for_reading(self.root / ".orchestra" / "map.db")
        listing = list_project_files(self.root)
        changes = compute_changes(self.root, versions=store.versions(), recorded_files=store.files(), listing=listing)

        def graph() -> ImportGraph:
            imports = dict(store.imports())
            for path in changes.deltas:
                if path.endswith(".py") and (self.root / path).exists():
                    imports[path] = imported_names((self.root / path).read_text())
            return ImportGraph(ModuleIndex(set(listing) | set(imports)), imports)

        collected = [CollectedTest(t, t.split("::")[0], frozenset((markers or {}).get(t, ()))) for t in tests]
        selector = Selector(
            collected, map_view=store, graph=graph, read_current=lambda p: read_text(self.root, p),
            rules=rules or SelectionRules(run_all_if_changed=DEFAULT_RUN_ALL_IF_CHANGED),
            package_dirs=frozenset(p.rsplit("/", 1)[0] for p in listing if p.endswith("__init__.py")),
        )
        result = selector.select(changes)
        store.close()
        return result


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path)
    project.record({
        "tests/test_calc.py::test_add": {"shop/calc.py": {5, 9, 10, 12}, "tests/test_calc.py": {5}},
        "tests/test_calc.py::test_big": {"shop/calc.py": {5, 9, 10, 11, 12}, "tests/test_calc.py": {9}},
        "tests/test_calc.py::test_helper": {"shop/calc.py": {5}, "tests/test_calc.py": {13}},
        "tests/test_data.py::test_reads": {"tests/test_data.py": {2}, "shop/prices.csv": None},
        IMPORT_CONTEXT: {"shop/calc.py": {1, 4, 8}, "tests/test_calc.py": {1, 4, 8, 12}},
    })
    return project


def test_nothing_changed_selects_nothing(project: Project) -> None:
    result = project.select()
    assert result.reasons == {} and result.run_all is None


def test_a_shared_helper_line_selects_every_test_that_ran_it(project: Project) -> None:
    project.write("shop/calc.py", CALC.replace("x + 1", "x + 2"))
    result = project.select()
    assert sorted(result.reasons) == TEST_IDS[:3]
    assert result.reasons["tests/test_calc.py::test_helper"] == [
        "executed shop/calc.py:5 (changed, in helper)"
    ]


def test_a_branch_line_selects_only_the_test_that_took_it(project: Project) -> None:
    project.write("shop/calc.py", CALC.replace("total -= 1", "total -= 2"))
    assert list(project.select().reasons) == ["tests/test_calc.py::test_big"]


def test_a_module_constant_selects_the_tests_that_read_it(project: Project) -> None:
    project.write("shop/calc.py", CALC.replace("RATE = 3", "RATE = 4"))
    result = project.select()
    # test_helper used the module but never read RATE.
    assert sorted(result.reasons) == TEST_IDS[:2]
    assert result.reasons["tests/test_calc.py::test_add"] == [
        "reads RATE (changed at shop/calc.py:1); executed shop/calc.py:12"
    ]
    assert result.files["shop/calc.py"].startswith("module level, read through RATE: line 1:")


def test_a_constant_read_at_import_elsewhere_selects_the_readers_of_what_it_set(project: Project) -> None:
    project.write("shop/report.py", "from shop.calc import RATE\n\nLABEL = f'rate {RATE}'\n\ndef label():\n    return LABEL\n")
    project.write("tests/test_report.py", "from shop.report import label\n\ndef test_label():\n    assert label()\n")
    project.record({
        "tests/test_report.py::test_label": {"shop/report.py": {6}, "tests/test_report.py": {4}},
        "tests/test_calc.py::test_helper": {"shop/calc.py": {5}},
    })
    project.write("shop/calc.py", CALC.replace("RATE = 3", "RATE = 4"))
    result = project.select(tests=["tests/test_report.py::test_label", "tests/test_calc.py::test_helper"])
    assert list(result.reasons) == ["tests/test_report.py::test_label"]
    assert result.reasons["tests/test_report.py::test_label"][0] == (
        "reads LABEL (set at shop/report.py:3 from RATE, changed at shop/calc.py:1); executed shop/report.py:6"
    )


def test_a_module_level_change_of_unknown_reach_selects_every_user(project: Project) -> None:
    project.write("shop/calc.py", "import math\n" + CALC)
    result = project.select()
    assert sorted(result.reasons) == TEST_IDS[:3]
    assert result.reasons["tests/test_calc.py::test_helper"][0] == (
        "uses shop/calc.py, whose module level changed (new line 1: import added; not a plain binding: "
        "anything may follow)"
    )


def test_comment_only_changes_select_nothing_and_say_so(project: Project) -> None:
    project.write("shop/calc.py", CALC.replace("    return x + 1", "    return x + 1  # one more"))
    result = project.select()
    assert result.reasons == {}
    assert result.files == {"shop/calc.py": "no code change (comments or formatting)"}


def test_a_data_file_selects_its_readers(project: Project) -> None:
    project.write("shop/prices.csv", "a,2\n")
    assert project.select().reasons == {"tests/test_data.py::test_reads": ["read shop/prices.csv (modified)"]}


def test_a_data_file_read_at_import_time_runs_everything(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.record({"tests/test_data.py::test_reads": {}, IMPORT_CONTEXT: {"shop/prices.csv": None}})
    project.write("shop/prices.csv", "a,2\n")
    assert project.select().run_all == "shop/prices.csv changed and was read at import or collection time"


def test_data_dependencies_add_declared_dependents(project: Project) -> None:
    project.write("README.md", "# shop, renamed\n")
    rules = SelectionRules(data_dependencies=(("*.md", ("tests/test_calc.py::test_add",)),))
    assert list(project.select(rules=rules).reasons) == ["tests/test_calc.py::test_add"]


def test_an_unread_file_outside_packages_is_reported_uncovered(project: Project) -> None:
    project.write("README.md", "# shop, renamed\n")
    result = project.select()
    assert result.reasons == {} and result.uncovered == ["README.md (modified; no test read it)"]


@pytest.mark.parametrize(
    "path, reason",
    [
        ("shop/fast.c", "shop/fast.c changed: compiled extension code the map cannot see into"),
        ("shop/templates.bin", "shop/templates.bin changed inside package shop and no test was seen reading it"),
        ("conftest.py", "conftest.py changed (selection.run_all_if_changed: 'conftest.py')"),
        ("sub/requirements-dev.txt", "sub/requirements-dev.txt changed (selection.run_all_if_changed: "
                                     "'requirements*.txt')"),
    ],
)
def test_changes_the_map_cannot_reason_about_run_everything(tmp_path: Path, path: str, reason: str) -> None:
    project = Project(tmp_path)
    project.write(path, "one")
    project.record({"tests/test_calc.py::test_add": {"shop/calc.py": {5}}})
    project.write(path, "two")
    assert project.select().run_all == reason


def test_a_function_run_at_import_time_acts_as_module_level(project: Project) -> None:
    project.record({
        "tests/test_calc.py::test_add": {"shop/calc.py": {9}},
        "tests/test_calc.py::test_helper": {"shop/calc.py": {1}},
        IMPORT_CONTEXT: {"shop/calc.py": {5}},
    })
    project.write("shop/calc.py", CALC.replace("x + 1", "x + 2"))
    result = project.select(tests=TEST_IDS[:3])
    # test_big kept its first recording, which executed the helper's line itself.
    assert sorted(result.reasons) == TEST_IDS[:3]
    assert result.reasons["tests/test_calc.py::test_add"] == [
        "uses shop/calc.py, whose import-time code changed (shop/calc.py:5)"
    ]


def test_a_higher_scoped_fixture_serves_every_test_that_uses_it(project: Project) -> None:
    context = fixture_context("prices", "tests")
    project.record(
        {
            context: {"shop/calc.py": {5}},
            "tests/test_calc.py::test_add": {"shop/calc.py": {9}},
            "tests/test_calc.py::test_big": {"shop/calc.py": {9}},
            "tests/test_calc.py::test_helper": {"shop/calc.py": {9}},
        },
        kinds={context: KIND_FIXTURE},
        fixtures={"tests/test_calc.py::test_add": ["prices"], "tests/test_calc.py::test_big": ["prices", "tmp"]},
    )
    project.write("shop/calc.py", CALC.replace("x + 1", "x + 2"))
    result = project.select(tests=TEST_IDS[:3])
    assert sorted(result.reasons) == ["tests/test_calc.py::test_add", "tests/test_calc.py::test_big"]
    assert result.reasons["tests/test_calc.py::test_big"] == [
        "executed shop/calc.py:5 (changed, in helper) in fixture 'prices'"
    ]


def test_a_new_module_selects_tests_importing_it_through_the_graph(project: Project) -> None:
    project.write("shop/tax.py", "VAT = 0.2\n")
    project.write("shop/calc.py", "from shop.tax import VAT\n" + CALC)
    result = project.select(tests=TEST_IDS[:3])
    assert sorted(result.reasons) == TEST_IDS[:3]
    assert "imports shop/tax.py through tests/test_calc.py (added module without map data: import graph)" in (
        result.reasons["tests/test_calc.py::test_add"]
    )


def test_a_deleted_module_selects_the_tests_that_executed_it(project: Project) -> None:
    (project.root / "shop/calc.py").unlink()
    result = project.select(tests=TEST_IDS)
    assert sorted(result.reasons) == TEST_IDS[:3]
    assert result.reasons["tests/test_calc.py::test_add"][0] == "used shop/calc.py, which was deleted"


def test_tests_missing_from_the_map_and_always_run_tests_are_selected(project: Project) -> None:
    tests = TEST_IDS + ["tests/test_calc.py::test_new"]
    rules = SelectionRules(always_run_markers=("smoke",), always_run_paths=("tests/test_data.py",))
    result = project.select(rules=rules, tests=tests, markers={"tests/test_calc.py::test_add": {"smoke"}})
    assert result.reasons == {
        "tests/test_calc.py::test_add": ["always_run marker 'smoke'"],
        "tests/test_data.py::test_reads": ["always_run path"],
        "tests/test_calc.py::test_new": ["not in the map (new, renamed or never recorded)"],
    }


def test_lines_keep_the_version_they_describe_across_recordings(project: Project) -> None:
    # The helper changes and only test_helper is recorded again: the others keep the old version's lines.
    second = CALC.replace("x + 1", "x + 5")
    project.write("shop/calc.py", second)
    project.record({"tests/test_calc.py::test_helper": {"shop/calc.py": {5}}})
    project.write("shop/calc.py", second.replace("total -= 1", "total -= 2"))
    assert sorted(project.select(tests=TEST_IDS[:3]).reasons) == TEST_IDS[:2]
    # Reverting to the version the old lines describe is no change for them (pytest-testmon #78).
    project.write("shop/calc.py", CALC)
    result = project.select(tests=TEST_IDS[:3])
    assert list(result.reasons) == ["tests/test_calc.py::test_helper"]


@pytest.mark.parametrize(
    "path, pattern, expected",
    [
        ("a/b/conftest.py", "conftest.py", True),
        ("conftest.py", "conftest.py", True),
        ("a/requirements-dev.txt", "requirements*.txt", True),
        ("docs/index.md", "docs/", True),
        ("src/docs/index.md", "docs/", False),
        ("a/b/c.lock", "**/*.lock", True),
        ("c.lock", "**/*.lock", True),
        ("a/b.py", "b/*.py", False),
    ],
)
def test_globs_match_like_gitignore(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


def test_doctests_of_a_changed_module_run(project: Project) -> None:
    doctest = "shop/calc.py::shop.calc.helper"
    project.record({doctest: {}})
    project.write("shop/calc.py", CALC.replace("x + 1", "x + 1  # >>> helper(1)"))
    assert project.select(tests=TEST_IDS + [doctest]).reasons == {}  # a comment: no change
    project.write("shop/calc.py", CALC.replace("    return x + 1", '    """>>> helper(1)\n    2\n    """\n    return x + 1'))
    result = project.select(tests=TEST_IDS + [doctest])
    assert result.reasons[doctest] == ["collected from shop/calc.py, which changed"]
