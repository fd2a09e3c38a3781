"""``data``: the test's input data is missing, corrupt or inconsistent.

Decode errors of the standard formats, integrity errors while seeding, a
missing file of the test tree, and a value that could not be parsed when it
came from the suite's data: the failing code was reading a data file (see
``datainputs``), or the value the conversion choked on is written in one. The
project's own parser failing on a well-formed file, or on no file at all, is
the parser's fault and is left to the product rules.
"""

from __future__ import annotations

from pytest_orchestra.triage.failure import TEST_KINDS
from pytest_orchestra.triage.rules.environment import missing_file
from pytest_orchestra.triage.rules.facts import Facts, because, rx
from pytest_orchestra.triage.rules.rule import Rule
from pytest_orchestra.triage.rules.vocabulary import (
    CONVERSION,
    DECODE_WORDS,
    QUOTED_VALUE,
    REJECTED_VALUE,
)

DECODE_ERRORS = (
    "JSONDecodeError", "YAMLError", "_csv.Error", "csv.Error", "xml.etree.ElementTree.ParseError",
    "ExpatError", "BadGzipFile", "BadZipFile", "BadZipfile", "UnpicklingError", "binascii.Error",
    "TOMLDecodeError", "UnicodeDecodeError", "zlib.error", "lzma.LZMAError", "tarfile.ReadError",
    "configparser.Error", "_pickle.UnpicklingError",
)
TRUNCATED_INPUT = rx(r"ran out of input|compressed file ended before|end-of-stream marker")
INTEGRITY = rx(
    r"(UNIQUE|FOREIGN KEY|NOT NULL|CHECK) constraint failed"
    r"|violates (unique|foreign key|not-null|check) constraint|duplicate key value"
)
PARSE_TYPES = ("ValueError", "InvalidOperation", "TypeError", "LookupError")
#: A value of the wrong type met by the product (never None: that is a returned nothing, not data).
TYPE_MISMATCH = rx(r"not supported between instances of '(str|int|float|bytes)' and '(str|int|float|bytes)'"
                   r"|unsupported operand type\(s\) for .*: '(str|int|float|bytes)' and '(str|int|float|bytes)'"
                   r"|must be (str|int|real number|bytes), not (str|int|float|bytes)\b")
ARCHIVE_SUFFIXES = (".zip", ".egg", ".whl", ".jar")


def _decode_error(facts: Facts) -> bool:
    evidence = facts.matching(*DECODE_ERRORS)
    if evidence is None:
        if facts.chain_is_a("EOFError") and facts.says(TRUNCATED_INPUT):
            return True
        # Binary layouts (struct) fail the same way on a corrupt file and on a wrong format string:
        # only with a data file of the test tree as the input is it the data's.
        return facts.chain_is_a("struct.error") and bool(facts.data_inputs)
    if facts.defined_by_project(evidence) and facts.raised_in("product") and not _reference_parser_failed(facts):
        # The project's own parser failed: the data is at fault only if it really is malformed.
        return _malformed_input(facts)
    return True


def _reference_parser_failed(facts: Facts) -> bool:
    """A decode error of the chain was raised inside the stdlib's or a library's parser (json, csv...):
    the project only wrapped it, so the input itself is malformed."""
    return any(
        evidence.is_a(*DECODE_ERRORS) and evidence.frames and evidence.frames[-1].kind in ("stdlib", "site-packages")
        for evidence in facts.evidences
    )


def _malformed_input(facts: Facts) -> bool:
    """The failing code read a data file that its format's reference reader rejects too."""
    inputs = facts.data_inputs
    if not inputs:
        return False
    if facts.project is None:
        return True
    verdicts = [facts.project.well_formed(path) for path in inputs]
    return not all(verdict is True for verdict in verdicts)


def _malformed_data_input(facts: Facts) -> bool:
    """Whatever the exception, the failing code was reading a data file of the test tree that the
    reference reader of its format rejects (a duplicate key, a truncated document...)."""
    if facts.primary is None or facts.is_assertion() or facts.project is None:
        return False
    return any(facts.project.well_formed(path) is False for path in facts.data_inputs)


def _integrity(facts: Facts) -> bool:
    return facts.chain_is_a("IntegrityError") or (
        facts.chain_is_a("DatabaseError", "Error") and facts.says(INTEGRITY)
    )


