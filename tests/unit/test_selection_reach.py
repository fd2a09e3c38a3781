"""What a line reads, resolved, and where a module-level change can be seen (pure logic)."""

from __future__ import annotations

import textwrap
from typing import Dict, Optional

from pytest_orchestra.selection.propagation import AnalyzedVersion, Reach
from pytest_orchestra.selection.pychange import analyze_change
from pytest_orchestra.selection.reach import reach
from pytest_orchestra.selection.reads import analyze_reads

MODULES = frozenset({"shop", "shop.calc", "shop.report", "shop.box", "shop.other", "tests.test_x"})


def reads_of(source: str, module: str = "shop.report"):
    package = module if module == "shop" else module.rpartition(".")[0]
    found = analyze_reads(textwrap.dedent(source), module, package, MODULES)
    assert found is not None
    return found


def test_reads_are_resolved_to_the_module_that_binds_the_name() -> None:
    found = reads_of(
        """\
        import shop.calc
        from shop import calc as c
        from shop.calc import RATE as R
        from shop.other import *


        def f(RATE, x):
            return R + c.RATE + shop.calc.LIMIT + x.RATE + RATE + STAR


        def g():
            return getattr(c, "RATE"), vars(c)
        """
    )
    assert found.body[("shop.calc", "RATE")] == {8}  # R and c.RATE; the parameter and x.RATE are not it
    assert found.body[("shop.calc", "LIMIT")] == {8}
    assert found.body[("shop.other", "STAR")] == {8}
    assert ("shop.calc", "x") not in found.body
    assert found.body[("shop.calc", "*")] == {12}  # vars(c): every name of the module
    assert found.strings["RATE"] == {12}


def test_import_time_statements_keep_what_they_bind_and_read() -> None:
    found = reads_of(
        """\
        from shop.calc import RATE

        LIMIT = RATE * 2


        class Box:
            size = RATE

            def area(self, k=RATE):
                return self.size * k
        """
    )
    by_line = {(s.first, s.owner): (s.binds, s.reads) for s in found.top}
    imported = {("shop.calc", "RATE"), ("shop.report", "RATE")}  # the import binds it here too
    assert by_line[(1, None)] == ({"RATE"}, set())
    assert by_line[(3, None)] == ({"LIMIT"}, imported)
    assert by_line[(7, "Box")] == ({"size"}, imported)
    assert by_line[(9, "Box")] == ({"area"}, imported)
    assert found.classes["Box"].methods == {"area": (10, 10)}
    assert ("shop.calc", "RATE") not in found.body


def test_a_local_that_shadows_a_global_is_not_a_read_of_it() -> None:
    found = reads_of(
        """\
        RATE = 3

        def f():
            RATE = 4
            return RATE

        def g():
            global RATE
            return RATE

        def h():
            return [RATE for RATE in range(3)]
        """,
        module="shop.calc",
    )
    assert found.body[("shop.calc", "RATE")] == {9}


CALC = """\
RATE = 3
LIMIT = RATE * 10


def add(a, b=1):
    return (a + b) * RATE


def cap(x):
    return min(x, LIMIT)


def other():
    return 1


class Config:
    timeout = 30
    name = "config"

    def describe(self):
        return self.name


class Strict(Config):
    def check(self):
        return True
"""

REPORT = """\
from shop.calc import Config, add


def label(thing):
    return thing.name + thing.timeout


def make():
    return Config()


def total():
    return add(1)
"""


def reached(old: str, new: str, extra: Optional[Dict[str, str]] = None) -> Reach:
    change = analyze_change(old, new)
    assert change.bindings is not None, change.wide_reason
    versions = [AnalyzedVersion("shop/calc.py", "old", reads_of(old, "shop.calc")),
                AnalyzedVersion("shop/report.py", "r", reads_of(REPORT, "shop.report"))]
    for path, source in (extra or {}).items():
        module = path[:-3].replace("/", ".")
        versions.append(AnalyzedVersion(path, "x", reads_of(source, module)))
    return reach("shop/calc.py", "shop.calc", change.bindings, versions, facts_of=lambda module: None)


def lines(found: Reach, path: str) -> Dict[int, str]:
    return {line: why for (file, _), chosen in found.lines.items() if file == path for line, why in chosen.items()}


def test_a_constant_reaches_its_readers_and_what_import_time_code_computed_from_it() -> None:
    found = reached(CALC, CALC.replace("RATE = 3", "RATE = 4"))
    assert lines(found, "shop/calc.py") == {
        6: "reads RATE (changed at shop/calc.py:1)",
        10: "reads LIMIT (set at shop/calc.py:2 from RATE, changed at shop/calc.py:1)",
    }
    assert lines(found, "shop/report.py") == {} and found.wide == {}


def test_a_class_attribute_reaches_the_class_code_and_the_lines_naming_the_class_not_every_dot_name() -> None:
    found = reached(CALC, CALC.replace("timeout = 30", "timeout = 31"))
    calc = lines(found, "shop/calc.py")
    assert set(calc) == {22, 27}  # Config.describe and Strict.check (a subclass)
    assert calc[27] == "ran Strict.check: Config.timeout (changed at shop/calc.py:18), inherited by Strict"
    # make() names Config; label() reads .timeout of an object it was handed, which came from a line naming it.
    assert lines(found, "shop/report.py") == {9: "uses Config: Config.timeout (changed at shop/calc.py:18)"}


