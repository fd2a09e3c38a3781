"""Built-in rules on constructed failures: each case names the rule that must decide it."""

from __future__ import annotations

import concurrent.futures
import csv
import json
import pickle
import queue
import sqlite3
import subprocess
import urllib.error
import xml.etree.ElementTree as ET
import zipfile

import pytest

from pytest_orchestra.triage.failure import Failure, FailureEvidence, Frame
from pytest_orchestra.triage.rules import BUILTIN_RULES, Facts, first_match, rule_names


def qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def evidence(kind: type | str, message: str = "", frames=(), chain=(), mro=None) -> FailureEvidence:
    if isinstance(kind, type):
        name, names = qualified(kind), tuple(qualified(k) for k in kind.__mro__)
    else:
        name, names = kind, tuple(mro or (kind,))
    return FailureEvidence(name, names, message, tuple(frames), tuple(chain))


TEST = Frame("tests/test_shop.py", 10, "test_it", "test")
CONFTEST = Frame("conftest.py", 5, "db", "conftest")
PRODUCT = Frame("shop/client.py", 41, "get", "product")
DATA_CODE = Frame("tests/data/loader.py", 3, "load", "data")
OS_GETITEM = Frame("<frozen os>", 679, "__getitem__", "stdlib")
SUBPROCESS = Frame("/usr/lib/python3.11/subprocess.py", 1901, "_execute_child", "stdlib")
SOCKET = Frame("/usr/lib/python3.11/socket.py", 705, "readinto", "stdlib")
ASYNCIO = Frame("/usr/lib/python3.11/asyncio/tasks.py", 490, "wait_for", "stdlib")


def failure(ev: FailureEvidence | None, phase: str = "call", longrepr: str = "", nodeid: str = "tests/test_shop.py::test_it") -> Failure:
    return Failure(nodeid=nodeid, phase=phase, outcome="failed" if phase == "call" else "error",
                   evidence=ev, longrepr=longrepr)


def decide(f: Failure) -> tuple[str, str] | None:
    found = first_match(Facts(f), BUILTIN_RULES)
    return (found[0].category, found[0].name) if found else None


YAML_MRO = ("yaml.scanner.ScannerError", "yaml.error.MarkedYAMLError", "yaml.error.YAMLError", "builtins.Exception")
PG_MRO = ("psycopg.errors.UniqueViolation", "psycopg.IntegrityError", "psycopg.DatabaseError", "builtins.Exception")
FAILED_MRO = ("_pytest.outcomes.Failed", "_pytest.outcomes.OutcomeException", "builtins.BaseException")