def _missing_data_file(facts: Facts) -> bool:
    """A file of the test tree is missing: by errno, or as any exception (a loader's, a CLI's) says it."""
    path = missing_file(facts)
    if path is not None:
        return facts.in_test_tree(path)
    return any(facts.in_test_tree(p) for p in facts.missing_paths)


def _raised_in_test_data(facts: Facts) -> bool:
    """The failing frame is a data file of the test tree that the code executes (a template)."""
    culprit = facts.culprit
    return (culprit is not None and not culprit.path.endswith(".py") and not culprit.path.startswith("<")
            and facts.in_test_tree(culprit.path))


def _corrupt_archive(facts: Facts) -> bool:
    """An import failed while an archive of the test tree on the import path is malformed."""
    if not facts.chain_is_a("ImportError") or facts.project is None:
        return False
    archives = [p for p in facts.data_inputs if p.lower().endswith(ARCHIVE_SUFFIXES)]
    return any(facts.project.well_formed(path) is False for path in archives)


def _is_parse_failure(facts: Facts) -> bool:
    """An exception that says a value or an input could not be parsed or converted."""
    if facts.primary is None or facts.is_assertion():
        return False
    if facts.words & DECODE_WORDS or facts.chain_is_a("InvalidOperation"):
        return True
    # Whatever class a library raises it with, a conversion or rejection phrase says what happened;
    # so does a type mismatch the product met (a number read as text).
    return (facts.message_says(CONVERSION) or facts.message_says(REJECTED_VALUE)
            or (facts.raised_in("product") and facts.message_says(TYPE_MISMATCH)))


def _value_from_data(facts: Facts) -> bool:
    """A parse or conversion failure on input that came from the suite's data files."""
    if not _is_parse_failure(facts):
        return False
    if facts.data_inputs:
        if _own_parser_on_well_formed_files(facts):
            return False
        # A value of a well-formed file is still the data's: the file's format is fine, its value is not.
        return True
    return bool(_offending_value_in_data(facts))


def _own_parser_on_well_formed_files(facts: Facts) -> bool:
    """The project's own parse error, while every file it read is well-formed by its format's reference reader."""
    primary = facts.primary
    if primary is None or facts.project is None or not (facts.words & DECODE_WORDS):
        return False
    if not (facts.defined_by_project(primary) and facts.raised_in("product")):
        return False
    return all(facts.project.well_formed(path) is True for path in facts.data_inputs)


def _offending_value_in_data(facts: Facts) -> list[str]:
    if facts.project is None:
        return []
    for evidence in facts.evidences:
        found = QUOTED_VALUE.search(evidence.message)
        if found and len(found.group(1).strip()) >= 2:
            return facts.project.data_files_with(found.group(1))
    return []


def _unparsable_value(facts: Facts) -> bool:
    if not (facts.is_a("ValueError", "InvalidOperation") and (
        facts.is_a("InvalidOperation") or bool(CONVERSION.search(facts.message_line()))
    )):
        return False
    return facts.raised_in(*TEST_KINDS) or any(f.kind == "data" for f in facts.frames)


def _explain_value(facts: Facts) -> str:
    files = list(facts.data_inputs) or _offending_value_in_data(facts)
    where = f" (from {', '.join(files[:3])})" if files else ""
    return f"a value of the test data could not be parsed{where}: {facts.headline()} raised {facts.where()}"


#: Tried before the environment rules: the same ModuleNotFoundError would say "not installed".
CORRUPT_ARCHIVE_RULE = Rule("corrupt-archive", "data", 0.8, _corrupt_archive,
                            because("an archive of the test tree on the import path is corrupt"))

DATA_RULES: tuple[Rule, ...] = (
    Rule("decode-error", "data", 0.9, _decode_error,
         because("input data could not be decoded")),
    Rule("integrity-error", "data", 0.85, _integrity,
         because("seeding data violated a database constraint")),
    Rule("missing-data-file", "data", 0.85, _missing_data_file,
         because("a file of the test data folders is missing")),
    Rule("raised-in-test-data", "data", 0.8, _raised_in_test_data,
         because("a data file of the test tree that the code executes (a template) is wrong")),
    Rule("value-from-data-file", "data", 0.8, _value_from_data, _explain_value),
    Rule("malformed-data-input", "data", 0.8, _malformed_data_input,
         because("the failing code was reading a data file that its format's reference reader rejects")),
    Rule("unparsable-value", "data", 0.75, _unparsable_value,
         because("a value read from test data could not be parsed")),
)
