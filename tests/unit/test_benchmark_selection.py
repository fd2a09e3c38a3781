"""The pure helpers of benchmarks/selection_mutants.py and benchmarks/selection_speed.py."""

from __future__ import annotations

import ast
import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mutants = load("selection_mutants")
speed = load("selection_speed")

SOURCE = textwrap.dedent('''\
    """A module."""
    import functools

    LIMIT = 10
    NAMES = ("a", "b")


    class Box:
        """A box."""

        size = 3

        @property
        def double(self):
            return self.size * 2


    @functools.lru_cache(maxsize=128)
    def clamp(value, low=0, high=None):
        """Clamp."""
        if high is not None and value > high:
            return high
        return max(value, low)
    ''')


def kinds_by_line() -> dict[str, set[int]]:
    found = mutants.candidate_mutants("m.py", SOURCE)
    return {kind: {m.line for m in items} for kind, items in found.items()}


def test_every_kind_is_found_on_the_right_lines() -> None:
    lines = kinds_by_line()
    assert lines["module-constant"] == {4, 5}
    assert lines["class-attribute"] == {11}
    assert lines["decorator"] == {13, 18}
    assert lines["default-argument"] == {19}
    assert lines["signature"] == {14, 19}
    assert lines["__all__"] == set()
    # 22 and 23 (`return high`, `return max(value, low)`) have no token to edit
    assert lines["function-body"] == {15, 21}


def test_signature_and_all_mutants_edit_one_line() -> None:
    source = "__all__ = ['a', 'b']\n\n\ndef a(x, y, z=2):\n    return x\n\n\ndef b(p):\n    return p\n"
    found = {kind: {m.edit for m in items} for kind, items in mutants.candidate_mutants("m.py", source).items()}
    assert found["signature"] == {"remove the default of 'z'", "swap 'x' and 'y'", "swap 'y' and 'z'",
                                  "make 'x' and later keyword-only", "add a required parameter",
                                  "make 'p' and later keyword-only"}
    assert found["__all__"] == {"leave 'a' out of __all__", "leave 'b' out of __all__", "'a' -> 'Xa'",
                                "'b' -> 'Xb'"}
    assert not found["module-constant"]


def test_docstrings_and_imports_are_never_mutated() -> None:
    lines = {m.line for items in mutants.candidate_mutants("m.py", SOURCE).values() for m in items}
    assert not lines & {1, 2, 9, 20}


def test_every_mutant_is_a_one_line_edit_that_compiles_and_changes_the_code() -> None:
    original = ast.dump(ast.parse(SOURCE))
    lines = SOURCE.splitlines(keepends=True)
    for items in mutants.candidate_mutants("m.py", SOURCE).values():
        for m in items:
            assert lines[m.line - 1] == m.old and m.old != m.new
            mutated = "".join(lines[: m.line - 1]) + m.new + "".join(lines[m.line:])
            compile(mutated, "m.py", "exec")
            assert ast.dump(ast.parse(mutated)) != original


def test_the_edits_include_the_classic_operators() -> None:
    edits = {(m.line, m.edit) for items in mutants.candidate_mutants("m.py", SOURCE).values() for m in items}
    assert (21, "'is not' -> 'is'") in edits
    assert (21, "'>' -> '>='") in edits
    assert (21, "'and' -> 'or'") in edits
    assert (4, "10 -> 11") in edits
    assert (13, "remove '@property'") in edits
    assert (18, "128 -> 129") in edits
    assert (19, "'None' -> 'False'") in edits


def test_executed_lines_filter_regions() -> None:
    found = mutants.candidate_mutants("m.py", SOURCE, executed={4, 5, 11, 13, 14, 18, 19})
    assert {m.line for m in found["function-body"]} == set()
    assert {m.line for m in found["default-argument"]} == {19}


def test_mutants_that_warn_at_compile_time_are_rejected() -> None:
    source = "def f(x):\n    return x is None\n"
    edits = {m.new.strip() for m in mutants.candidate_mutants("f.py", source)["function-body"]}
    assert "return x is not None" in edits
    assert all(" is 0" not in e for e in edits)


def test_allocation_gives_the_import_share_to_the_import_kinds() -> None:
    counts = mutants.allocate(60, 0.5)
    assert sum(counts.values()) == 60
    assert counts["function-body"] == 30
    assert sorted(counts[k] for k in mutants.IMPORT_KINDS) == [5, 5, 5, 5, 5, 5]
    assert sum(counts[k] for k in mutants.IMPORT_KINDS) >= 60 / 3


def test_choice_is_seeded_spread_over_files_and_one_per_line() -> None:
    candidates = {kind: [] for kind in mutants.KINDS}
    for name in ("a.py", "b.py", "c.py"):
        for kind, items in mutants.candidate_mutants(name, SOURCE).items():
            candidates[kind].extend(items)
    counts = {"function-body": 2, "module-constant": 3, "class-attribute": 5, "default-argument": 0, "decorator": 0}
    first = mutants.choose_mutants(candidates, counts, seed=7)
    assert first == mutants.choose_mutants(candidates, counts, seed=7)
    assert len({(m.path, m.line) for m in first}) == len(first)
    constants = [m for m in first if m.kind == "module-constant"]
    assert sorted(m.path for m in constants) == ["a.py", "b.py", "c.py"]
    # only three class-attribute lines exist: the two missing go to function-body mutants
    assert sum(1 for m in first if m.kind == "class-attribute") == 3
    assert sum(1 for m in first if m.kind == "function-body") == 4


