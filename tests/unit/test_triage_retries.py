"""Retries: the decision rule, and RetryRunner in real pytest runs (with and without xdist)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_orchestra.triage.classifier import Decision
from pytest_orchestra.triage.retries import should_retry
from pytest_orchestra.triage.specs import RetriesSpec


def decision(category: str) -> Decision:
    return Decision(category, 1.0, "test", "x")


@pytest.mark.parametrize(
    ("category", "attempt", "spec", "expected"),
    [
        ("infrastructure", 1, RetriesSpec(max=2), True),
        ("timeout", 2, RetriesSpec(max=2), True),
        ("infrastructure", 3, RetriesSpec(max=2), False),  # max extra attempts used up
        ("product", 1, RetriesSpec(max=2), False),  # not a retryable category by default
        ("test", 1, RetriesSpec(max=2), False),
        ("product", 1, RetriesSpec(max=1, categories=("all",)), True),
        ("product", 2, RetriesSpec(max=1, categories=("all",)), False),
        ("data", 1, RetriesSpec(max=1, categories=("data",)), True),
        ("infrastructure", 1, RetriesSpec(max=0), False),
    ],
)
def test_should_retry(category: str, attempt: int, spec: RetriesSpec, expected: bool) -> None:
    assert should_retry(decision(category), attempt, spec) is expected


@pytest.mark.parametrize(
    ("category", "ran_changed_code", "spec", "expected"),
    [
        ("product", False, RetriesSpec(max=1), True),  # a flake suspect: retried whatever its category
        ("product", True, RetriesSpec(max=1, categories=("all",)), False),  # ran changed code: not a flake
        ("test", True, RetriesSpec(max=1, categories=("all",)), False),
        ("infrastructure", True, RetriesSpec(max=1), True),  # the world, not the code: still worth a retry
        ("timeout", True, RetriesSpec(max=1, categories=("infrastructure",)), False),  # unless not listed
        ("product", None, RetriesSpec(max=1), False),  # unknown: the categories decide
        ("product", False, RetriesSpec(max=0), False),  # retries off
    ],
)
def test_should_retry_follows_deflakers_rule(category: str, ran_changed_code: Any, spec: RetriesSpec,
                                             expected: bool) -> None:
    assert should_retry(decision(category), 1, spec, ran_changed_code=ran_changed_code) is expected


CONFTEST = '''
import json
from pathlib import Path

import pytest

from pytest_orchestra.triage.classifier import Decision
from pytest_orchestra.triage.specs import RetriesSpec
from pytest_orchestra.triage.failure import Failure
from pytest_orchestra.triage.retries import RetryRunner

HERE = Path(__file__).parent
CONFIG = []


def classify(failure):
    if "BROKEN-CLASSIFIER" in failure.longrepr:
        raise RuntimeError("classifier bug")
    category = "product" if "PRODUCT" in failure.longrepr else "infrastructure"
    return Decision(category, 1.0, "stub", "x")


def failure_from_report(report, item):
    return Failure(nodeid=report.nodeid, phase=report.when, outcome="failed",
                   evidence=None, longrepr=str(report.longrepr))


def pytest_configure(config):
    CONFIG.append(config)
    config.pluginmanager.register(
        RetryRunner(RetriesSpec(max=2), classify, failure_from_report), "retry-runner")


def pytest_runtest_logreport(report):
    if hasattr(CONFIG[0], "workerinput"):
        return  # under xdist, log what the controller receives
    with open(HERE / "reports.jsonl", "a") as stream:
        stream.write(json.dumps({
            "nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
            "attempt": getattr(report, "orchestra_attempt", None),
            "attempts": getattr(report, "orchestra_attempts", None),
            "passed_on_retry": getattr(report, "orchestra_passed_on_retry", None),
        }) + "\\n")


def bump(name):
    path = HERE / (name + ".count")
    count = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(count))
    return count


def note(name, text):
    with open(HERE / (name + ".log"), "a") as stream:
        stream.write(text + "\\n")
'''

TEST_RETRIED = '''
import pytest
from conftest import bump, note


@pytest.fixture(scope="module")
def shared():
    note("shared", "setup")
    yield
    note("shared", "teardown")


@pytest.fixture
def per_test():
    note("per_test", "setup")
    yield
    note("per_test", "teardown")


def test_fails_once(shared, per_test):
    if bump("fails_once") == 1:
        raise ConnectionRefusedError("connection refused by 127.0.0.1:9")


def test_always_fails():
    bump("always")
    raise ConnectionRefusedError("still down")


def test_product_bug():
    bump("product")
    assert 19 == 20, "PRODUCT"


def test_classifier_breaks():
    bump("broken_classifier")
    raise ValueError("BROKEN-CLASSIFIER")
'''

TEST_SETUP = '''
import pytest
from conftest import bump


@pytest.fixture(scope="module")
def service():
    if bump("service") == 1:
        raise ConnectionRefusedError("service not up yet")
    return "up"


def test_uses_service(service):
    assert service == "up"


def test_plain():
    pass
'''


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, list[dict[str, Any]]]:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_retried=TEST_RETRIED, test_setup=TEST_SETUP)
    result = pytester.runpytest_subprocess("-p", "no:orchestra", "-p", "no:cacheprovider", "-v", *args)
    lines = (pytester.path / "reports.jsonl").read_text().splitlines()
    return result, [json.loads(line) for line in lines]


def final(reports: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The final call/setup report of a test (the one deciding its outcome)."""
    mine = [r for r in reports if r["nodeid"].endswith(name) and r["outcome"] != "rerun"]
    failing = [r for r in mine if r["outcome"] == "failed"]
    return (failing or [r for r in mine if r["when"] == "call"])[0]