CASES = [
    # infrastructure
    ("refused", failure(evidence(ConnectionRefusedError, "[Errno 111] Connection refused", [TEST, PRODUCT])), "infrastructure", "connection-refused"),
    ("refused-in-fixture-setup", failure(evidence(ConnectionRefusedError, "[Errno 111] Connection refused", [CONFTEST]), phase="setup"), "infrastructure", "connection-refused"),
    ("urlerror-wraps-refused", failure(evidence(urllib.error.URLError, "<urlopen error [Errno 111] Connection refused>", [TEST])), "infrastructure", "connection-refused"),
    ("reset", failure(evidence(ConnectionResetError, "[Errno 104] Connection reset by peer", [PRODUCT])), "infrastructure", "connection-reset"),
    ("broken-pipe", failure(evidence(BrokenPipeError, "[Errno 32] Broken pipe", [TEST])), "infrastructure", "connection-reset"),
    ("dns", failure(evidence("socket.gaierror", "[Errno -2] Name or service not known", mro=("socket.gaierror", "builtins.OSError"))), "infrastructure", "dns"),
    ("dns-in-urlerror", failure(evidence(urllib.error.URLError, "<urlopen error [Errno -3] Temporary failure in name resolution>")), "infrastructure", "dns"),
    ("unreachable", failure(evidence(OSError, "[Errno 101] Network is unreachable")), "infrastructure", "network-unreachable"),
    ("tls", failure(evidence("ssl.SSLError", "[SSL: WRONG_VERSION_NUMBER] wrong version number", mro=("ssl.SSLError", "builtins.OSError"))), "infrastructure", "tls"),
    ("http-503", failure(evidence(urllib.error.HTTPError, "HTTP Error 503: Service Unavailable", [PRODUCT])), "infrastructure", "http-5xx-from-dependency"),
    ("requests-502", failure(evidence("requests.exceptions.HTTPError", "502 Server Error: Bad Gateway for url", mro=("requests.exceptions.HTTPError", "requests.exceptions.RequestException", "builtins.OSError"))), "infrastructure", "http-5xx-from-dependency"),
    ("socket-read-timeout", failure(evidence(TimeoutError, "timed out", [TEST])), "infrastructure", "socket-timeout"),
    ("timeout-in-socket-module", failure(evidence(TimeoutError, "", [PRODUCT, SOCKET])), "infrastructure", "socket-timeout"),
    ("requests-read-timeout", failure(evidence("requests.exceptions.ReadTimeout", "HTTPConnectionPool: Read timed out.", mro=("requests.exceptions.ReadTimeout", "requests.exceptions.Timeout", "builtins.OSError"))), "infrastructure", "socket-timeout"),
    ("sqlite-locked", failure(evidence(sqlite3.OperationalError, "database is locked", [PRODUCT])), "infrastructure", "db-unavailable"),
    ("pg-down", failure(evidence("psycopg.OperationalError", "could not connect to server: Connection timed out", mro=("psycopg.OperationalError", "psycopg.DatabaseError", "builtins.Exception"))), "infrastructure", "db-unavailable"),
    ("disk-full", failure(evidence(OSError, "[Errno 28] No space left on device")), "infrastructure", "disk-full"),
    ("too-many-files", failure(evidence(OSError, "[Errno 24] Too many open files: 'x'")), "infrastructure", "too-many-files"),
    ("memory", failure(evidence(MemoryError, "", [TEST])), "infrastructure", "memory-error"),
    ("crash-text", failure(None, phase="crash", longrepr="worker 'gw0' crashed while running 'tests/test_a.py::test_x'"), "infrastructure", "worker-crashed"),
    # environment
    ("third-party-module", failure(evidence(ModuleNotFoundError, "No module named 'stripe'", [TEST])), "environment", "missing-module"),
    ("project-module", failure(evidence(ModuleNotFoundError, "No module named 'tests.helpers'", [TEST])), "test", "missing-project-module"),
    ("project-module-from-frames", failure(evidence(ModuleNotFoundError, "No module named 'shop.rules'", [TEST, PRODUCT])), "test", "missing-project-module"),
    ("cannot-import-from-third-party", failure(evidence(ImportError, "cannot import name 'Thing' from 'requests' (/x/site-packages/requests/__init__.py)", [TEST])), "environment", "wrong-package-version"),
    ("distribution", failure(evidence("importlib.metadata.PackageNotFoundError", "shop-plugin", mro=("importlib.metadata.PackageNotFoundError", "builtins.ModuleNotFoundError", "builtins.ImportError"))), "environment", "wrong-package-version"),
    ("shared-lib", failure(evidence(OSError, "libfoo.so.1: cannot open shared object file: No such file or directory")), "environment", "shared-library"),
    ("missing-executable", failure(evidence(FileNotFoundError, "[Errno 2] No such file or directory: 'wkhtmltopdf'", [PRODUCT, SUBPROCESS])), "environment", "missing-executable"),
    ("command-not-found", failure(evidence(RuntimeError, "convert: command not found", [PRODUCT])), "environment", "missing-executable"),
    ("exit-127", failure(evidence(subprocess.CalledProcessError, "Command 'pdftk' returned non-zero exit status 127.", [TEST])), "environment", "missing-executable"),
    ("env-var-keyerror", failure(evidence(KeyError, "'API_KEY'", [PRODUCT, OS_GETITEM])), "environment", "missing-env-var"),
    ("env-var-message", failure(evidence(RuntimeError, "environment variable SHOP_TOKEN is not set", [PRODUCT])), "environment", "missing-env-var"),
    ("config-outside-tests", failure(evidence(FileNotFoundError, "[Errno 2] No such file or directory: '/etc/shop/shop.ini'", [PRODUCT])), "environment", "missing-config-file"),
    ("locale", failure(evidence("locale.Error", "unsupported locale setting", mro=("locale.Error", "builtins.Exception"))), "environment", "locale"),
    ("timezone", failure(evidence("zoneinfo._common.ZoneInfoNotFoundError", "'No time zone found with key Mars/X'", mro=("zoneinfo._common.ZoneInfoNotFoundError", "builtins.KeyError"))), "environment", "locale"),
    # timeout
    ("pytest-timeout", failure(evidence("_pytest.outcomes.Failed", "Timeout (>0.5s) from pytest-timeout.", [TEST], mro=FAILED_MRO)), "timeout", "pytest-timeout"),
    ("pytest-timeout-text", failure(None, longrepr="E   Failed: Timeout >5.0s"), "timeout", "pytest-timeout"),
    ("timeout-while-connecting", failure(evidence("_pytest.outcomes.Failed", "Timeout >1.0s", [TEST, SOCKET], mro=FAILED_MRO)), "timeout", "pytest-timeout"),
    ("subprocess", failure(evidence(subprocess.TimeoutExpired, "Command '['sleep', '3']' timed out after 0.2 seconds", [TEST, SUBPROCESS])), "timeout", "subprocess-timeout"),
    ("futures", failure(evidence(concurrent.futures.TimeoutError, "", [TEST])), "timeout", "wait-timeout"),
    ("asyncio", failure(evidence(TimeoutError, "", [TEST, ASYNCIO])), "timeout", "wait-timeout"),
    ("multiprocessing", failure(evidence("multiprocessing.context.TimeoutError", "", mro=("multiprocessing.context.TimeoutError", "multiprocessing.context.ProcessError", "builtins.Exception"))), "timeout", "wait-timeout"),
    ("poll-helper", failure(evidence(TimeoutError, "condition not met within 2s", [TEST, PRODUCT])), "timeout", "wait-timeout"),
    ("queue-empty", failure(evidence(queue.Empty, "", [TEST])), "timeout", "queue-empty"),
    ("deadline-assertion", failure(evidence(AssertionError, "timed out waiting for the order\nassert False", [TEST])), "timeout", "deadline-helper"),
    # data
    ("json", failure(evidence(json.JSONDecodeError, "Expecting value: line 1 column 1 (char 0)", [TEST])), "data", "decode-error"),
    ("yaml", failure(evidence("yaml.scanner.ScannerError", "mapping values are not allowed here", mro=YAML_MRO)), "data", "decode-error"),
    ("csv", failure(evidence(csv.Error, "',' expected after '\"'")), "data", "decode-error"),
    ("xml-before-syntax", failure(evidence(ET.ParseError, "mismatched tag: line 1, column 3", [TEST])), "data", "decode-error"),
    ("zip", failure(evidence(zipfile.BadZipFile, "File is not a zip file", [PRODUCT])), "data", "decode-error"),
    ("pickle", failure(evidence(pickle.UnpicklingError, "invalid load key, 'n'.")), "data", "decode-error"),
    ("pickle-eof", failure(evidence(EOFError, "Ran out of input", [TEST])), "data", "decode-error"),
    ("wrapped-decode", failure(evidence(ValueError, "bad config", [PRODUCT], chain=[evidence(json.JSONDecodeError, "Expecting value")])), "data", "decode-error"),
    ("sqlite-integrity", failure(evidence(sqlite3.IntegrityError, "UNIQUE constraint failed: users.email", [CONFTEST]), phase="setup"), "data", "integrity-error"),
    ("pg-integrity", failure(evidence("psycopg.errors.UniqueViolation", "duplicate key value violates unique constraint", mro=PG_MRO)), "data", "integrity-error"),
    ("missing-data-file", failure(evidence(FileNotFoundError, "[Errno 2] No such file or directory: 'tests/data/orders.json'", [TEST])), "data", "missing-data-file"),
    ("value-in-test", failure(evidence(ValueError, "invalid literal for int() with base 10: 'twelve'", [TEST])), "data", "unparsable-value"),
    ("value-in-data-helper", failure(evidence(ValueError, "could not convert string to float: '1kg'", [DATA_CODE])), "data", "unparsable-value"),
    # test
    ("fixture-not-found", failure(evidence("_pytest.fixtures.FixtureLookupError", "", mro=("_pytest.fixtures.FixtureLookupError", "builtins.LookupError")), phase="setup"), "test", "fixture-not-found"),
    ("fixture-not-found-text", failure(None, phase="setup", longrepr="E       fixture 'cart' not found"), "test", "fixture-not-found"),
    ("scope-mismatch", failure(evidence("_pytest.outcomes.Failed", "ScopeMismatch: You tried to access the function scoped fixture tmp_path", mro=FAILED_MRO), phase="setup"), "test", "scope-mismatch"),
    ("bad-parametrize", failure(evidence("_pytest.outcomes.Failed", "In test_x: function uses no argument 'y'", mro=FAILED_MRO), phase="collect"), "test", "bad-parametrize"),
    ("syntax-in-test", failure(evidence(SyntaxError, "invalid syntax", [Frame("tests/test_a.py", 3, "<module>", "test")]), phase="collect"), "test", "syntax-error-in-test"),
    ("syntax-no-frames", failure(evidence(SyntaxError, "invalid syntax"), phase="collect"), "test", "syntax-error-in-test"),
    ("syntax-in-product", failure(evidence(SyntaxError, "expected ':'", [TEST, Frame("shop/x.py", 3, "<module>", "product")])), "product", "syntax-error-in-product"),
    ("name-error", failure(evidence(NameError, "name 'itmes' is not defined", [TEST])), "test", "name-error-in-test"),
    ("name-error-conftest", failure(evidence(NameError, "name 'x' is not defined", [CONFTEST]), phase="setup"), "test", "name-error-in-test"),
    ("attribute-typo", failure(evidence(AttributeError, "'Cart' object has no attribute 'totl'", [TEST])), "test", "attribute-error-in-test"),
    ("call-signature", failure(evidence(TypeError, "total() got an unexpected keyword argument 'discount'", [TEST])), "test", "call-signature-in-test"),
    ("collect-error", failure(evidence(ValueError, "bad", [Frame("tests/test_a.py", 1, "<module>", "test")]), phase="collect"), "test", "collection-error"),
    ("collect-no-evidence", failure(None, phase="collect", longrepr="something odd"), "test", "collection-error"),
    ("fixture-teardown", failure(evidence(KeyError, "'closed'", [CONFTEST]), phase="teardown"), "test", "fixture-error"),
    # product
    ("did-not-raise", failure(evidence("_pytest.outcomes.Failed", "DID NOT RAISE <class 'ValueError'>", [TEST], mro=FAILED_MRO)), "product", "did-not-raise"),
    ("did-not-raise-text", failure(None, longrepr="E   Failed: DID NOT RAISE <class 'ValueError'>"), "product", "did-not-raise"),
    ("assertion", failure(evidence(AssertionError, "assert 3 == 6", [TEST])), "product", "assertion-failed"),
    ("assert-mentions-timeout-value", failure(evidence(AssertionError, "assert 10 == 30\n where 10 = cfg.timeout", [TEST])), "product", "assertion-failed"),
    ("raised-in-product", failure(evidence(ZeroDivisionError, "division by zero", [TEST, PRODUCT])), "product", "raised-in-product"),
    ("product-name-error", failure(evidence(NameError, "name 'x' is not defined", [TEST, PRODUCT])), "product", "raised-in-product"),
    ("integrity-from-product-stays-data", failure(evidence(sqlite3.IntegrityError, "NOT NULL constraint failed: t.x", [TEST, PRODUCT])), "data", "integrity-error"),
    ("none-attribute", failure(evidence(AttributeError, "'NoneType' object has no attribute 'name'", [TEST])), "product", "none-attribute-in-test"),
    ("explicit-fail", failure(evidence("_pytest.outcomes.Failed", "price was 3, expected 8", [TEST], mro=FAILED_MRO)), "product", "explicit-fail"),
    ("assertion-in-setup", failure(evidence(AssertionError, "assert False", [Frame("/x/site-packages/lib.py", 1, "f", "site-packages")]), phase="setup"), "product", "assertion-outside-call"),
    ("keyerror-on-output", failure(evidence(KeyError, "'total'", [TEST])), "product", "raised-in-test"),
    # dependency
    ("dependency-text", failure(None, phase="setup", longrepr="skipped: depends on tests/test_a.py::test_login which failed"), "dependency", "dependency-failed"),
]