def test_apply_mutant_writes_the_line_and_returns_the_original(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    m = next(x for x in mutants.candidate_mutants("m.py", SOURCE)["module-constant"] if x.line == 4)
    original = mutants.apply_mutant(tmp_path, m)
    assert original == SOURCE
    assert (tmp_path / "m.py").read_text().splitlines()[3] == m.new.rstrip("\n")


def test_killing_tests_are_failures_new_failing_ids_and_tests_of_files_that_no_longer_import() -> None:
    baseline = {"t::a": "passed", "t::b": "passed", "t::c": "failed", "u::d": "skipped", "v::e[1]": "passed"}
    collected = ["t::a", "t::b", "t::c", "u::d", "v::e[1]"]
    data = {"collected": ["t::a", "t::b", "t::c", "v::e[2]"],
            "outcomes": {"t::a": "failed", "t::b": "passed", "t::c": "failed", "v::e[2]": "failed"},
            "collect_errors": ["u"]}
    # v::e[1] vanished because the mutant renamed its parameter id: its new id is judged instead
    assert mutants.killing_tests(baseline, collected, data) == ["t::a", "u::d", "v::e[2]"]
    assert mutants.killing_tests(baseline, collected, {}) == sorted(baseline)


def test_summary_counts_caught_mutants_and_fractions() -> None:
    m1 = mutants.Mutant("m.py", 4, "module-constant", 8, "LIMIT = 10\n", "LIMIT = 11\n", "10 -> 11")
    m2 = mutants.Mutant("m.py", 22, "function-body", 4, "x\n", "y\n", "e")
    results = [
        mutants.MutantResult(m1, ["t::a", "t::b"], False,
                             {"orchestra": ["t::a", "t::b", "t::c"], "testmon": ["t::c"], "picked": []},
                             {"orchestra": False, "testmon": False, "picked": False}, {}, 1.0),
        mutants.MutantResult(m2, [], False, {"orchestra": ["t::a"], "testmon": [], "picked": []},
                             {"orchestra": False, "testmon": False, "picked": True}, {}, 1.0),
    ]
    table = mutants.summarize(results, total_tests=10)
    assert table["orchestra"]["all"]["caught"] == 1
    assert table["orchestra"]["all"]["killing_selected_fraction"] == 1.0
    assert table["orchestra"]["all"]["mean_selected_fraction"] == pytest.approx(0.2)
    assert table["testmon"]["module-constant"]["caught"] == 0
    assert table["testmon"]["import-time"]["killing_selected"] == 0
    assert table["picked"]["function-body"]["killed"] == 0


def test_generated_project_has_the_asked_size_and_passing_expectations(tmp_path: Path) -> None:
    count = speed.generate_project(tmp_path / "shop", modules=6, total_tests=90, test_files=3, seed=1)
    assert count == 90
    assert len(list((tmp_path / "shop" / speed.PACKAGE).glob("mod_*.py"))) == 6
    files = sorted((tmp_path / "shop" / "tests").glob("test_*.py"))
    assert len(files) == 3
    sys.path.insert(0, str(tmp_path / "shop"))
    try:
        namespace: dict = {}
        exec(compile(files[0].read_text(), str(files[0]), "exec"), namespace)
        plain = [f for name, f in namespace.items() if name.startswith("test_") and "param" not in name]
        for test in plain:
            test()
    finally:
        sys.path.remove(str(tmp_path / "shop"))
        for name in [n for n in sys.modules if n == speed.PACKAGE or n.startswith(speed.PACKAGE + ".")]:
            del sys.modules[name]


def test_change_modules_edits_one_body_line_per_module_and_restores(tmp_path: Path) -> None:
    speed.generate_project(tmp_path / "shop", modules=10, total_tests=30, test_files=1, seed=2)
    root = tmp_path / "shop"
    before = {p: p.read_text() for p in (root / speed.PACKAGE).glob("mod_*.py")}
    originals = speed.change_modules(root, modules=10, count=5)
    assert len(originals) == 5
    for path in originals:
        diff = [(a, b) for a, b in zip(before[path].splitlines(), path.read_text().splitlines()) if a != b]
        assert len(diff) == 1 and "body-3" in diff[0][1]
    speed.restore(originals)
    assert {p: p.read_text() for p in before} == before


def test_selection_line_is_parsed() -> None:
    line = "orchestra: selection: 4 of 1000 tests selected in 0.65s (2 changed files vs the map of 98a481c7)"
    found = speed.SELECTION_LINE.search(line)
    assert found and found.groups() == ("4", "1000", "0.65")


def test_unchecked_candidates_filtered_by_is_valid_equal_the_checked_ones() -> None:
    source = SOURCE + "\n\ndef spread(*args, **kwargs):\n    return -len(args) * 2\n"
    checked = mutants.candidate_mutants("m.py", source)
    unchecked = mutants.candidate_mutants("m.py", source, check=False)
    for kind in mutants.KINDS:
        assert [m for m in unchecked[kind] if mutants.is_valid(m, source)] == checked[kind]
