"""Quality gates from the workflow and the command line: verdict, exit status, reports."""

from __future__ import annotations

import pytest

from tests.conftest import history_rows, latest_summary

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(9))
def test_ok(n):
    pass

@pytest.mark.security
def test_login_rate_limit():
    assert False, "rate limit not enforced"
"""


def test_failed_gate_exits_6_and_names_each_violated_rule(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        orchestra="gates: {min_success_rate: 0.95, critical_markers: [critical, security], max_failures: 0}\n",
    )
    pytester.makepyfile(SUITE)
    result = pytester.runpytest()
    assert result.ret == 6
    result.stdout.fnmatch_lines(
        [
            "orchestra: gate FAILED (exit status 6):",
            "orchestra:   min_success_rate: FAILED (expected >= 95.0%, got 90.0%)",
            "orchestra:   critical: FAILED (expected 0 failures among tests marked critical or security, "
            "got 1 failed): *::test_login_rate_limit",
            "orchestra:   max_failures: FAILED (expected <= 0, got 1): *test_login_rate_limit",
        ]
    )
    gate = latest_summary(pytester.path)["gate"]
    assert gate["enabled"] is True and gate["passed"] is False
    assert {c["rule"]: c["passed"] for c in gate["checks"]} == {
        "min_success_rate": False,
        "critical": False,
        "max_failures": False,
    }
    report = (pytester.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert "gate FAILED" in report and "min_success_rate" in report
    (run,) = history_rows(pytester.path, "runs")
    assert run["gate_passed"] == 0 and run["exit_status"] == 6


def test_passing_gate_keeps_pytest_exit_status(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--orchestra-gate=min_success_rate=0.8,critical=false")
    assert result.ret == 1  # tests failed, gate passed: pytest's own status
    result.stdout.fnmatch_lines(["orchestra: gate passed (1 checks)"])


def test_bare_gate_flag_fails_on_a_critical_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.critical
        def test_payment_captured():
            assert 0
        """
    )
    result = pytester.runpytest("--orchestra-gate")
    assert result.ret == 6
    result.stdout.fnmatch_lines(["orchestra:   critical: FAILED*test_payment_captured"])


def test_command_line_overrides_the_workflow_gate(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="gates: {min_success_rate: 1.0, critical: false}\n")
    pytester.makepyfile(SUITE)
    assert pytester.runpytest().ret == 6
    assert pytester.runpytest("--orchestra-gate=min_success_rate=0.9").ret == 1


def test_bad_gate_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest("--orchestra-gate=min_success_rate=95%")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --orchestra-gate: min_success_rate: expected a number between 0 and 1, got '95%'"]
    )


def test_no_regression_compares_with_the_last_run_on_the_branch(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="gates: {no_regression: true, critical: false}\n")
    pytester.makepyfile(test_a="def test_a(): pass", test_b="def test_b(): pass")
    first = pytester.runpytest()
    assert first.ret == 0
    first.stdout.fnmatch_lines(["orchestra: gate passed (1 checks)"])
    assert "no earlier complete run" in str(latest_summary(pytester.path)["gate"])

    pytester.makepyfile(test_b="def test_b(): assert False")
    second = pytester.runpytest()
    assert second.ret == 6
    second.stdout.fnmatch_lines(["orchestra:   no_regression: FAILED (expected >= 100.0% (run * 100.0%), got 50.0%)"])


def test_flaky_retried_and_quarantined_limits_come_from_hooks(pytester: pytest.Pytester) -> None:
    # Triage fills these fields in later; any plugin can through the hook.
    pytester.makeconftest(
        """
        def pytest_orchestra_test_recorded(record, reports):
            if record.nodeid.endswith("::test_flaky"):
                record.flaky = True
                record.attempts = 2
            if record.nodeid.endswith("::test_quarantined"):
                record.quarantined = True
        """
    )
    pytester.makepyfile(
        """
        def test_flaky(): pass
        def test_quarantined(): assert False
        """
    )
    result = pytester.runpytest("--orchestra-gate=max_flaky=0,max_retried=1,max_quarantined=0,max_failures=0")
    assert result.ret == 6
    checks = {c["rule"]: c for c in latest_summary(pytester.path)["gate"]["checks"]}
    assert checks["max_flaky"]["passed"] is False and checks["max_flaky"]["actual"] == "1"
    assert checks["max_retried"]["passed"] is True
    assert checks["max_quarantined"]["passed"] is False
    # a quarantined failure fails neither the failure count nor the success rate
    assert checks["max_failures"]["passed"] is True


def test_plugins_add_gate_checks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        from pytest_orchestra import GateCheck
        def pytest_orchestra_gate_checks(result, gates):
            slow = [t for t in result.tests if t.duration > 60]
            return [GateCheck(rule="max_slow", passed=not slow, expected="0", actual=str(len(slow)))]
        """
    )
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest("--orchestra-gate")
    assert result.ret == 0
    assert "max_slow" in {c["rule"] for c in latest_summary(pytester.path)["gate"]["checks"]}