def own(name: str, message: str = "", frames=(PRODUCT,), bases=("builtins.Exception",), **kw) -> Failure:
    """A failure raised by an exception class the product defines (``shop.errors.<name>``)."""
    ev = evidence(f"shop.errors.{name}", message, frames, mro=(f"shop.errors.{name}", *bases))
    return failure(ev, **kw)


# What an exception says, wherever it was raised: the product's own exception classes and messages.
SAYS_CASES = [
    ("deadline-class", own("DeadlineExceeded", "checkout took 31s"), "timeout", "timeout-named"),
    ("lock-timeout-class", own("LockTimeout", "stock lock"), "timeout", "timeout-named"),
    ("lock-not-acquired-message", own("StockError", "lock not acquired in time for sku-1"), "timeout", "timeout-named"),
    ("timed-out-message", own("JobError", "job 7 timed out after 30 seconds"), "timeout", "timeout-named"),
    ("within-message", failure(evidence(RuntimeError, "export not finished within 5s", [PRODUCT])), "timeout", "deadline-helper"),
    ("upstream-503-message", own("PaymentError", "upstream returned 503"), "infrastructure", "upstream-failure-named"),
    ("bad-gateway-message", own("ApiError", "502 Bad Gateway from payments"), "infrastructure", "upstream-failure-named"),
    ("unavailable-class", own("UpstreamUnavailable", "payments"), "infrastructure", "upstream-failure-named"),
    ("gateway-class", own("BadGatewayError", ""), "infrastructure", "upstream-failure-named"),
    ("network-timeout-class", own("ClientTimeout", "upstream did not answer in 2s"), "infrastructure", "network-timeout-named"),
    ("version-class", own("IncompatibleVersionError", "schema 3"), "environment", "wrong-package-version"),
    ("version-message", own("SetupError", "requires redis>=7.0, found 6.2"), "environment", "wrong-package-version"),
    ("version-runtime", failure(evidence(RuntimeError, "postgres 14 or newer is required", [CONFTEST]), phase="setup"), "environment", "wrong-package-version"),
    ("tool-misconfigured-in-fixture", failure(evidence(subprocess.CalledProcessError, "Command '['pg_ctl', 'start']' returned non-zero exit status 1.", [CONFTEST, SUBPROCESS]), phase="setup"), "environment", "tool-failed-in-fixture"),
    ("which-none", failure(evidence(AssertionError, "assert None\n +  where None = <function which at 0x7f>('convert')", [TEST])), "environment", "missing-executable"),
    ("getenv-none", failure(evidence(AssertionError, "assert None\n +  where None = <function getenv at 0x1>('SHOP_URL')", [CONFTEST]), phase="setup"), "environment", "missing-env-var"),
    ("address-in-use", failure(evidence(OSError, "[Errno 98] Address already in use", [CONFTEST]), phase="setup"), "infrastructure", "address-in-use"),
    # The test's own mistakes: the innermost frame is the test's.
    ("operand-types", failure(evidence(TypeError, "unsupported operand type(s) for +: 'int' and 'str'", [TEST])), "test", "operand-type-in-test"),
    ("concatenate", failure(evidence(TypeError, 'can only concatenate str (not "int") to str', [TEST])), "test", "operand-type-in-test"),
    ("none-operand-is-the-product", failure(evidence(TypeError, "unsupported operand type(s) for +: 'NoneType' and 'int'", [TEST])), "product", "raised-in-test"),
    ("operand-inside-product", failure(evidence(TypeError, "unsupported operand type(s) for +: 'int' and 'str'", [TEST, PRODUCT])), "product", "raised-in-product"),
    ("unpacking", failure(evidence(ValueError, "not enough values to unpack (expected 3, got 2)", [TEST])), "test", "unpacking-in-test"),
    ("fixture-called-directly", failure(evidence("_pytest.outcomes.Failed", 'Fixture "cart" called directly. Fixtures are not meant to be called directly,', [TEST], mro=FAILED_MRO)), "test", "pytest-usage"),
    ("approx-misuse", failure(evidence(TypeError, "cannot make approximate comparisons to non-numeric values: 'x'", [TEST])), "test", "pytest-usage"),
    ("keyword-given-twice", failure(evidence(TypeError, "fifo_cache() got multiple values for keyword argument 'typed'", [TEST])), "test", "call-signature-in-test"),
    ("env-var-as-key", failure(evidence(KeyError, "'SHOP_SITE_THEME'", [Frame("tests/test_a.py", 9, "setUp", "test", "theme = env['SHOP_SITE_THEME']")]), phase="setup"), "environment", "missing-env-var"),
    ("assertion-says-bad-gateway", failure(evidence(AssertionError, "502 Bad Gateway: upstream unavailable\nassert 502 == 200", [TEST])), "infrastructure", "upstream-failure-named"),
    ("tls-file-missing", failure(evidence("ssl.SSLError", "[Errno 2] No such file or directory", [PRODUCT], mro=("ssl.SSLError", "builtins.OSError"))), "environment", "tls-file-missing"),
    ("subprocess-timeout-with-http-in-its-command", failure(evidence(subprocess.TimeoutExpired, "Command '['python', '-c', 'HTTPResponse(status=429)']' timed out after 5 seconds", [TEST, SUBPROCESS])), "timeout", "subprocess-timeout"),
    ("version-need-found", failure(evidence(AssertionError, "needs simplejson>=4 (for_json hooks), found 3.19.3\nassert (3, 19) >= (4,)", [TEST])), "environment", "wrong-package-version"),
    # Whose parser: the project's own raising on no data file is the product's.
    ("own-parser-no-data", own("ParseError", "unexpected token at line 1", bases=("shop.errors.ShopError", "builtins.ValueError")), "product", "raised-in-product"),
]

