"""Change-based selection end to end: a real git repository, a recorded map, real edits."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import textwrap
from pathlib import Path
from typing import List

import coverage  # noqa: F401 - imported before pytester's in-process runs, which drop modules they import
import coverage.tracer  # noqa: F401 - (a C extension imported twice loses its types)
import pytest

pytest_plugins = ["pytester"]

CALC = textwrap.dedent(
    """\
    RATE = 3


    def shared(x):
        return x + 1


    def add(a, b=1):
        total = shared(a) + b
        if total > 100:
            total -= 1
        return total * RATE


    class Box:
        size = 2

        def area(self):
            return self.size * self.size
    """
)

TEST_CALC = textwrap.dedent(
    """\
    from shop.calc import Box, add, shared


    def test_add():
        assert add(1) == 9


    def test_big():
        assert add(200) == 603


    def test_shared():
        assert shared(1) == 2


    def test_box():
        assert Box().area() == 4
    """
)

TEST_DATA = textwrap.dedent(
    """\
    from pathlib import Path

    PRICES = Path(__file__).parent / "prices.csv"


    def test_prices():
        assert PRICES.read_text().startswith("sku,")
    """
)

TEST_FIXTURE = textwrap.dedent(
    """\
    import pytest
    from shop.calc import shared


    @pytest.fixture(scope="module")
    def base():
        return shared(10)


    def test_first(base):
        assert base == 11


    def test_second(base):
        assert base > 10
    """
)

ALL = 7


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\npythonpath = .\n")
    pytester.mkpydir("shop")
    (pytester.path / "shop" / "calc.py").write_text(CALC)
    (pytester.path / "shop" / "other.py").write_text("def unused():\n    return 5\n")
    tests = pytester.mkdir("tests")
    (tests / "test_calc.py").write_text(TEST_CALC)
    (tests / "test_data.py").write_text(TEST_DATA)
    (tests / "test_fixture.py").write_text(TEST_FIXTURE)
    (tests / "prices.csv").write_text("sku,price\na,1\n")
    (pytester.path / "README.md").write_text("# shop\n")
    # stdout, stderr and runpytest-*: what pytester's subprocess runs leave in the project.
    (pytester.path / ".gitignore").write_text(".orchestra/\n__pycache__/\nstdout\nstderr\nrunpytest-*\n")
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "config", "user.email", "qa@example.com")
    git(pytester.path, "config", "user.name", "QA")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "shop")
    result = record(pytester, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=ALL)
    return pytester


def record(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Record the map in a child process: the recorder's own coverage.py measurement would
    otherwise pause this process's (make test's) for the rest of the worker."""
    return pytester.runpytest_subprocess("--orchestra-record-map", *args)


def edit(pytester: pytest.Pytester, path: str, old: str, new: str) -> None:
    file = pytester.path / path
    text = file.read_text()
    assert old in text, f"{old!r} not in {path}"
    file.write_text(text.replace(old, new))


def selected(pytester: pytest.Pytester, *args: str) -> List[str]:
    result = pytester.runpytest("--orchestra-changed", "--collect-only", "-q", "-p", "no:cacheprovider", *args)
    return [line for line in result.outlines if "::" in line and not line.startswith("orchestra")]


def test_no_change_runs_nothing_without_collecting(shop: pytest.Pytester) -> None:
    result = shop.runpytest("--orchestra-changed", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["orchestra: selection: no file changed since the map (the map of *); nothing to run"])
    assert result.ret == 0
    assert "collected" not in result.stdout.str()


def test_a_shared_helper_change_selects_every_test_that_ran_it(shop: pytest.Pytester) -> None:
    edit(shop, "shop/calc.py", "return x + 1", "return x + 2")
    result = shop.runpytest("--orchestra-changed", "--orchestra-explain", "-p", "no:cacheprovider")
    # The fixture ran the helper once, for test_first; test_second uses the same value (and still passes).
    result.assert_outcomes(failed=4, passed=1, deselected=2)
    for line in (
        "orchestra: selection: 5 of 7 tests selected in *s (1 changed files vs the map of *)",
        "orchestra:   tests/test_calc.py::test_shared: executed shop/calc.py:5 (changed, in shared)",
        "orchestra:   tests/test_fixture.py::test_second: executed shop/calc.py:5 (changed, in shared) "
        "in fixture 'base'",
    ):
        result.stdout.fnmatch_lines([line])


def test_collect_only_lists_exactly_what_would_run_and_deselects_the_rest(shop: pytest.Pytester) -> None:
    edit(shop, "shop/calc.py", "total -= 1", "total -= 2")
    assert selected(shop) == ["tests/test_calc.py::test_big"]


