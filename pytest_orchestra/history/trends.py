"""Trends over the last N runs of a branch or plan: what a QA lead wants to see move.

Per logical run (a pipeline's shards count as one): pass rate, failures by
category, flaky and quarantined counts, wall time; and the flakiest and the
slowest tests with their results run by run. Read through the store
interface, so from either backend; turned into Markdown (a Mermaid chart),
SVG and text by :mod:`pytest_orchestra.history.render`.
"""

from __future__ import annotations

import statistics
from typing import Any, Dict, List, Optional, Sequence

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.records import FAILING_OUTCOMES, RunRecord
from pytest_orchestra.history.summary import RunSummary

#: Tests listed under "flakiest" and "slowest".
TOP_TESTS = 5

#: A test's result in one run of a trend: passed, failed, passed on a retry, skipped, not run.
PASSED, FAILED, RETRIED, SKIPPED, ABSENT = "✓", "✗", "↻", "s", "·"


@plainclass(frozen=True)
class TrendPoint:
    """One logical run."""

    run_id: str
    started: float
    status: str
    runs: int
    tests: int
    pass_rate: Optional[float]
    failed: int
    categories: Dict[str, int]
    flaky: int
    quarantined: int
    wall_time: Optional[float]


@plainclass(frozen=True)
class TestTrend:
    """A test and its results run by run (oldest first)."""

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    #: Flakiest: runs where it was flaky. Slowest: its seconds in the newest run.
    value: float
    marks: List[str]
    #: Seconds per run (None where it did not run): the slowest tests' trend.
    durations: List[Optional[float]]


@plainclass(frozen=True)
class Trends:
    branch: Optional[str]
    plan: Optional[str]
    #: Oldest first.
    points: List[TrendPoint]
    flakiest: List[TestTrend]
    slowest: List[TestTrend]

    @property
    def scope(self) -> str:
        parts = [f"branch {self.branch}" if self.branch else "all branches"]
        if self.plan:
            parts.append(f"plan {self.plan}")
        return ", ".join(parts)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "branch": self.branch,
            "plan": self.plan,
            "points": [dict(vars(point)) for point in self.points],
            "flakiest": [dict(vars(test)) for test in self.flakiest],
            "slowest": [dict(vars(test)) for test in self.slowest],
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Trends:
        return cls(
            branch=data.get("branch"),
            plan=data.get("plan"),
            points=[TrendPoint(**point) for point in data.get("points", [])],
            flakiest=[TestTrend(**test) for test in data.get("flakiest", [])],
            slowest=[TestTrend(**test) for test in data.get("slowest", [])],
        )


def compute_trends(store: Any, *, branch: Optional[str], plan: Optional[str] = None, runs: int = 20,
                   top: int = TOP_TESTS) -> Trends:
    """The trends of the newest ``runs`` logical runs of ``branch`` (all when None) and ``plan``."""
    groups = list(reversed(store.recent_groups(branch=branch, plan=plan, limit=runs)))
    run_ids = [run.run_id for group in groups for run in group]
    summaries = store.summaries(run_ids)
    points = [_point(group, summaries) for group in groups]
    point_of = {run.run_id: index for index, group in enumerate(groups) for run in group}
    flakiest = store.flakiest(run_ids, limit=top)
    newest = [run.run_id for run in groups[-1]] if groups else []
    slowest = store.slowest(newest, limit=top)
    wanted = [nodeid for nodeid, _ in flakiest] + [nodeid for nodeid, _ in slowest]
    rows = store.results(run_ids, sorted(set(wanted)))
    marks: Dict[str, List[str]] = {nodeid: [ABSENT] * len(groups) for nodeid in wanted}
    seconds: Dict[str, List[Optional[float]]] = {nodeid: [None] * len(groups) for nodeid in wanted}
    for run_id, nodeid, outcome, duration, flaky in rows:
        index = point_of[run_id]
        marks[nodeid][index] = _worst(marks[nodeid][index], _mark(outcome, flaky))
        if outcome != "skipped":
            seconds[nodeid][index] = max(duration, seconds[nodeid][index] or 0.0)
    return Trends(
        branch=branch,
        plan=plan,
        points=points,
        flakiest=[TestTrend(nodeid, float(times), marks[nodeid], seconds[nodeid]) for nodeid, times in flakiest],
        slowest=[TestTrend(nodeid, latest, marks[nodeid], seconds[nodeid]) for nodeid, latest in slowest],
    )


def report_trends(store: Any, run: RunRecord, *, runs: int = 20) -> Optional[Trends]:
    """The trends for this run's report (its branch and plan), once there are two runs to compare."""
    trends = compute_trends(store, branch=run.branch, plan=run.plan, runs=runs)
    return trends if len(trends.points) >= 2 else None


def _point(group: Sequence[RunRecord], summaries: Dict[str, RunSummary]) -> TrendPoint:
    summary = RunSummary.combine(summaries.get(run.run_id, RunSummary()) for run in group)
    ends = [run.ended for run in group]
    started = min(run.started for run in group)
    rates = [run.success_rate for run in group if run.success_rate is not None]
    return TrendPoint(
        run_id=group[0].run_group or group[0].run_id,
        started=started,
        status="complete" if all(run.status == "complete" for run in group) else group[-1].status,
        runs=len(group),
        tests=summary.total,
        pass_rate=summary.success_rate if summary.total else (statistics.mean(rates) if rates else None),
        failed=summary.failed,
        categories=summary.failures_by_category(),
        flaky=summary.flaky,
        quarantined=summary.quarantined,
        wall_time=None if None in ends else max(e for e in ends if e is not None) - started,
    )


_SEVERITY = {ABSENT: 0, SKIPPED: 1, PASSED: 2, RETRIED: 3, FAILED: 4}


def _mark(outcome: str, flaky: bool) -> str:
    if outcome in FAILING_OUTCOMES:
        return FAILED
    if outcome == "skipped":
        return SKIPPED
    return RETRIED if flaky else PASSED


def _worst(current: str, new: str) -> str:
    return new if _SEVERITY[new] > _SEVERITY[current] else current