def test_defaults_and_signatures_reach_the_callers() -> None:
    found = reached(CALC, CALC.replace("def add(a, b=1):", "def add(a, b=2):"))
    assert lines(found, "shop/calc.py") == {6: "ran add, whose parameters or defaults changed (changed at shop/calc.py:5)"}
    assert lines(found, "shop/report.py") == {
        13: "calls or reads add (changed at shop/calc.py:5)"}
    method = reached(CALC, CALC.replace("def describe(self):", "def describe(self, short=False):"))
    assert set(lines(method, "shop/calc.py")) == {22} and lines(method, "shop/report.py") == {}


def test_a_removed_name_imported_at_import_time_makes_the_importer_wide() -> None:
    found = reached(CALC, CALC.replace("def add(a, b=1):\n    return (a + b) * RATE\n", ""))
    assert found.wide == {"shop/report.py": "imports add from shop.calc at shop/report.py:1, which is gone: "
                                            "add (changed at shop/calc.py:5)"}


def test_a_name_read_by_a_module_level_call_makes_that_file_wide() -> None:
    extra = {"shop/box.py": "from shop.calc import RATE\n\nprint(RATE)\n"}
    found = reached(CALC, CALC.replace("RATE = 3", "RATE = 4"), extra)
    assert found.wide == {"shop/box.py": "reads RATE at import (shop/box.py:3): RATE (changed at shop/calc.py:1)"}


def test_a_class_a_base_may_register_is_wide() -> None:
    base = "class Plugin:\n    def __init_subclass__(cls):\n        REGISTRY.append(cls)\n\nREGISTRY = []\n"
    old = "from shop.box import Plugin\n\n\nclass Json(Plugin):\n    suffix = '.json'\n"
    change = analyze_change(old, old.replace(".json", ".js"))
    versions = [AnalyzedVersion("shop/calc.py", "old", reads_of(old, "shop.calc"))]
    box = reads_of(base, "shop.box")
    found = reach("shop/calc.py", "shop.calc", change.bindings or (), versions,
                  facts_of=lambda module: box if module == "shop.box" else None)
    assert found.wide == {"shop/calc.py": "base class Plugin defines __init_subclass__ (it may register Json where "
                                          "no line names it)"}


def test_reading_another_member_through_the_class_does_not_reach_a_changed_one() -> None:
    old = "class Unit:\n    HOURS = 4\n    DAYS = 5\n\n    def scale(self):\n        return 1\n"
    user = textwrap.dedent(
        """\
        from shop.calc import Unit


        def hours():
            return Unit.HOURS


        def days():
            return Unit.DAYS


        def lookup(value):
            return Unit(value)


        def scaled(unit):
            return Unit.scale(unit)
        """
    )
    change = analyze_change(old, old.replace("DAYS = 5", "DAYS = 6"))
    versions = [AnalyzedVersion("shop/calc.py", "old", reads_of(old, "shop.calc")),
                AnalyzedVersion("shop/report.py", "r", reads_of(user, "shop.report"))]
    found = reach("shop/calc.py", "shop.calc", change.bindings or (), versions, facts_of=lambda module: None)
    assert sorted(lines(found, "shop/report.py")) == [9, 13, 17]  # not hours(): Unit.HOURS did not change
    assert lines(found, "shop/calc.py") == {6: "ran Unit.scale: Unit.DAYS (changed at shop/calc.py:3)"}


def test_a_star_import_of_a_changed_all_makes_the_importer_wide_and_other_names_flow_through() -> None:
    old = "__all__ = ['RATE', 'LIMIT']\nRATE = 3\nLIMIT = 4\n"
    star = "from shop.calc import *\n\n\ndef f():\n    return RATE\n\n\ndef g():\n    return LIMIT\n"
    versions = [AnalyzedVersion("shop/calc.py", "old", reads_of(old, "shop.calc")),
                AnalyzedVersion("shop/report.py", "r", reads_of(star, "shop.report"))]

    def run(new: str) -> Reach:
        change = analyze_change(old, new)
        return reach("shop/calc.py", "shop.calc", change.bindings or (), versions, facts_of=lambda module: None)

    exported = run(old.replace("'LIMIT']", "'XLIMIT']"))
    assert exported.wide == {"shop/report.py": "star-imports shop.calc at shop/report.py:1, whose __all__ changed: "
                                               "__all__ (changed at shop/calc.py:1)"}
    value = run(old.replace("RATE = 3", "RATE = 5"))
    assert value.wide == {} and lines(value, "shop/report.py") == {
        5: "reads RATE (changed at shop/calc.py:2)"}


def test_a_name_added_to_a_module_reaches_the_lines_that_read_a_builtin_of_that_name() -> None:
    old = "def size(items):\n    return len(items)\n"
    found = reached(old, "def len(items):\n    return 0\n\n\n" + old)
    assert lines(found, "shop/calc.py") == {2: "reads len (changed at shop/calc.py:1)"}