def test_a_class_attribute_selects_the_tests_that_read_it(shop: pytest.Pytester) -> None:
    edit(shop, "shop/calc.py", "    size = 2", "    size = 3")
    assert selected(shop) == ["tests/test_calc.py::test_box"]


def test_a_class_attribute_with_a_common_name_selects_its_readers_not_every_dot_size(
    shop: pytest.Pytester,
) -> None:
    (shop.path / "shop" / "bag.py").write_text(
        "class Bag:\n    size = 5\n\n\ndef default_bag():\n    return Bag()\n"
    )
    (shop.path / "tests" / "test_bag.py").write_text(
        "from shop.bag import default_bag\n\n\ndef test_bag():\n    assert default_bag().size == 5\n"
    )
    (shop.path / "tests" / "test_sizes.py").write_text(
        "from shop.calc import Box\n\n\ndef test_sizes():\n    assert Box.size == 2\n"
    )
    git(shop.path, "add", "-A")
    git(shop.path, "commit", "-q", "-m", "bags")
    record(shop, "-p", "no:cacheprovider").assert_outcomes(passed=ALL + 2)
    edit(shop, "shop/calc.py", "    size = 2", "    size = 3")
    result = shop.runpytest_subprocess("--orchestra-changed", "--orchestra-explain", "-n", "2", "-p",
                                       "no:cacheprovider")
    # test_bag reads .size of a Bag; it never ran Box's code nor named Box.
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "orchestra: selection: 2 of 9 tests selected in *",
        "orchestra:   tests/test_calc.py::test_box: ran Box.area: Box.size (changed at shop/calc.py:16); "
        "executed shop/calc.py:19*",
        "orchestra:   tests/test_sizes.py::test_sizes: uses Box: Box.size (changed at shop/calc.py:16); "
        "executed tests/test_sizes.py:5",
        "orchestra: changed shop/calc.py: module level, read through Box.size: line 15: class Box *",
    ], consecutive=False)
    assert "test_bag" not in result.stdout.str().split("short test summary")[0].split("selection:")[1]


def test_module_level_changes_of_unknown_reach_select_every_user(shop: pytest.Pytester) -> None:
    edit(shop, "shop/calc.py", "RATE = 3", "import os\nRATE = 3")
    assert sorted(selected(shop)) == [
        "tests/test_calc.py::test_add", "tests/test_calc.py::test_big", "tests/test_calc.py::test_box",
        "tests/test_calc.py::test_shared", "tests/test_fixture.py::test_first", "tests/test_fixture.py::test_second",
    ]


def test_comment_only_changes_run_nothing_and_say_so(shop: pytest.Pytester) -> None:
    edit(shop, "shop/calc.py", "RATE = 3", "RATE = 3  # per unit")
    result = shop.runpytest("--orchestra-changed", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        ["orchestra: selection: no test is affected by the 1 changed files (vs the map of *); nothing to run"]
    )
    assert result.ret == 0


def test_a_data_file_selects_the_tests_that_read_it(shop: pytest.Pytester) -> None:
    (shop.path / "tests" / "prices.csv").write_text("id,price\n")
    result = shop.runpytest("--orchestra-changed", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, deselected=ALL - 1)
    result.stdout.fnmatch_lines(["FAILED tests/test_data.py::test_prices - *"])


def test_conftest_change_runs_everything_and_says_why(shop: pytest.Pytester) -> None:
    shop.makeconftest("import pytest\n")
    result = shop.runpytest("--orchestra-changed", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=ALL)
    result.stdout.fnmatch_lines([
        "orchestra: selection: running all 7 tests: conftest.py changed (selection.run_all_if_changed: "
        "'conftest.py')"
    ])


def test_new_tests_and_new_modules_run(shop: pytest.Pytester) -> None:
    (shop.path / "shop" / "tax.py").write_text("VAT = 0.2\n")
    (shop.path / "tests" / "test_tax.py").write_text("from shop.tax import VAT\n\ndef test_vat():\n    assert VAT\n")
    assert selected(shop) == ["tests/test_tax.py::test_vat"]


def test_a_deleted_module_selects_the_tests_that_used_it(shop: pytest.Pytester) -> None:
    edit(shop, "tests/test_fixture.py", "from shop.calc import shared", "from shop.other import unused as shared")
    (shop.path / "shop" / "calc.py").unlink()
    result = shop.runpytest("--orchestra-changed", "-p", "no:cacheprovider")
    # test_calc.py no longer imports: its collection error is reported; the fixture tests were selected.
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*ERROR collecting tests/test_calc.py*"])


