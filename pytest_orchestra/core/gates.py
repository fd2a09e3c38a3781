"""Quality gate rules: pure functions of the run's test records.

Each rule produces a :class:`~pytest_orchestra.core.records.GateCheck` with the
figures it compared, so a failed gate can say exactly what was violated.
Quarantined tests never count as failures here: their failures are reported
but do not fail the gate.

On the ground floor because two floors above it judge a run with the same
rules: the run's hub (``recording/hub.py``) at the end of a session, and
``python -m pytest_orchestra history report --gate`` for a run read back from
history.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

from pytest_orchestra.core.records import (
    GateCheck,
    GateVerdict,
    TestRecord,
    success_rate,
)

#: Exit status of a session whose quality gate failed (pytest's own codes are 0-5).
GATE_FAILED_EXIT_CODE = 6

#: How many offending tests a check names before it says "and N more".
NAMED_TESTS = 5


def evaluate_gates(
    gates: Any,
    tests: Sequence[TestRecord],
    *,
    previous_rate: Optional[float] = None,
    previous_run_id: Optional[str] = None,
    branch: Optional[str] = None,
) -> GateVerdict:
    """Evaluate every rule ``gates`` (a ``GatesSpec``) switches on.

    ``previous_rate`` is the success rate of the last complete run on the same
    branch, for ``no_regression``.
    """
    counted = [t for t in tests if not t.quarantined]
    checks: List[GateCheck] = []
    rate = success_rate(counted)

    if gates.min_success_rate is not None:
        checks.append(
            GateCheck(
                rule="min_success_rate",
                passed=rate is None or rate >= gates.min_success_rate,
                expected=f">= {_pct(gates.min_success_rate)}",
                actual=_pct(rate) if rate is not None else "n/a",
                detail="" if rate is not None else "no test was executed",
            )
        )
    if gates.critical:
        markers = set(gates.critical_markers)
        failing = [t.nodeid for t in counted if t.failed and markers.intersection(t.markers)]
        checks.append(
            GateCheck(
                rule="critical",
                passed=not failing,
                expected=f"0 failures among tests marked {' or '.join(sorted(markers))}",
                actual=f"{len(failing)} failed",
                detail=_names(failing),
            )
        )
    counts: Sequence[Tuple[str, Callable[[TestRecord], bool]]] = (
        ("max_failures", lambda t: t.failed),
        ("max_flaky", lambda t: t.flaky),
        ("max_retried", lambda t: t.attempts > 1),
    )
    for rule, attribute_test in counts:
        limit = getattr(gates, rule)
        if limit is None:
            continue
        offenders = [t.nodeid for t in counted if attribute_test(t)]
        checks.append(
            GateCheck(
                rule=rule,
                passed=len(offenders) <= limit,
                expected=f"<= {limit}",
                actual=str(len(offenders)),
                detail=_names(offenders) if len(offenders) > limit else "",
            )
        )
    if gates.max_quarantined is not None:
        quarantined = [t.nodeid for t in tests if t.quarantined]
        checks.append(
            GateCheck(
                rule="max_quarantined",
                passed=len(quarantined) <= gates.max_quarantined,
                expected=f"<= {gates.max_quarantined}",
                actual=str(len(quarantined)),
            )
        )
    if gates.no_regression:
        checks.append(_no_regression(gates, rate, previous_rate, previous_run_id, branch))
    return GateVerdict(enabled=True, checks=checks)


def _no_regression(
    gates: Any,
    rate: Optional[float],
    previous_rate: Optional[float],
    previous_run_id: Optional[str],
    branch: Optional[str],
) -> GateCheck:
    tolerance = gates.regression_tolerance or 0.0
    where = f"branch {branch}" if branch else "this checkout (no git branch)"
    if previous_rate is None:
        return GateCheck(
            rule="no_regression",
            passed=True,
            expected="no drop below the last complete run",
            actual=_pct(rate) if rate is not None else "n/a",
            detail=f"no earlier complete run on {where} to compare with",
        )
    floor = previous_rate - tolerance
    passed = rate is None or rate >= floor - 1e-12
    return GateCheck(
        rule="no_regression",
        passed=passed,
        expected=f">= {_pct(floor)} (run {previous_run_id} on {where}: {_pct(previous_rate)}"
        + (f", tolerance {_pct(tolerance)})" if tolerance else ")"),
        actual=_pct(rate) if rate is not None else "n/a",
    )


def _pct(rate: Optional[float]) -> str:
    if rate is None:
        return "n/a"
    return f"{rate * 100:.1f}%"


def _names(nodeids: Sequence[str]) -> str:
    shown = ", ".join(nodeids[:NAMED_TESTS])
    more = len(nodeids) - NAMED_TESTS
    return f"{shown} and {more} more" if more > 0 else shown
