"""What a change to a Python file touches: line level inside functions, module level elsewhere."""

from __future__ import annotations

import textwrap

import pytest

from pytest_orchestra.selection.pychange import analyze_change

OLD = textwrap.dedent(
    '''\
    """Prices."""
    import math

    RATE = 3


    def helper(x):
        return x + 1


    def add(a, b=1):
        total = helper(a) + b   # the sum
        if total > 100:
            total -= 1
        else:
            total += 0
        message = (
            "total "
            + str(total)
        )
        return total * RATE


    class Box:
        size = 2

        @staticmethod
        def unit():
            return 1

        def area(self):
            def square(v):
                return v * v
            return square(self.size)


    @pytest.fixture(scope="session")
    def prices():
        return {"a": 1}
    '''
)


def change(old: str, new: str):
    assert old != new, "the edit did not apply"
    return analyze_change(old, new)


def test_comment_blank_line_and_formatting_changes_touch_nothing() -> None:
    edited = OLD.replace("# the sum", "# the total").replace("RATE = 3", "RATE   =   3")
    edited = edited.replace("def helper(x):\n", "def helper(x):\n\n")
    assert change(OLD, edited).is_empty


@pytest.mark.parametrize(
    "old_text, new_text, lines, function",
    [
        ("total > 100", "total >= 100", {13}, "add"),
        ("total += 0", "total += 1", {16}, "add"),
        ('"total "', '"sum "', set(range(17, 21)), "add"),  # a multi-line statement, whole
        ("return x + 1", "return x + 2", {8}, "helper"),
        ("return v * v", "return v ** 2", {33}, "Box.area.<locals>.square"),
        ("return square(self.size)", "return square(self.size) + 0", {34}, "Box.area"),
    ],
)
def test_a_changed_body_line_is_line_level_widened_to_its_statement(old_text, new_text, lines, function) -> None:
    result = change(OLD, OLD.replace(old_text, new_text))
    assert not result.is_module_level
    (line_change,) = result.line_changes
    assert (set(line_change.lines), line_change.function, line_change.inserted) == (lines, function, False)


def test_added_lines_take_the_whole_enclosing_function() -> None:
    result = change(OLD, OLD.replace("        total -= 1\n", "        total -= 1\n        total //= 2\n"))
    (line_change,) = result.line_changes
    assert line_change.inserted and line_change.function == "add"
    assert set(line_change.lines) == set(range(12, 22))  # the body, not the def line run at import


@pytest.mark.parametrize(
    "old_text, new_text, described",
    [
        ("RATE = 3", "RATE = 4", "line 4: module-level assignment to RATE changed"),
        ("    size = 2", "    size = 3", "line 24: class Box"),
        ("def add(a, b=1):", "def add(a, b=2):", "line 11: def add"),
        ("def add(a, b=1):", "def add(a, b=1, c=0):", "line 11: def add"),
        ("    @staticmethod\n", "", "line 24: class Box"),
        ('@pytest.fixture(scope="session")', '@pytest.fixture(scope="module")', "line 37: def prices"),
        ("import math", "import cmath", "line 2: import changed"),
    ],
)
def test_import_time_changes_are_module_level(old_text, new_text, described) -> None:
    result = change(OLD, OLD.replace(old_text, new_text))
    assert result.is_module_level
    assert result.module_level[0].startswith(described)
    assert result.line_changes == ()


def test_added_and_removed_functions_are_module_level() -> None:
    added = change(OLD, OLD + "\n\ndef extra():\n    return 2\n")
    assert added.module_level == ("new line 42: def extra (signature, defaults or decorators) added",)
    removed = change(OLD, OLD.replace("def helper(x):\n    return x + 1\n", ""))
    assert removed.is_module_level


def test_a_fixture_body_change_names_the_fixture() -> None:
    result = change(OLD, OLD.replace('{"a": 1}', '{"a": 2}'))
    assert result.fixtures == frozenset({"prices"})
    assert result.line_changes[0].function == "prices"


def test_a_file_that_no_longer_parses_is_module_level() -> None:
    result = change(OLD, OLD.replace("def helper(x):", "def helper(x)"))
    assert result.module_level == ("does not parse (line 7): SyntaxError",)
    assert change("def (:\n", OLD).module_level == ("the recorded version does not parse",)


def test_the_old_line_numbers_are_reported_when_lines_moved_above() -> None:
    moved = "# a new header comment\n\n" + OLD.replace("return x + 1", "return x + 3")
    (line_change,) = change(OLD, moved).line_changes
    assert set(line_change.lines) == {8}


def test_the_names_a_module_level_change_binds() -> None:
    assert change(OLD, OLD.replace("RATE = 3", "RATE = 4")).names == frozenset({"RATE"})
    assert change(OLD, OLD.replace("    size = 2", "    size = 3")).names == frozenset({"size"})
    assert change(OLD, OLD.replace("def add(a, b=1):", "def add(a, b=2):")).names == frozenset({"add"})
    assert change(OLD, OLD.replace("    @staticmethod\n", "")).names == frozenset({"unit"})
    exported = "__all__ = ['add', 'helper']\n"
    assert change(exported + OLD, exported.replace("'helper'", "'Box'") + OLD).names == frozenset(
        {"__all__", "helper", "Box"}
    )
    # What may reach users without naming anything: every user.
    for old_text, new_text in [
        ('@pytest.fixture(scope="session")', '@pytest.fixture(scope="module")'),
        ("import math", "import cmath"),
        ("RATE = 3", "RATE = 3\nprint(RATE)"),
        ("class Box:", "class Box(dict):"),
        ("RATE = 3", "__version__ = '1'\nRATE = 3"),
    ]:
        assert change(OLD, OLD.replace(old_text, new_text)).names is None, new_text


def test_the_bindings_say_what_changed_and_how() -> None:
    def bindings(old_text: str, new_text: str):
        return [(b.label, b.how, b.line) for b in change(OLD, OLD.replace(old_text, new_text)).bindings]

    assert bindings("RATE = 3", "RATE = 4") == [("RATE", "value", 4)]
    assert bindings("    size = 2", "    size = 3") == [("Box.size", "value", 25)]
    assert bindings("def add(a, b=1):", "def add(a, b=2):") == [("add", "signature", 11)]
    assert bindings("    def unit():", "    def unit(x=0):") == [("Box.unit", "signature", 28)]
    assert bindings("    size = 2\n", "    size = 2\n    depth = 1\n") == [("Box.depth", "added", 26)]
    assert bindings("def helper(x):\n    return x + 1\n", "") == [("helper", "removed", 7)]
    exported = "__all__ = ['add', 'helper']\n"
    result = change(exported + OLD, exported.replace("'helper'", "'Box'") + OLD)
    assert [(b.label, b.how) for b in result.bindings] == [("__all__", "value"), ("Box", "exported"),
                                                           ("helper", "exported")]


def test_what_may_reach_users_without_a_name_says_why() -> None:
    assert change(OLD, OLD.replace("class Box:", "class Box(dict):")).wide_reason == (
        "line 24: class Box's bases, keywords or decorators changed"
    )
    assert change(OLD, OLD.replace("    size = 2", "    __slots__ = ()")).wide_reason == (
        "Box.__slots__ changed (a dunder: Python itself reads it)"
    )
    assert change(OLD, OLD.replace("import math", "import cmath")).wide_reason == (
        "not a plain binding: anything may follow"
    )
