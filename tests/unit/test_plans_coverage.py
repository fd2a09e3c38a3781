"""Required coverage: cells, must-pass tests, reruns laid over their run, the delta."""

from __future__ import annotations

from typing import Dict, Optional

from pytest_orchestra.core.records import TestRecord
from pytest_orchestra.plans.config import RequiredSpec
from pytest_orchestra.plans.coverage import (
    compare,
    coverage_section,
    delta,
    overlay,
    passing_must_pass,
    required_cells,
)
from pytest_orchestra.workflow.model import ExcludeRule

GUEST_ENTERPRISE = ExcludeRule(0, {"role": ("Guest",), "edition": ("enterprise",)}, "no seat")
REQUIRED = RequiredSpec(
    matrix={"role": ("Admin", "Guest"), "edition": ("lite", "enterprise")},
    must_pass=("t.py::test_refund", "t.py::test_login[x]"),
)


def record(nodeid: str, outcome: str = "passed", matrix: Optional[Dict[str, str]] = None, **kw: object) -> TestRecord:
    return TestRecord(nodeid=nodeid, outcome=outcome, matrix=dict(matrix or {}), **kw)  # type: ignore[arg-type]


def test_required_cells_are_the_cross_product_minus_excluded_cells() -> None:
    assert required_cells(REQUIRED.matrix, [GUEST_ENTERPRISE]) == [
        {"role": "Admin", "edition": "lite"},
        {"role": "Admin", "edition": "enterprise"},
        {"role": "Guest", "edition": "lite"},
    ]
    # A rule naming a dimension the requirement leaves out removes nothing.
    region = ExcludeRule(1, {"region": ("eu",)})
    assert len(required_cells({"role": ("Admin", "Guest")}, [region])) == 2
    assert required_cells({}, [GUEST_ENTERPRISE]) == []


def test_covered_missing_and_failing_cells_and_must_pass() -> None:
    tests = [
        record("t.py::test_refund[Admin-lite]", "passed", {"role": "Admin", "edition": "lite"}),
        record("t.py::test_refund[Admin-enterprise]", "failed", {"role": "Admin", "edition": "enterprise"}),
        record("t.py::test_refund[Guest-lite]", "skipped", {"role": "Guest", "edition": "lite"}),
        record("t.py::test_other[Guest-lite]", "failed", {"role": "Guest", "edition": "lite", "region": "eu"},
               quarantined=True),
        record("t.py::test_login[y]"),
    ]
    coverage = compare(REQUIRED, tests, [GUEST_ENTERPRISE])
    assert coverage.required_cells == ("role=Admin,edition=lite", "role=Admin,edition=enterprise", "role=Guest,edition=lite")
    # Guest-lite: the skip does not count, the quarantined failure covers it without failing it.
    assert coverage.covered == coverage.required_cells
    assert coverage.missing_cells == ()
    assert coverage.failed_cells == ("role=Admin,edition=enterprise",)
    assert coverage.must_pass_missing == ("t.py::test_login[x]",)
    assert coverage.must_pass_failed == (("t.py::test_refund[Admin-enterprise]", "failed"),)
    assert not coverage.complete and coverage.gaps == 3
    assert passing_must_pass(coverage) == []


def test_nothing_ran_everything_is_missing() -> None:
    coverage = compare(REQUIRED, [], [GUEST_ENTERPRISE])
    assert coverage.covered == () and len(coverage.missing_cells) == 3
    assert coverage.must_pass_missing == REQUIRED.must_pass
    complete = compare(RequiredSpec(must_pass=("t.py::test_a",)), [record("t.py::test_a[1]"), record("t.py::test_a[2]", "xpassed")])
    assert complete.complete and passing_must_pass(complete) == ["t.py::test_a"]


def test_a_rerun_lays_its_records_over_the_run_it_reran() -> None:
    original = [record("a", "passed"), record("b", "failed"), record("c", "error")]
    rerun = [record("b", "passed"), record("d", "passed")]
    assert [(t.nodeid, t.outcome) for t in overlay(original, rerun)] == [
        ("a", "passed"), ("b", "passed"), ("c", "error"), ("d", "passed"),
    ]


def test_delta_against_the_last_run_of_the_plan() -> None:
    admin_lite = {"role": "Admin", "edition": "lite"}
    admin_ent = {"role": "Admin", "edition": "enterprise"}
    guest_lite = {"role": "Guest", "edition": "lite"}
    before = compare(
        REQUIRED,
        [record("t.py::test_refund[a]", "failed", admin_lite), record("t.py::test_refund[b]", "passed", admin_ent),
         record("t.py::test_login[x]")],
        [GUEST_ENTERPRISE],
    )
    after = compare(
        REQUIRED,
        [record("t.py::test_refund[a]", "passed", admin_lite), record("t.py::test_refund[c]", "passed", guest_lite),
         record("t.py::test_login[x]", "failed")],
        [GUEST_ENTERPRISE],
    )
    change = delta(before, after, "run-1")
    assert change.as_dict() == {
        "previous_run": "run-1",
        "covered_before": 2,
        "covered_after": 2,
        "gained": ["role=Guest,edition=lite"],
        "lost": ["role=Admin,edition=enterprise"],
        "fixed": ["role=Admin,edition=lite"],
        "broken": [],
        "must_pass_fixed": ["t.py::test_refund"],
        "must_pass_broken": ["t.py::test_login[x]"],
    }


def test_summary_section() -> None:
    assert coverage_section("quick", "--orchestra-plan", None, None, None) == {
        "name": "quick", "source": "--orchestra-plan", "description": None, "required": None,
    }
    coverage = compare(REQUIRED, [], [GUEST_ENTERPRISE])
    section = coverage_section("release", "x", REQUIRED, coverage, None, description="d")
    assert section["required"]["cells"] == list(coverage.required_cells)
    assert section["missing_cells"] == list(coverage.missing_cells) and section["failed_cells"] == []
    assert section["must_pass"] == {"missing": list(REQUIRED.must_pass), "failed": []}
    assert section["complete"] is False and section["delta"] is None
