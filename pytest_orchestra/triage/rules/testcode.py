"""``test``: the test code itself is broken.

pytest's own complaints (a missing fixture, a scope mismatch, bad
``parametrize`` arguments, a fixture called directly), syntax and collection
errors, and mistakes the test's own code makes *itself* — the innermost frame
is the suite's, not code it called: an undefined name, a typo'd attribute or
key, a wrong call signature, arithmetic on the wrong type, a wrong unpacking,
importing a name the product does not have. A ``'NoneType'`` in such an error
means the code under test returned None, which is the product's failure.
"""

from __future__ import annotations

import re

from pytest_orchestra.triage.failure import PROJECT_KINDS, TEST_KINDS
from pytest_orchestra.triage.rules.facts import Facts, because, rx
from pytest_orchestra.triage.rules.rule import Rule

FIXTURE_NOT_FOUND = re.compile(r"fixture '[^']+' not found")
SCOPE_MISMATCH = re.compile(r"ScopeMismatch|You tried to access the \w+ scoped fixture")
PARAMETRIZE = re.compile(
    r'in "parametrize"|function uses no (argument|fixture)|@pytest\.mark\.parametrize'
    r"|\bparametrize\(|wrong number of (values|arguments) .*parametri|indirect fixture"
)
PYTEST_USAGE = re.compile(
    r"called directly\. Fixtures are not meant|Fixtures are not meant to be called directly"
    r"|outside of a test|not found in `markers` configuration|cannot make approximate comparisons"
    r"|expected exception must be|exceptions must be derived from BaseException"
    r"|'yield' keyword is allowed in fixtures|The requested fixture has no parameter"
    r"|Unknown pytest\.mark\.|got an unexpected keyword argument '(match|scope|params|ids|autouse)'"
    r"|duplicate '[^']+' in parametrize|is not a valid fixture|fixture .* is being applied more than once"
    r"|fixture function has more than one 'yield'|fixture function did not yield a value"
    r"|yield_fixture|async def functions are not natively supported|Cannot apply @pytest\.mark"
)
CALL_SIGNATURE = rx(
    r"unexpected keyword argument|missing \d+ required (positional|keyword-only) argument"
    r"|takes (from )?\d+ (to \d+ )?positional arguments? but \d+ (were|was) given"
    r"|takes no (keyword )?arguments|got multiple values for (keyword )?argument|object is not callable"
    r"|is an invalid keyword argument|positional argument follows|required positional argument"
)
OPERAND_TYPES = rx(
    r"unsupported operand type|can only concatenate|not supported between instances of"
    r"|can't multiply sequence|must be (str|int|a real number|real number|bytes|an integer)"
    r"|object cannot be interpreted as an integer|object is not (subscriptable|iterable)"
    r"|unhashable type|argument of type .* is not iterable|object of type .* has no len"
    r"|indices must be integers|can't convert .* object to|object does not support item assignment"
)
UNPACKING = rx(r"not enough values to unpack|too many values to unpack|cannot unpack non-iterable")
CANNOT_IMPORT = re.compile(r"cannot import name '[^']+' from '([^']+)'")
NONE_VALUE = re.compile(r"'NoneType'|NoneType\b")
NONE_ATTRIBUTE = re.compile(r"'NoneType' object has no attribute")
KEY = re.compile(r"""^['"](.{1,80})['"]$""")
ATTRIBUTE = re.compile(r"has no attribute '([A-Za-z_]\w*)'")


def _collection_text(facts: Facts) -> str:
    return facts.failure.longrepr + "\n" + facts.text


def _syntax_error_in(facts: Facts, *kinds: str) -> bool:
    """A SyntaxError whose offending file (the innermost frame) is of ``kinds``."""
    if not facts.is_a("SyntaxError"):
        return False
    frame = facts.innermost
    if frame is None or frame.kind not in PROJECT_KINDS:
        return facts.failure.phase == "collect" and "test" in kinds
    return frame.kind in kinds


def _fixture_code_error(facts: Facts) -> bool:
    """A fixture (in a test module or conftest) raised while setting up or tearing down."""
    return facts.failure.phase in ("setup", "teardown") and facts.raised_in(*TEST_KINDS)


def _collection_error(facts: Facts) -> bool:
    if facts.failure.phase != "collect":
        return False
    return facts.culprit is None or facts.raised_in(*TEST_KINDS)


def _pytest_usage(facts: Facts) -> bool:
    # Qualified: libraries define their own UsageError (click's BadParameter is one).
    if facts.is_a("_pytest.config.exceptions.UsageError", "pytest.UsageError"):
        return True
    return bool(PYTEST_USAGE.search(_collection_text(facts)))


def _own_type_error(facts: Facts, pattern: re.Pattern[str]) -> bool:
    """A TypeError the test's own line raised, on a value that is not None."""
    if not facts.is_a("TypeError") or not facts.raised_by_test_code():
        return False
    line = facts.message_line()
    return bool(pattern.search(line)) and not NONE_VALUE.search(line)


def _unpacking_in_test(facts: Facts) -> bool:
    line = facts.message_line()
    return (facts.is_a("ValueError", "TypeError") and facts.raised_by_test_code() and bool(UNPACKING.search(line))
            and not NONE_VALUE.search(line))


