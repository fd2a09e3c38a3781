"""summary.json: exact structure of the machine-readable run summary."""

from __future__ import annotations

import json

from pytest_orchestra.core.records import GateCheck, GateVerdict, RunRecord, RunResult, TestRecord
from pytest_orchestra.reporting.summary import build_summary, failure_reason, iso_utc, run_duration

STARTED = 1714564800.0  # 2024-05-01T12:00:00Z


def make_result() -> RunResult:
    tests = [
        TestRecord("tests/billing/test_refund.py::test_refund[Guest-pro]", "failed", duration=1.5,
                   category="product", app="billing", matrix={"role": "Guest", "edition": "pro"},
                   message="AssertionError: refund\nassert 1 == 2", location=("tests/billing/test_refund.py", 12)),
        TestRecord("tests/billing/test_refund.py::test_refund[Admin-pro]", "passed", duration=0.25,
                   app="billing", matrix={"role": "Admin", "edition": "pro"}),
        TestRecord("tests/billing/test_refund.py::test_refund[Guest-free]", "skipped", duration=0.0,
                   app="billing", matrix={"role": "Guest", "edition": "free"}),
        TestRecord("tests/auth/test_login.py::test_login", "error", phase="setup", duration=0.5,
                   app="auth", message="ConnectionError: db down"),
        TestRecord("tests/test_misc.py::test_xfail", "xfailed", duration=0.125),
    ]
    return RunResult(
        run=RunRecord("20240501T120000Z-abcdef", STARTED, ended=STARTED + 12.5, status="complete",
                      commit="0123456789abcdef", branch="main", trigger="ci", exit_status=1, workers=2),
        tests=tests,
        gate=GateVerdict(True, [GateCheck("success_rate", False, ">= 95%", "50%")]),
        workflow_source="orchestra.yaml",
        matrix_dimensions=["role", "edition"],
        sections={"selection": {"summary": "5 of 9 selected"}, "triage": {"flaky": 1}, "counts": "ignored"},
    )


def counts(**nonzero: int) -> dict:
    base = {"passed": 0, "skipped": 0, "xfailed": 0, "xpassed": 0, "failed": 0, "error": 0}
    base.update(nonzero)
    base["total"] = sum(nonzero.values())
    return base


def test_summary_has_the_documented_structure_and_figures() -> None:
    summary = build_summary(make_result())
    assert summary == {
        "schema": "pytest-orchestra/summary/1",
        "run": {
            "run_id": "20240501T120000Z-abcdef",
            "started": STARTED,
            "started_at": "2024-05-01T12:00:00.000Z",
            "ended": STARTED + 12.5,
            "ended_at": "2024-05-01T12:00:12.500Z",
            "duration": 12.5,
            "status": "complete",
            "commit": "0123456789abcdef",
            "branch": "main",
            "trigger": "ci",
            "exit_status": 1,
            "workers": 2,
            "plan": None,
            "rerun_of": None,
        },
        "counts": counts(passed=1, skipped=1, xfailed=1, failed=1, error=1),
        "success_rate": 0.5,
        "by_app": {"auth": counts(error=1), "billing": counts(passed=1, skipped=1, failed=1)},
        "by_cell": {
            "role=Admin,edition=pro": counts(passed=1),
            "role=Guest,edition=free": counts(skipped=1),
            "role=Guest,edition=pro": counts(failed=1),
        },
        "by_category": {"product": 1, "uncategorized": 1},
        "durations": {
            "total": 2.375,
            "slowest": [
                {"nodeid": "tests/billing/test_refund.py::test_refund[Guest-pro]", "duration": 1.5},
                {"nodeid": "tests/auth/test_login.py::test_login", "duration": 0.5},
                {"nodeid": "tests/billing/test_refund.py::test_refund[Admin-pro]", "duration": 0.25},
                {"nodeid": "tests/test_misc.py::test_xfail", "duration": 0.125},
                {"nodeid": "tests/billing/test_refund.py::test_refund[Guest-free]", "duration": 0.0},
            ],
        },
        "gate": {
            "enabled": True,
            "passed": False,
            "checks": [{"rule": "success_rate", "passed": False, "expected": ">= 95%", "actual": "50%", "detail": ""}],
        },
        "selection": {"summary": "5 of 9 selected"},
        "ordering": None,
        "failures": [
            {
                "nodeid": "tests/billing/test_refund.py::test_refund[Guest-pro]",
                "outcome": "failed",
                "phase": "call",
                "category": "product",
                "app": "billing",
                "cell": "role=Guest,edition=pro",
                "message": "AssertionError: refund\nassert 1 == 2",
                "location": ["tests/billing/test_refund.py", 12],
            },
            {
                "nodeid": "tests/auth/test_login.py::test_login",
                "outcome": "error",
                "phase": "setup",
                "category": None,
                "app": "auth",
                "cell": None,
                "message": "ConnectionError: db down",
                "location": None,
            },
        ],
        "retried": [],
        "workflow": "orchestra.yaml",
        # Other sections appear under their own names; built-in keys are not overridden.
        "triage": {"flaky": 1},
    }
    json.dumps(summary)  # JSON-ready as it stands