@pytest.mark.parametrize(
    "damage, reason",
    [
        ("remove", "no map at *map.db (record one with --orchestra-record-map)"),
        ("corrupt", "the map *map.db is unreadable (file is not a database)"),
        ("python", "the map was recorded with cpython-2.7, this is cpython-3.*"),
        ("root", "the map was recorded in /elsewhere, this checkout is *"),
    ],
)
def test_a_map_that_cannot_be_trusted_runs_everything(shop: pytest.Pytester, damage: str, reason: str) -> None:
    path = shop.path / ".orchestra" / "map.db"
    if damage == "remove":
        path.unlink()
    elif damage == "corrupt":
        path.write_bytes(b"garbage" * 1000)
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        key, value = ("python", "cpython-2.7") if damage == "python" else ("root", "/elsewhere")
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    result = shop.runpytest("--orchestra-changed", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=ALL)
    result.stdout.fnmatch_lines([f"orchestra: selection: running all 7 tests: {reason}"])


def test_an_unknown_ref_runs_everything_and_a_known_one_adds_its_diff(shop: pytest.Pytester) -> None:
    result = shop.runpytest("--orchestra-changed=no-such-ref", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=ALL)
    result.stdout.fnmatch_lines(["*running all 7 tests: unknown git ref 'no-such-ref'"])
    git(shop.path, "checkout", "-q", "-b", "feature")
    edit(shop, "tests/test_data.py", "sku,", "sku")
    git(shop.path, "commit", "-q", "-am", "feature")
    assert selected(shop, "--orchestra-changed=main") == ["tests/test_data.py::test_prices"]


def test_explain_writes_selection_json_and_the_reports_show_counts(shop: pytest.Pytester) -> None:
    edit(shop, "shop/calc.py", "total -= 1", "total -= 2")
    edit(shop, "shop/other.py", "return 5", "return 6")
    report = shop.path / "report"
    shop.runpytest("--orchestra-changed", "--orchestra-explain", "--orchestra-report-dir", str(report),
                   "-p", "no:cacheprovider")
    selection = json.loads((report / "selection.json").read_text())
    assert selection["tests"] == {"tests/test_calc.py::test_big": ["executed shop/calc.py:11 (changed, in add)"]}
    assert selection["changed_files"] == {"shop/calc.py": "modified", "shop/other.py": "modified"}
    assert selection["uncovered"] == ["shop/other.py (modified module without map data; no test imports it)"]
    summary = json.loads((report / "summary.json").read_text())["selection"]
    assert (summary["selected"], summary["total"], summary["deselected"], summary["uncovered"]) == (1, ALL, 6, 1)
    markdown = (report / "report.md").read_text()
    assert "### Selection\n\n1 of 7 tests selected in " in markdown
    assert "1 changed places no test covers: `shop/other.py" in markdown


def test_audit_runs_everything_and_counts_failures_the_selection_would_miss(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(shop, "shop/calc.py", "total -= 1", "total -= 2")
    # A failure the change did not cause (the data is outside the map's sight): a safety violation.
    (shop.path / "tests" / "test_env.py").write_text(
        "import os\n\ndef test_env():\n    assert os.environ.get('SHOP_MODE') != 'broken'\n"
    )
    git(shop.path, "add", "tests/test_env.py")
    record(shop, "-p", "no:cacheprovider", "tests/test_env.py")
    monkeypatch.setenv("SHOP_MODE", "broken")
    report = shop.path / "audit"
    result = shop.runpytest("--orchestra-audit", "--orchestra-report-dir", str(report), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=ALL - 1, failed=2)
    result.stdout.fnmatch_lines([
        "orchestra: audit: the selection would run 1 of 8 tests (1 changed files)",
        "orchestra: audit: 1 failing tests the selection would have left out:",
        "orchestra:   tests/test_env.py::test_env",
    ])
    audit = json.loads((report / "summary.json").read_text())["selection"]["audit"]
    assert audit == {"failed": 2, "violations": ["tests/test_env.py::test_env"]}
    assert "**Audit: 1 safety violations**" in (report / "report.md").read_text()


def test_a_budget_keeps_the_priority_prefix_and_is_labelled_unsafe(shop: pytest.Pytester) -> None:
    (shop.path / "orchestra.yaml").write_text("selection:\n  budget: {max_tests: 2}\n")
    git(shop.path, "add", "orchestra.yaml")
    git(shop.path, "commit", "-q", "-m", "workflow")
    record(shop, "-p", "no:cacheprovider")
    edit(shop, "shop/calc.py", "return x + 1", "return x + 2")
    result = shop.runpytest("--orchestra-changed", "--orchestra-explain", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("failed", 0) + outcomes.get("passed", 0), outcomes["deselected"]) == (2, ALL - 2)
    result.stdout.fnmatch_lines([
        "orchestra: selection: 2 of 7 tests selected in *; UNSAFE: budget cut 3 selected tests (selection.budget)",
        "orchestra: cut by the budget: *",
    ])


def test_a_bad_selection_section_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="selection:\n  budget: {max_tests: 0}\n  always_run: [x]\n")
    result = pytester.runpytest("--orchestra-changed")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*orchestra.yaml: selection.*"])