def reruns(reports: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in reports if r["nodeid"].endswith(name) and r["outcome"] == "rerun"]


def count(path: Path, name: str) -> int:
    return int((path / f"{name}.count").read_text())


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_retry_runner_in_a_real_run(pytester: pytest.Pytester, xdist: list[str]) -> None:
    result, reports = run(pytester, *xdist)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 3 and outcomes.get("failed") == 3
    # fails_once 1 + always 2 + service setup 1; product bugs and classifier errors are not retried.
    assert outcomes.get("rerun") == 4
    assert any("RERUN" in line and "test_fails_once" in line for line in result.outlines)

    assert count(pytester.path, "fails_once") == 2
    assert final(reports, "test_fails_once") | {"nodeid": ""} == {
        "nodeid": "", "when": "call", "outcome": "passed", "attempt": 2, "attempts": 2, "passed_on_retry": True,
    }
    assert [r["attempt"] for r in reruns(reports, "test_fails_once")] == [1]

    assert count(pytester.path, "always") == 3
    assert final(reports, "test_always_fails")["attempts"] == 3
    assert final(reports, "test_always_fails")["passed_on_retry"] is False
    assert [r["attempt"] for r in reruns(reports, "test_always_fails")] == [1, 2]

    assert count(pytester.path, "product") == 1
    assert final(reports, "test_product_bug")["attempts"] == 1
    assert count(pytester.path, "broken_classifier") == 1

    # A failed module-scoped fixture is really set up again, not served from its cached error.
    assert count(pytester.path, "service") == 2
    setup_rerun = reruns(reports, "test_uses_service")
    assert [(r["when"], r["attempt"]) for r in setup_rerun] == [("setup", 1)]
    assert final(reports, "test_uses_service")["passed_on_retry"] is True

    # Function fixtures are torn down and set up again; the module fixture lives on.
    assert (pytester.path / "per_test.log").read_text().split() == ["setup", "teardown", "setup", "teardown"]
    assert (pytester.path / "shared.log").read_text().split() == ["setup", "teardown"]

    # Every test ends with exactly one final teardown report, after which nothing of it is logged.
    for nodeid in {r["nodeid"] for r in reports}:
        mine = [r for r in reports if r["nodeid"] == nodeid]
        assert mine[-1]["when"] == "teardown" and mine[-1]["outcome"] != "rerun"
        assert sum(1 for r in mine if r["when"] == "teardown" and r["outcome"] != "rerun") == 1


def test_maxfail_counts_only_final_failures(pytester: pytest.Pytester) -> None:
    # A replaced attempt is not a failure: -x stops after the final one, not the first.
    result, _ = run(pytester, "-x", "-k", "always or product")
    assert result.parseoutcomes().get("failed") == 1
    assert result.parseoutcomes().get("rerun") == 2
    assert count(pytester.path, "always") == 3
    assert not (pytester.path / "product.count").exists()