def test_slowest_lists_ten_tests_and_an_unfinished_run_uses_test_durations() -> None:
    tests = [TestRecord(f"t.py::test_{i:02d}", "passed", duration=i / 10) for i in range(15)]
    result = RunResult(run=RunRecord("r", STARTED), tests=tests)
    summary = build_summary(result)
    assert [entry["nodeid"] for entry in summary["durations"]["slowest"]] == [
        f"t.py::test_{i:02d}" for i in range(14, 4, -1)
    ]
    assert summary["run"]["ended"] is None and summary["run"]["ended_at"] is None
    assert summary["run"]["duration"] == 10.5
    assert summary["gate"] == {"enabled": False, "passed": None, "checks": []}
    assert summary["selection"] is None and summary["failures"] == []


def test_slowest_breaks_ties_at_the_cut_off_by_node_id() -> None:
    # 4 slow tests, then 20 tied at the cut-off in shuffled order: the 6 smallest node ids win.
    tied = [TestRecord(f"t.py::tied_{i:02d}", "passed", duration=1.0) for i in (7, 3, 19, 0, 12, 5, 1, 9, 2, 4,
                                                                               6, 8, 10, 11, 13, 14, 15, 16, 17, 18)]
    slow = [TestRecord(f"t.py::slow_{i}", "passed", duration=2.0 + i) for i in range(4)]
    fast = [TestRecord(f"t.py::fast_{i}", "passed", duration=0.5) for i in range(5)]
    result = RunResult(run=RunRecord("r", STARTED), tests=tied[:10] + slow + fast + tied[10:])
    slowest = [entry["nodeid"] for entry in build_summary(result)["durations"]["slowest"]]
    assert slowest == [f"t.py::slow_{i}" for i in (3, 2, 1, 0)] + [f"t.py::tied_{i:02d}" for i in range(6)]


def test_shared_helpers() -> None:
    assert iso_utc(None) is None
    assert iso_utc(0.25) == "1970-01-01T00:00:00.250Z"
    long_line = TestRecord("t.py::t", "failed", message="\n   \n" + "x" * 300 + "\nsecond")
    assert failure_reason(long_line) == "x" * 199 + "…"
    assert failure_reason(TestRecord("t.py::t", "error", phase="teardown")) == "error in teardown"
    backwards = RunResult(run=RunRecord("r", STARTED, ended=STARTED - 1), tests=[TestRecord("t", "passed", duration=2.0)])
    assert run_duration(backwards) == 2.0


def test_flaky_tests_count_by_category_and_as_retried_but_not_as_failures() -> None:
    from pytest_orchestra.core.records import RunRecord, RunResult, TestRecord
    from pytest_orchestra.reporting.summary import build_summary

    tests = [
        TestRecord("t.py::test_race", "passed", attempts=2, flaky=True, category="flaky"),
        TestRecord("t.py::test_down", "failed", attempts=3, category="infrastructure"),
        TestRecord("t.py::test_ok", "passed"),
    ]
    summary = build_summary(RunResult(RunRecord("20261122T000000Z-abcdef", 0.0, ended=1.0), tests))
    assert summary["by_category"] == {"flaky": 1, "infrastructure": 1}
    assert [f["nodeid"] for f in summary["failures"]] == ["t.py::test_down"]
    assert summary["retried"] == [
        {"nodeid": "t.py::test_race", "attempts": 2, "outcome": "passed", "flaky": True},
        {"nodeid": "t.py::test_down", "attempts": 3, "outcome": "failed", "flaky": False},
    ]
