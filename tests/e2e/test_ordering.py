"""Cross-app ordering, dependency skipping and hand-off, end to end (serial and xdist)."""

from __future__ import annotations

import pytest

from tests.conftest import history_rows, latest_summary

WORKFLOW = """
apps:
  auth: {paths: ["test_auth.py"]}
  billing: {paths: ["test_billing.py"], depends_on: [auth]}
  reporting: {paths: ["test_reporting.py"], depends_on: [billing]}
"""

# Written in the "wrong" order on purpose: files sort reporting < billing < auth would be
# alphabetical for some, here collection is billing, reporting, auth.
CHAINS = {
    "test_billing": """
import os, pytest

@pytest.mark.requires("test_login")
def test_create_invoice(orchestra_handoff):
    assert orchestra_handoff.get("user") == "alice"
    orchestra_handoff.put("invoice", {"id": 42, "worker": os.environ.get("PYTEST_XDIST_WORKER", "-")})

@pytest.mark.requires("test_create_invoice")
def test_pay_invoice(orchestra_handoff):
    invoice = orchestra_handoff.get("invoice")
    assert invoice["id"] == 42
    assert invoice["worker"] == os.environ.get("PYTEST_XDIST_WORKER", "-")

@pytest.mark.requires("test_expired_login")
def test_refund():
    pass
""",
    "test_auth": """
import pytest

def test_login(orchestra_handoff):
    orchestra_handoff.put("user", "alice")

def test_expired_login():
    assert 1 == 2, "session expired"
""",
    "test_free": """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_independent(n):
    pass
""",
}


def _order(result: pytest.RunResult) -> list:
    return [line.split(" ")[0] for line in result.outlines if line.startswith("test_") and "::" in line
            and (" PASSED" in line or " FAILED" in line or " SKIPPED" in line)]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_requires_orders_hands_off_and_skips_dependents(pytester: pytest.Pytester, workers: list) -> None:
    pytester.makepyfile(**CHAINS)
    result = pytester.runpytest_subprocess("-rs", *workers)
    result.assert_outcomes(passed=9, failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] test_billing.py:14: requires test_auth.py::test_expired_login "
        "(requires('test_expired_login')), which failed"
    ])
    rows = {row["nodeid"]: row for row in history_rows(pytester.path)}
    assert rows["test_billing.py::test_refund"]["category"] == "dependency"
    assert rows["test_billing.py::test_pay_invoice"]["outcome"] == "passed"
    ordering = latest_summary(pytester.path)["ordering"]
    assert [e["nodeid"] for e in ordering["dependency_skipped"]] == ["test_billing.py::test_refund"]
    report = (pytester.path / ".orchestra/reports/latest/report.md").read_text()
    assert "### Ordering and sharding" in report and "test_billing.py::test_refund" in report


def test_serial_order_respects_constraints_and_keeps_the_rest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**CHAINS)
    result = pytester.runpytest("-v", "-p", "no:randomly")
    order = [line.split(" ")[0] for line in result.outlines if "::" in line and line.split(" ")[0].startswith("test_")]
    assert order.index("test_auth.py::test_login") < order.index("test_billing.py::test_create_invoice")
    assert order.index("test_billing.py::test_create_invoice") < order.index("test_billing.py::test_pay_invoice")
    free = [name for name in order if name.startswith("test_free.py")]
    assert free == [f"test_free.py::test_independent[{n}]" for n in range(6)]


