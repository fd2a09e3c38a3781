"""Evidence from real raised exceptions, from pytest's failure text, and from reports."""

from __future__ import annotations

import importlib
import json
import sys
import sysconfig
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_orchestra.triage.exception_evidence import evidence_from_exception, evidence_from_excinfo
from pytest_orchestra.triage.failure import Failure, FailureEvidence, Frame
from pytest_orchestra.triage.frames import frame_kind, project_kind
from pytest_orchestra.triage.report_failure import failure_from_report
from pytest_orchestra.triage.traceback_text import evidence_from_longrepr


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A tiny project: a product module that raises, a test module that calls it."""
    root = tmp_path / "proj"
    (root / "shopx").mkdir(parents=True)
    (root / "tests" / "data").mkdir(parents=True)
    (root / "shopx" / "__init__.py").write_text("")
    (root / "shopx" / "client.py").write_text(
        "def get(port):\n"
        "    try:\n"
        "        raise ConnectionRefusedError(111, 'Connection refused')\n"
        "    except OSError as error:\n"
        "        raise RuntimeError(f'cannot reach port {port}') from error\n"
    )
    (root / "tests" / "test_client.py").write_text(
        "from shopx.client import get\n\ndef test_get():\n    get(5432)\n"
    )
    (root / "shopx" / "broken.py").write_text("def f(:\n    pass\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.syspath_prepend(str(root / "tests"))
    yield root
    for name in ("shopx", "shopx.client", "shopx.broken", "test_client"):
        sys.modules.pop(name, None)


def raised(call):
    try:
        call()
    except BaseException as error:  # noqa: B902 - any exception is evidence
        return error
    raise AssertionError("did not raise")


def test_evidence_from_a_real_exception_and_its_cause(project):
    module = importlib.import_module("test_client")
    error = raised(module.test_get)
    evidence = evidence_from_exception(error, rootdir=project)
    assert evidence.exception_type == "builtins.RuntimeError"
    assert evidence.message == "cannot reach port 5432"
    assert [(f.path, f.function, f.kind) for f in evidence.frames][-2:] == [
        ("tests/test_client.py", "test_get", "test"),
        ("shopx/client.py", "get", "product"),
    ]
    assert evidence.frames[-1].lineno == 5
    (cause,) = evidence.chain
    assert cause.exception_type == "builtins.ConnectionRefusedError"
    assert "builtins.OSError" in cause.exception_mro
    assert cause.is_a("OSError") and cause.is_a("builtins.ConnectionError") and not cause.is_a("shop.OSError")
    assert [ev.short_type for ev in evidence.all_evidence()] == ["RuntimeError", "ConnectionRefusedError"]


def test_suppressed_context_is_not_followed(tmp_path):
    def fail():
        try:
            {}["x"]
        except KeyError:
            raise ValueError("clean") from None

    assert evidence_from_exception(raised(fail), rootdir=tmp_path).chain == ()


def test_context_is_followed_and_cycles_stop(tmp_path):
    def fail():
        try:
            {}["x"]
        except KeyError:
            raise ValueError("while handling")  # noqa: B904 -- the implicit context is the case

    error = raised(fail)
    assert evidence_from_exception(error, rootdir=tmp_path).chain[0].exception_type == "builtins.KeyError"
    error.__context__.__context__ = error  # a cycle
    assert len(evidence_from_exception(error, rootdir=tmp_path).all_evidence()) == 2


def test_syntax_error_location_becomes_the_innermost_frame(project):
    error = raised(lambda: importlib.import_module("shopx.broken"))
    evidence = evidence_from_exception(error, rootdir=project)
    assert evidence.exception_type == "builtins.SyntaxError"
    assert evidence.frames[-1] == Frame("shopx/broken.py", 1, "<module>", "product")


def test_a_test_module_that_failed_to_import_is_read_through_pytests_collect_error(project):
    # pytest raises Collector.CollectError(<text>) from the import's error; its own frames are pytest's.
    from _pytest.nodes import Collector

    def collect():
        try:
            importlib.import_module("shopx.broken")
        except SyntaxError as error:
            raise Collector.CollectError("ImportError while importing test module") from error

    with pytest.raises(Collector.CollectError) as excinfo:
        collect()
    evidence = evidence_from_excinfo(excinfo, rootdir=project)

    assert evidence.exception_type == "builtins.SyntaxError"
    assert evidence.frames[-1] == Frame("shopx/broken.py", 1, "<module>", "product")


def test_long_messages_are_capped(tmp_path):
    evidence = evidence_from_exception(raised(lambda: (_ for _ in ()).throw(ValueError("x" * 5000))), rootdir=tmp_path)
    assert len(evidence.message) == 2000 and evidence.message.endswith("[truncated]")


def test_unprintable_exception(tmp_path):
    class Odd(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert evidence_from_exception(Odd(), rootdir=tmp_path).message == "<unprintable Odd>"


def test_evidence_from_excinfo_drops_pytest_frames(project):
    module = importlib.import_module("test_client")
    with pytest.raises(RuntimeError) as excinfo:
        module.test_get()
    evidence = evidence_from_excinfo(excinfo, rootdir=project)
    assert evidence.frames[-1].path == "shopx/client.py"
    assert not any("_pytest" in f.path or "pluggy" in f.path for f in evidence.frames)
    assert evidence.chain[0].short_type == "ConnectionRefusedError"


def test_to_dict_is_json_and_round_trips(project):
    module = importlib.import_module("test_client")
    evidence = evidence_from_exception(raised(module.test_get), rootdir=project)
    data = json.loads(json.dumps(evidence.to_dict()))
    assert FailureEvidence.from_dict(data) == evidence


STDLIB = sysconfig.get_paths()["stdlib"]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("{root}/conftest.py", ("conftest", "conftest.py")),
        ("{root}/tests/api/conftest.py", ("conftest", "tests/api/conftest.py")),
        ("{root}/tests/test_a.py", ("test", "tests/test_a.py")),
        ("{root}/pkg/orders_test.py", ("test", "pkg/orders_test.py")),
        ("{root}/tests/data/loader.py", ("data", "tests/data/loader.py")),
        ("{root}/tests/unit/fixtures/make.py", ("data", "tests/unit/fixtures/make.py")),
        ("{root}/tests/helpers.py", ("test", "tests/helpers.py")),
        ("{root}/shop/data/models.py", ("product", "shop/data/models.py")),
        ("{root}/shop/client.py", ("product", "shop/client.py")),
        ("shop/relative.py", ("product", "shop/relative.py")),
        ("{root}/.venv/lib/python3.11/site-packages/requests/api.py", ("site-packages", "{root}/.venv/lib/python3.11/site-packages/requests/api.py")),
        (STDLIB + "/json/decoder.py", ("stdlib", STDLIB + "/json/decoder.py")),
        ("<frozen os>", ("stdlib", "<frozen os>")),
        ("/opt/elsewhere/lib.py", ("site-packages", "/opt/elsewhere/lib.py")),
    ],
)
def test_frame_kind(tmp_path, path, expected):
    root = tmp_path.resolve()
    kind, shown = frame_kind(path.format(root=root), root)
    assert (kind, shown) == (expected[0], expected[1].format(root=root))


def test_project_kind_honours_test_file_patterns():
    assert project_kind("checks/check_orders.py", ("check_*.py",)) == "test"
    assert project_kind("checks/test_orders.py", ("check_*.py",)) == "product"


LONG_CHAINED = """\
    def get(port):
        try:
>           raise ConnectionRefusedError(111, 'Connection refused')
E           ConnectionRefusedError: [Errno 111] Connection refused

shop/client.py:3: ConnectionRefusedError

The above exception was the direct cause of the following exception:

    def test_get():
>       get(5432)

tests/test_client.py:4: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def get(port):
        try:
            raise ConnectionRefusedError(111, 'Connection refused')
        except OSError as error:
>           raise RuntimeError(f'cannot reach port {port}') from error
E           RuntimeError: cannot reach port 5432
E           second line

shop/client.py:5: RuntimeError
"""

COLLECTION = """\
ImportError while importing test module '/p/tests/test_x.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_x.py:3: in <module>
    import stripe_sdk
E   ModuleNotFoundError: No module named 'stripe_sdk'
"""

SYNTAX = """\
/venv/lib/python3.11/site-packages/_pytest/python.py:498: in importtestmodule
    mod = import_path(self.path)
E     File "/p/tests/test_s.py", line 3
E       def broken(:
E                  ^
E   SyntaxError: invalid syntax
"""

FIXTURE = """\
file /p/tests/test_f.py, line 4
  def test_uses(missing_thing):
E       fixture 'missing_thing' not found
>       available fixtures: cache, capsys
>       use 'pytest --fixtures [testpath]' for help on them.

/p/tests/test_f.py:4
"""

ASSERTION = """\
    def test_total():
>       assert total([2]) == 6
E       assert 2 == 6
E        +  where 2 = total([2])

tests/test_t.py:9: AssertionError
"""


def test_longrepr_chain_and_frames():
    evidence = evidence_from_longrepr(LONG_CHAINED, rootdir=Path("/p"))
    assert evidence.exception_type == "builtins.RuntimeError"
    assert evidence.message == "cannot reach port 5432\nsecond line"
    assert [(f.path, f.lineno, f.function, f.kind) for f in evidence.frames] == [
        ("tests/test_client.py", 4, "test_get", "test"),
        ("shop/client.py", 5, "get", "product"),
    ]
    (cause,) = evidence.chain
    assert cause.exception_type == "builtins.ConnectionRefusedError"
    assert "builtins.OSError" in cause.exception_mro


def test_longrepr_collection_error():
    evidence = evidence_from_longrepr(COLLECTION, rootdir=Path("/p"))
    assert evidence.exception_type == "builtins.ModuleNotFoundError"
    assert evidence.message == "No module named 'stripe_sdk'"
    assert evidence.frames[-1] == Frame("tests/test_x.py", 3, "<module>", "test", "import stripe_sdk")  # with its source line
    assert evidence.frames[0].kind == "stdlib" or evidence.frames[0].kind == "site-packages"


def test_longrepr_syntax_error_names_the_file():
    evidence = evidence_from_longrepr(SYNTAX, rootdir=Path("/p"))
    assert (evidence.short_type, evidence.message) == ("SyntaxError", "invalid syntax")
    assert evidence.frames[-1] == Frame("tests/test_s.py", 3, "<module>", "test")


def test_longrepr_fixture_not_found():
    evidence = evidence_from_longrepr(FIXTURE, rootdir=Path("/p"))
    assert evidence.exception_type == "_pytest.fixtures.FixtureLookupError"
    assert evidence.message == "fixture 'missing_thing' not found"


def test_longrepr_assertion_type_from_location_line():
    evidence = evidence_from_longrepr(ASSERTION, rootdir=Path("/p"))
    assert evidence.exception_type == "builtins.AssertionError"
    assert evidence.message.startswith("assert 2 == 6")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("E   Failed: Timeout >5.0s", "Failed"),
        ("E   Failed: DID NOT RAISE <class 'ValueError'>", "Failed"),
        ("E   json.decoder.JSONDecodeError: Expecting value", "json.decoder.JSONDecodeError"),
        ("E   acme.errors.Boom: no", "acme.errors.Boom"),
    ],
)
def test_longrepr_exception_names(text, expected):
    assert evidence_from_longrepr(text, rootdir=Path("/p")).exception_type == expected


def test_longrepr_known_module_gives_mro():
    evidence = evidence_from_longrepr("E   json.decoder.JSONDecodeError: x", rootdir=Path("/p"))
    assert "builtins.ValueError" in evidence.exception_mro


@pytest.mark.parametrize("text", ["", "E   note: not an exception", "E   Hint: neither", "worker 'gw0' crashed while running 'tests/test_a.py::t'", "just words"])
def test_longrepr_without_an_exception(text):
    assert evidence_from_longrepr(text, rootdir=Path("/p")) is None


def report(**fields):
    values = {"nodeid": "tests/test_a.py::test_x", "when": "call", "longrepr": ASSERTION, "sections": []}
    values.update(fields)
    return SimpleNamespace(**values)


def test_failure_from_report_uses_attached_evidence(project):
    module = importlib.import_module("test_client")
    evidence = evidence_from_exception(raised(module.test_get), rootdir=project)
    failure = failure_from_report(
        report(orchestra_evidence=evidence.to_dict(), sections=[
            ("Captured stdout call", "hello"), ("Captured log call", ""), ("other", "x")]),
        rootdir=project, markers=("critical",), app="shop", attempts=2, context={"dependency": "d"},
    )
    assert failure == Failure(
        nodeid="tests/test_a.py::test_x", phase="call", outcome="failed", evidence=evidence,
        longrepr=ASSERTION, captured="--- Captured stdout call ---\nhello", markers=("critical",),
        app="shop", attempts=2, passed_on_retry=False, context={"dependency": "d"},
    )


def test_failure_from_report_falls_back_to_longrepr():
    failure = failure_from_report(report(when="setup"), rootdir=Path("/p"))
    assert (failure.phase, failure.outcome) == ("setup", "error")
    assert failure.evidence.short_type == "AssertionError"


def test_failure_from_collect_report_and_crash():
    collect = SimpleNamespace(nodeid="", fspath="tests/test_x.py", longrepr=COLLECTION, sections=[])
    failure = failure_from_report(collect, rootdir=Path("/p"))
    assert (failure.nodeid, failure.phase, failure.outcome) == ("tests/test_x.py", "collect", "error")
    crash = failure_from_report(report(when="???", longrepr=None), rootdir=Path("/p"))
    assert (crash.phase, crash.evidence, crash.longrepr) == ("crash", None, "")


def test_failure_caps_text():
    failure = Failure("t::x", "call", "failed", None, "x" * 30000, captured="y" * 5000)
    assert len(failure.longrepr) == 20000 and len(failure.captured) == 4000


def test_real_pytest_reports_round_trip(pytester):
    """Reports from a real run: collection error text and a chained call failure."""
    pytester.makepyfile(
        test_chain="""
        def helper():
            try:
                {}["k"]
            except KeyError as error:
                raise ValueError("bad value") from error

        def test_chain():
            helper()
        """,
        test_broken="import not_installed_sdk_xyz\n",
    )
    result = pytester.inline_run("-p", "no:orchestra", "-p", "no:cacheprovider", "--continue-on-collection-errors")
    calls = [r for r in result.getreports("pytest_runtest_logreport") if r.failed]
    collects = [r for r in result.getreports("pytest_collectreport") if r.failed]
    chain = failure_from_report(calls[0], rootdir=pytester.path)
    assert chain.evidence.exception_type == "builtins.ValueError"
    assert chain.evidence.chain[0].exception_type == "builtins.KeyError"
    assert chain.evidence.frames[-1].function == "helper"
    broken = failure_from_report(collects[0], rootdir=pytester.path)
    assert broken.phase == "collect"
    assert broken.evidence.message == "No module named 'not_installed_sdk_xyz'"