def _cannot_import_project_name(facts: Facts) -> bool:
    evidence = facts.matching("ImportError")
    if evidence is None or evidence.is_a("ModuleNotFoundError"):
        return False
    found = CANNOT_IMPORT.search(evidence.message)
    return found is not None and facts.is_project_module(found.group(1))


def _typo_on_test_line(facts: Facts, name: str, *, as_attribute: bool) -> bool:
    """``name`` is written on a failing line of the test's own code, and neither the product's code
    nor any data file of the test tree mentions it: the test misspelled it."""
    if facts.project is None or not name:
        return False
    # An attribute access (``.ownr``) or a subscript (``["tabel"]``): an argument passed to the
    # product (``tax(10, "ch")``) is the product's to handle.
    written = (rf"\.{re.escape(name)}\b" if as_attribute else rf"""\[\s*['"]{re.escape(name)}['"]\s*\]""")
    lines = [frame.line for frame in facts.frames if frame.kind in TEST_KINDS and frame.line]
    if not any(re.search(written, line) for line in lines):
        return False
    if facts.project.mentions(name) is not False:
        return False
    return not facts.project.data_files_with(name)


def _unknown_key_in_test(facts: Facts) -> bool:
    """A key the test looked up that no product code mentions: a typo in the test.

    Raised by the test's own line, or by the product's mapping the test subscripted
    with a key written on its line (``doc["tabel"]``).
    """
    if not facts.is_a("KeyError") or facts.project is None:
        return False
    found = KEY.match(facts.message_line().strip())
    if found is None:
        return False
    if facts.raised_by_test_code():
        return facts.project.mentions(found.group(1)) is False
    return _typo_on_test_line(facts, found.group(1), as_attribute=False)


def _unknown_attribute_in_test(facts: Facts) -> bool:
    """An attribute the test's line used that no product code defines, raised by a product ``__getattr__``."""
    if not facts.is_a("AttributeError") or NONE_ATTRIBUTE.search(facts.message_line()):
        return False
    found = ATTRIBUTE.search(facts.message_line())
    return found is not None and _typo_on_test_line(facts, found.group(1), as_attribute=True)


PYTEST_USAGE_RULES: tuple[Rule, ...] = (
    Rule("fixture-not-found", "test", 0.95,
         lambda f: f.is_a("FixtureLookupError")
         or bool(FIXTURE_NOT_FOUND.search(f.failure.longrepr)),
         because("the test requests a fixture that does not exist")),
    Rule("scope-mismatch", "test", 0.95,
         lambda f: f.is_a("ScopeMismatch") or bool(SCOPE_MISMATCH.search(_collection_text(f))),
         because("a fixture uses a fixture of a narrower scope")),
    Rule("bad-parametrize", "test", 0.9,
         lambda f: f.failure.phase == "collect" and bool(PARAMETRIZE.search(_collection_text(f))),
         because("the test's parametrize arguments are invalid")),
    Rule("pytest-usage", "test", 0.85, _pytest_usage,
         because("the test uses pytest wrongly")),
)

TEST_RULES: tuple[Rule, ...] = (
    Rule("syntax-error-in-test", "test", 0.9,
         lambda f: _syntax_error_in(f, *TEST_KINDS),
         because("a test module has a syntax error")),
    Rule("syntax-error-in-product", "product", 0.85,
         lambda f: _syntax_error_in(f, "product"),
         because("a product module has a syntax error")),
    Rule("cannot-import-project-name", "test", 0.8, _cannot_import_project_name,
         because("the test imports a name the project does not have")),
    Rule("name-error-in-test", "test", 0.9,
         lambda f: f.is_a("NameError") and f.raised_in(*TEST_KINDS),
         because("test code uses an undefined name")),
    Rule("none-attribute-in-test", "product", 0.7,
         lambda f: f.is_a("AttributeError") and f.raised_in("test")
         and f.failure.phase == "call" and bool(NONE_ATTRIBUTE.search(f.message_line())),
         because("the code under test returned None where the test expected an object")),
    Rule("attribute-error-in-test", "test", 0.85,
         lambda f: f.is_a("AttributeError") and f.raised_in(*TEST_KINDS),
         because("test code uses an attribute that does not exist")),
    Rule("call-signature-in-test", "test", 0.85,
         lambda f: f.is_a("TypeError") and f.raised_in(*TEST_KINDS)
         and bool(CALL_SIGNATURE.search(f.message_line())),
         because("test code calls a function with the wrong arguments")),
    Rule("operand-type-in-test", "test", 0.8,
         lambda f: _own_type_error(f, OPERAND_TYPES),
         because("test code uses a value of the wrong type")),
    Rule("unpacking-in-test", "test", 0.8, _unpacking_in_test,
         because("test code unpacks the wrong number of values")),
    Rule("unknown-key-in-test", "test", 0.75, _unknown_key_in_test,
         because("test code looks up a key that no product code knows")),
    Rule("unknown-attribute-in-test", "test", 0.75, _unknown_attribute_in_test,
         because("test code uses an attribute that no product code defines")),
    Rule("collection-error", "test", 0.85, _collection_error,
         because("the test module could not be collected")),
    Rule("fixture-error", "test", 0.75, _fixture_code_error,
         because("a fixture's own code failed")),
)