def test_dependents_run_anyway_when_configured(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="ordering: {on_dependency_failure: run}\n")
    pytester.makepyfile(
        test_a="""
import pytest
def test_up():
    assert False
@pytest.mark.requires("test_up")
def test_down():
    assert False, "down broke too"
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    rows = {row["nodeid"]: row for row in history_rows(pytester.path)}
    assert rows["test_a.py::test_down"]["category"] == "dependency"
    assert rows["test_a.py::test_up"]["category"] == "product"


def test_app_dependencies_order_apps_and_skip_downstream_apps(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra=WORKFLOW)
    pytester.makepyfile(
        test_reporting="def test_monthly():\n    pass\n",
        test_billing="def test_charge():\n    pass\n",
        test_auth="def test_login():\n    pass\ndef test_mfa():\n    assert False, 'mfa down'\n",
    )
    result = pytester.runpytest("-v", "-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=2)
    order = [line.split(" ")[0] for line in result.outlines if line.startswith("test_") and "::" in line]
    assert order[:2] == ["test_auth.py::test_login", "test_auth.py::test_mfa"]
    result.stdout.fnmatch_lines([
        "SKIPPED * test_billing.py*: requires app auth (apps.billing.depends_on): test_auth.py::test_mfa failed",
        "SKIPPED * test_reporting.py*: requires app billing (apps.reporting.depends_on): "
        "test_billing.py::test_charge was skipped because its own dependency did not pass",
    ])


def test_deselected_requirement_is_pulled_back_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**CHAINS)
    result = pytester.runpytest("-k", "test_pay_invoice", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["orchestra: 2 deselected tests pulled back in: required by selected tests"])
    assert "test_auth.py::test_login PASSED" in result.stdout.str()


def test_deselected_requirement_skips_dependent_when_configured(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="ordering: {deselected_dependency: skip}\n")
    pytester.makepyfile(**CHAINS)
    result = pytester.runpytest("-k", "test_create_invoice", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*requires test_auth.py::test_login (requires('test_login')), which was deselected*"])


def test_handoff_names_the_failed_producer(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="ordering: {on_dependency_failure: run}\n")
    pytester.makepyfile(
        test_h="""
import pytest
def test_make(orchestra_handoff):
    assert False
@pytest.mark.requires("test_make")
def test_use(orchestra_handoff):
    orchestra_handoff.get("thing")
def test_loose(orchestra_handoff):
    assert orchestra_handoff.get("other", 7) == 7
    assert "other" not in orchestra_handoff
    orchestra_handoff.get("other")
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines([
        "*HandoffError: orchestra_handoff: no value for 'thing' in test_h.py::test_use: its producer test_h.py::test_make failed",
        "*HandoffError: orchestra_handoff: no value for 'other' in test_h.py::test_loose: no test put it before this one*",
    ])


@pytest.mark.parametrize(
    "source, message",
    [
        ("@pytest.mark.requires('test_missing')\ndef test_a():\n    pass\n",
         "ERROR: test_bad.py::test_a: @pytest.mark.requires('test_missing'): no test, alias or app matches 'test_missing'"),
        ("@pytest.mark.after('test_b')\ndef test_a():\n    pass\n@pytest.mark.after('test_a')\ndef test_b():\n    pass\n",
         "ERROR: ordering cycle: test_bad.py::test_a → test_bad.py::test_b [[]after('test_a')[]] → test_bad.py::test_a [[]after('test_b')[]]"),
        ("@pytest.mark.requires(3)\ndef test_a():\n    pass\n",
         "ERROR: test_bad.py::test_a: @pytest.mark.requires: expected names (strings), got 3"),
    ],
    ids=["unknown", "cycle", "not-a-name"],
)
def test_bad_constraints_are_usage_errors(pytester: pytest.Pytester, source: str, message: str) -> None:
    pytester.makepyfile(test_bad="import pytest\n" + source)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_workflow_app_cycle_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="apps:\n  a: {depends_on: [b]}\n  b: {depends_on: [a]}\n")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *orchestra.yaml: apps: dependency cycle: a → b → a"])


def test_constraints_hold_within_a_shuffled_order(pytester: pytest.Pytester) -> None:
    """Composes with shufflers like pytest-randomly: they reorder, the resolver repairs only what it must."""
    pytester.makeconftest(
        """
import random
def pytest_collection_modifyitems(items):
    random.Random(int(__import__('os').environ['SHUFFLE_SEED'])).shuffle(items)
"""
    )
    pytester.makepyfile(
        test_s="""
import pytest
@pytest.mark.requires("test_0")
def test_9():
    pass
""" + "".join(f"def test_{i}():\n    pass\n" for i in range(9))
    )
    orders = []
    for seed in ("1", "2", "3"):
        pytester._monkeypatch.setenv("SHUFFLE_SEED", seed)
        result = pytester.runpytest("-v", "-p", "no:cacheprovider")
        order = [line.split(" ")[0].split("::")[1] for line in result.outlines if line.startswith("test_s.py::")]
        assert order.index("test_0") < order.index("test_9")
        orders.append(order)
    assert len({tuple(o) for o in orders}) > 1  # the shuffle survived where no constraint applies


def test_other_dist_modes_are_kept_and_warned_about(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**CHAINS)
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadfile", "-rs")
    result.stdout.fnmatch_lines(["*orchestra: --dist loadfile does not keep dependency chains on one worker*"])
    # loadfile sends each file to its own worker: the billing chain's auth step ran elsewhere,
    # so its dependents are skipped, never run without their requirement.
    result.stdout.fnmatch_lines(["*requires test_auth.py::test_login (requires('test_login')), which did not run in this process"])
    result.assert_outcomes(passed=7, failed=1, skipped=3, warnings=2)


def test_a_chain_goes_on_after_its_worker_crashed(pytester: pytest.Pytester) -> None:
    """The crashing test is not run again; the rest of its chain runs on another worker and
    knows, from the controller's outcome file, that the requirement passed before the crash."""
    pytester.makepyfile(
        test_crash="""
import os, signal, time, pytest

def test_create_account():
    pass

@pytest.mark.after("test_create_account")
def test_crash_the_worker():
    # By now the other worker has finished its share: the replacement worker gets the
    # rest of this chain, one test, and must run it without waiting for a second.
    time.sleep(1)
    os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does

@pytest.mark.requires("test_create_account")
@pytest.mark.after("test_crash_the_worker")
def test_use_account():
    pass

@pytest.mark.parametrize("n", range(4))
def test_other(n):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-n", "2", "-rs", timeout=60)
    if result.ret == pytest.ExitCode.INTERNAL_ERROR and "BrokenPipeError" in str(result.stdout):
        # execnet's race when a worker dies while the controller writes to it (a machine
        # under load): the whole session aborts before any plugin sees it. Once more.
        result = pytester.runpytest_subprocess("-n", "2", "-rs", timeout=60)
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["*replacing crashed worker*"])
    rows = {row["nodeid"]: row["outcome"] for row in history_rows(pytester.path)}
    assert rows["test_crash.py::test_use_account"] == "passed"
    assert rows["test_crash.py::test_crash_the_worker"] in ("failed", "error")