def test_xdist_workers_record_into_one_map_and_select_alike(shop: pytest.Pytester) -> None:
    (shop.path / ".orchestra" / "map.db").unlink()
    result = shop.runpytest_subprocess("--orchestra-record-map", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=ALL)
    with sqlite3.connect(shop.path / ".orchestra" / "map.db") as db:
        tests = {row[0] for row in db.execute("SELECT name FROM contexts WHERE kind = 'test'")}
    assert len(tests) == ALL
    edit(shop, "shop/calc.py", "total -= 1", "total -= 2")
    report = shop.path / "report"
    result = shop.runpytest_subprocess("--orchestra-changed", "-n", "2", "--orchestra-report-dir", str(report),
                                       "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["orchestra: selection: 1 of 7 tests selected in *"])
    assert list(json.loads((report / "selection.json").read_text())["tests"]) == ["tests/test_calc.py::test_big"]


def test_a_partial_recording_keeps_the_other_tests(shop: pytest.Pytester) -> None:
    record(shop, "-p", "no:cacheprovider", "-k", "test_box")
    edit(shop, "shop/calc.py", "total -= 1", "total -= 2")
    assert selected(shop) == ["tests/test_calc.py::test_big"]


def test_setup_class_lines_count_for_every_test_of_the_class(shop: pytest.Pytester) -> None:
    (shop.path / "tests" / "test_class.py").write_text(textwrap.dedent(
        """\
        from shop.calc import Box


        class TestBox:
            @classmethod
            def setup_class(cls):
                cls.area = Box().area()

            def test_area(self):
                assert self.area == 4

            def test_positive(self):
                assert self.area > 0
        """
    ))
    record(shop, "-p", "no:cacheprovider", "tests/test_class.py")
    edit(shop, "shop/calc.py", "return self.size * self.size", "return self.size * 3")
    assert sorted(selected(shop)) == [
        "tests/test_calc.py::test_box", "tests/test_class.py::TestBox::test_area",
        "tests/test_class.py::TestBox::test_positive",
    ]


def test_foreign_suites_run_when_a_file_in_their_folder_changes(shop: pytest.Pytester) -> None:
    legacy = shop.mkdir("legacy")
    (legacy / "checks.py").write_text("print('1..1')\nprint('ok 1 - stock adds up')\n")
    (legacy / "expected.txt").write_text("12\n")
    (shop.path / "orchestra.yaml").write_text(
        "runners:\n  legacy: {command: ['{python}', checks.py], cwd: legacy, format: tap}\n"
    )
    git(shop.path, "add", "-A")
    git(shop.path, "commit", "-q", "-m", "legacy checks")
    for _ in range(2):  # the first run learns the suite's cases, the second records them
        record(shop, "-p", "no:cacheprovider").assert_outcomes(passed=ALL + 1)
    (legacy / "expected.txt").write_text("13\n")
    result = shop.runpytest("--orchestra-changed", "--orchestra-explain", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=ALL)
    result.stdout.fnmatch_lines([
        "orchestra:   orchestra.yaml::legacy::stock adds up: runs in legacy/, where legacy/expected.txt is modified"
    ])


def test_data_read_while_a_test_file_is_imported_selects_that_files_tests(shop: pytest.Pytester) -> None:
    (shop.path / "tests" / "limits.json").write_text('{"max": 3}\n')
    (shop.path / "tests" / "test_limits.py").write_text(textwrap.dedent(
        """\
        import json
        from pathlib import Path

        LIMITS = json.loads((Path(__file__).parent / "limits.json").read_text())


        def test_max():
            assert LIMITS["max"] == 3


        def test_positive():
            assert LIMITS["max"] > 0
        """
    ))
    git(shop.path, "add", "-A")
    git(shop.path, "commit", "-q", "-m", "limits")
    record(shop, "-p", "no:cacheprovider")
    (shop.path / "tests" / "limits.json").write_text('{"max": 4}\n')
    result = shop.runpytest("--orchestra-changed", "--orchestra-explain", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1, deselected=ALL)
    result.stdout.fnmatch_lines([
        "orchestra:   tests/test_limits.py::test_*: read tests/limits.json (modified) when tests/test_limits.py "
        "was collected"
    ])
