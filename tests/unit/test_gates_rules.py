"""The gate's rules as pure functions of test records."""

from __future__ import annotations

from pytest_orchestra.core.gates import evaluate_gates
from pytest_orchestra.core.records import TestRecord
from pytest_orchestra.workflow import GatesSpec


def _tests(passed: int, failed: int, **extra: TestRecord) -> list[TestRecord]:
    records = [TestRecord(f"t.py::test_ok{i}", "passed") for i in range(passed)]
    records += [TestRecord(f"t.py::test_bad{i}", "failed") for i in range(failed)]
    return records + list(extra.values())


def test_min_success_rate_boundary_is_inclusive() -> None:
    gates = GatesSpec(min_success_rate=0.9, critical=False)
    assert evaluate_gates(gates, _tests(9, 1)).passed
    verdict = evaluate_gates(gates, _tests(8, 2))
    assert not verdict.passed
    (check,) = verdict.violations
    assert check.describe() == "min_success_rate: FAILED (expected >= 90.0%, got 80.0%)"


def test_skips_do_not_count_and_an_empty_run_passes_with_a_reason() -> None:
    gates = GatesSpec(min_success_rate=1.0, critical=False)
    skipped = [TestRecord("t.py::test_s", "skipped")]
    verdict = evaluate_gates(gates, skipped)
    assert verdict.passed
    assert verdict.checks[0].actual == "n/a" and verdict.checks[0].detail == "no test was executed"


def test_critical_names_at_most_five_tests() -> None:
    crit = [TestRecord(f"t.py::test_c{i}", "failed", markers=("security",)) for i in range(7)]
    verdict = evaluate_gates(GatesSpec(critical_markers=("critical", "security")), crit)
    (check,) = verdict.violations
    assert check.rule == "critical"
    assert check.detail.endswith("t.py::test_c4 and 2 more")
    assert check.expected == "0 failures among tests marked critical or security"


def test_quarantined_failures_do_not_count_but_are_limited() -> None:
    quarantined = TestRecord("t.py::test_q", "failed", quarantined=True, markers=("critical",))
    gates = GatesSpec(min_success_rate=1.0, max_failures=0, max_quarantined=0)
    verdict = evaluate_gates(gates, _tests(3, 0, q=quarantined))
    assert [c.rule for c in verdict.violations] == ["max_quarantined"]


def test_no_regression_uses_the_tolerance() -> None:
    gates = GatesSpec(no_regression=True, regression_tolerance=0.05, critical=False)
    ok = evaluate_gates(gates, _tests(19, 1), previous_rate=1.0, previous_run_id="r1", branch="main")
    assert ok.passed  # 95% >= 100% - 5%
    bad = evaluate_gates(gates, _tests(9, 1), previous_rate=1.0, previous_run_id="r1", branch="main")
    (check,) = bad.violations
    assert check.expected == ">= 95.0% (run r1 on branch main: 100.0%, tolerance 5.0%)"
    first = evaluate_gates(gates, _tests(1, 1), branch=None)
    assert first.passed and "this checkout (no git branch)" in first.checks[0].detail