@pytest.mark.parametrize("f, category, rule", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_builtin_rule_decides(f, category, rule):
    assert decide(f) == (category, rule)


@pytest.mark.parametrize("f, category, rule", [c[1:] for c in SAYS_CASES], ids=[c[0] for c in SAYS_CASES])
def test_what_an_exception_says_decides_wherever_it_was_raised(f, category, rule):
    assert decide(f) == (category, rule)


def test_an_assertion_that_mentions_a_timeout_value_is_still_the_products():
    f = failure(evidence(AssertionError, "assert 10 == 30\n where 10 = cfg.timeout_seconds", [TEST]))
    assert decide(f) == ("product", "assertion-failed")


def test_a_validation_message_about_a_timeout_setting_is_not_a_timeout():
    f = own("ConfigError", "timeout value must be positive")
    assert decide(f)[0] == "product"


def test_nothing_matches_a_failure_without_evidence_or_text():
    assert decide(failure(None, phase="call", longrepr="")) is None


def test_a_message_alone_never_says_flaky():
    f = failure(evidence(AssertionError, "flaky: intermittent failure, passed on retry", [TEST]))
    assert decide(f)[0] != "flaky"


def test_refused_text_in_an_assertion_is_not_infrastructure():
    f = failure(evidence(AssertionError, "assert 'connection refused' not in log", [TEST]))
    assert decide(f) == ("product", "assertion-failed")


def test_rule_names_are_unique_and_explanations_name_the_place():
    names = rule_names()
    assert len(names) == len(set(names))
    found = first_match(Facts(CASES[0][1]), BUILTIN_RULES)
    assert found is not None
    assert found[1] == (
        "a service refused the connection: ConnectionRefusedError: [Errno 111] Connection refused"
        " raised in shop/client.py:41 (get)"
    )


def test_headline_falls_back_to_text_and_phase():
    assert Facts(failure(None, longrepr="\n  first line  \nsecond")).headline() == "first line"
    assert Facts(failure(None, phase="setup", longrepr="")).headline() == "error in setup"
    assert Facts(failure(evidence(MemoryError, ""))).headline() == "MemoryError"
    assert Facts(failure(None)).where() == "in tests/test_shop.py"


@pytest.mark.parametrize(
    "missing",
    ["json.nothing_here", "yaml.nothing_here", "sys.nothing_here", "no_such_parent_pkg_xyz.sub"],
)
def test_missing_submodule_of_an_installed_or_absent_package_is_environment(missing):
    f = failure(evidence(ModuleNotFoundError, f"No module named '{missing}'", [TEST]), nodeid="t.py::x")
    assert decide(f) == ("environment", "missing-module")


@pytest.mark.parametrize("with_init", [True, False], ids=["package", "namespace"])
def test_missing_submodule_of_a_project_package_is_test(tmp_path, monkeypatch, with_init):
    package = tmp_path / "corp_pkg_for_triage"
    package.mkdir()
    if with_init:
        (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    f = failure(evidence(ModuleNotFoundError, "No module named 'corp_pkg_for_triage.rules'", [TEST]),
                nodeid="t.py::x")
    assert decide(f) == ("test", "missing-project-module")


def test_import_system_errors_mean_not_a_project_package(monkeypatch):
    import importlib.util

    def broken(name):
        raise ImportError(name)

    monkeypatch.setattr(importlib.util, "find_spec", broken)
    f = failure(evidence(ModuleNotFoundError, "No module named 'anything.sub'", [TEST]), nodeid="t.py::x")
    assert decide(f) == ("environment", "missing-module")


def test_src_layout_packages_count_as_project_modules():
    frames = [TEST, Frame("src/shopx/client.py", 3, "get", "product")]
    f = failure(evidence(ModuleNotFoundError, "No module named 'shopx.gone'", frames), nodeid="t.py::x")
    assert decide(f) == ("test", "missing-project-module")


def test_importing_a_name_the_project_no_longer_has_is_the_tests_mistake(tmp_path):
    from pytest_orchestra.triage.rules.project import ProjectIndex

    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    f = failure(evidence(ImportError, "cannot import name 'legacy_total' from 'shop.cart' (/x/shop/cart.py)",
                         [TEST]), phase="collect")
    found = first_match(Facts(f, ProjectIndex(tmp_path)), BUILTIN_RULES)
    assert (found[0].category, found[0].name) == ("test", "cannot-import-project-name")
    # A library's missing name is the machine's: the wrong version is installed.
    lib = failure(evidence(ImportError, "cannot import name 'Thing' from 'requests'", [TEST]), phase="collect")
    assert first_match(Facts(lib, ProjectIndex(tmp_path)), BUILTIN_RULES)[0].category == "environment"
