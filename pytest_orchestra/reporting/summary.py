"""summary.json: the machine-readable account of one run.

Also home to the few helpers every report shares (run duration, ISO times, the
one-line reason of a failure), so the Markdown report, the spans and the GitHub
annotations describe a run in the same words.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any, Dict, List, Optional, Tuple

from pytest_orchestra.core.records import (
    FAILING_OUTCOMES,
    RunResult,
    TestRecord,
    count_outcomes,
    format_cell,
    success_rate,
)

SUMMARY_SCHEMA = "pytest-orchestra/summary/1"

#: How many of the slowest tests summary.json lists.
SLOWEST_COUNT = 10

#: Keys build_summary fills itself; a section of the same name cannot replace them.
_BUILTIN_KEYS = frozenset(
    {
        "schema", "run", "counts", "success_rate", "by_app", "by_cell", "by_category",
        "durations", "gate", "selection", "failures", "retried", "workflow",
    }
)


def iso_utc(epoch: Optional[float]) -> Optional[str]:
    """``2024-05-01T12:00:00.000Z`` for an epoch time (None stays None)."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_duration(result: RunResult) -> float:
    """Wall time of the run; the sum of test durations when it has no end yet."""
    run = result.run
    if run.ended is not None and run.ended >= run.started:
        return run.ended - run.started
    return sum(test.duration for test in result.tests)


def failure_reason(test: TestRecord, limit: int = 200) -> str:
    """The first non-blank line of the message, cut to ``limit`` characters."""
    for line in test.message.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return f"{test.outcome} in {test.phase}"


def outcome_counts(tests: List[TestRecord]) -> Dict[str, int]:
    counts = count_outcomes(tests)
    counts["total"] = len(tests)
    return counts


def _grouped_counts(groups: Dict[str, List[TestRecord]]) -> Dict[str, Dict[str, int]]:
    return {name: outcome_counts(groups[name]) for name in sorted(groups)}


def _success_rate(result: RunResult) -> Optional[float]:
    """The run's rate as the gate sees it (quarantined tests left out), else computed here."""
    if result.run.success_rate is not None:
        return result.run.success_rate
    return success_rate(t for t in result.tests if not t.quarantined)


_DURATION = attrgetter("duration")


def _slowest(tests: List[TestRecord], durations: List[float]) -> List[TestRecord]:
    """The SLOWEST_COUNT longest tests, longest first, ties by node id.

    The same as sorting every test by ``(-duration, nodeid)``, but only the few
    tests at or above the cut-off duration are compared as Python objects.
    """
    if len(tests) <= SLOWEST_COUNT:
        candidates = list(tests)
    else:
        cutoff = heapq.nlargest(SLOWEST_COUNT, durations)[-1]
        candidates = [test for test, duration in zip(tests, durations) if duration >= cutoff]
    candidates.sort(key=lambda t: (-t.duration, t.nodeid))
    return candidates[:SLOWEST_COUNT]


def build_summary(result: RunResult) -> Dict[str, Any]:
    """The JSON-ready summary of ``result`` (see SUMMARY_SCHEMA)."""
    run = result.run
    by_app: Dict[str, List[TestRecord]] = {}
    # Grouped by the matrix items first: formatting each test's cell text is
    # the slow part with thousands of tests and only a handful of cells.
    by_matrix: Dict[Tuple[Tuple[str, str], ...], List[TestRecord]] = {}
    by_category: Dict[str, int] = {}
    failures: List[Dict[str, Any]] = []
    retried: List[Dict[str, Any]] = []
    for test in result.tests:
        if test.app:
            by_app.setdefault(test.app, []).append(test)
        if test.matrix:
            by_matrix.setdefault(tuple(test.matrix.items()), []).append(test)
        if test.attempts > 1 or test.flaky:
            retried.append({"nodeid": test.nodeid, "attempts": test.attempts, "outcome": test.outcome,
                            "flaky": test.flaky})
        failed = test.outcome in FAILING_OUTCOMES
        if not (failed or test.flaky):
            continue  # most tests: nothing more to count
        # A test that passed on a retry is no failure, but its category (flaky) counts.
        category = test.category or "uncategorized"
        by_category[category] = by_category.get(category, 0) + 1
        if failed:
            failures.append(
                {
                    "nodeid": test.nodeid,
                    "outcome": test.outcome,
                    "phase": test.phase,
                    "category": test.category,
                    "app": test.app,
                    "cell": test.cell or None,
                    "message": test.message,
                    "location": list(test.location) if test.location else None,
                }
            )
    by_cell: Dict[str, List[TestRecord]] = {}
    for items, tests in by_matrix.items():
        by_cell.setdefault(format_cell(dict(items)), []).extend(tests)
    durations = list(map(_DURATION, result.tests))
    slowest = _slowest(result.tests, durations)
    summary: Dict[str, Any] = {
        "schema": SUMMARY_SCHEMA,
        "run": {
            "run_id": run.run_id,
            "started": run.started,
            "started_at": iso_utc(run.started),
            "ended": run.ended,
            "ended_at": iso_utc(run.ended),
            "duration": round(run_duration(result), 6),
            "status": run.status,
            "commit": run.commit,
            "branch": run.branch,
            "trigger": run.trigger,
            "exit_status": run.exit_status,
            "workers": run.workers,
            "plan": run.plan,
            "rerun_of": run.rerun_of,
        },
        "counts": outcome_counts(result.tests),
        "success_rate": _success_rate(result),
        "by_app": _grouped_counts(by_app),
        "by_cell": _grouped_counts(by_cell),
        "by_category": dict(sorted(by_category.items(), key=lambda item: (-item[1], item[0]))),
        "durations": {
            "total": round(sum(durations), 6),
            "slowest": [{"nodeid": t.nodeid, "duration": round(t.duration, 6)} for t in slowest],
        },
        "gate": result.gate.as_dict(),
        "selection": result.sections.get("selection"),
        "ordering": result.sections.get("ordering"),
        "failures": failures,
        "retried": retried,
        "workflow": result.workflow_source,
    }
    for name, section in result.sections.items():
        if name not in _BUILTIN_KEYS:
            summary[name] = section
    return summary
