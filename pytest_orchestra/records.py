"""Plain records of a run and of its tests, shared by history, gates and reports.

Everything here is data: no pytest import, no I/O. The plugin builds these from
reports on the controller; the history store persists them; the report writers
and the gate evaluate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

#: Outcomes a test record can have, worst first (used to fold the phases of one test).
OUTCOMES: Tuple[str, ...] = ("error", "failed", "xpassed", "xfailed", "skipped", "passed")

#: Outcomes that count as a failure of the run.
FAILING_OUTCOMES = frozenset({"failed", "error"})

#: Outcomes that count towards the success rate's numerator.
SUCCESS_OUTCOMES = frozenset({"passed", "xfailed", "xpassed"})


@dataclass
class TestRecord:
    """What happened to one test item in one run.

    ``phase`` is the phase that decided the outcome (``setup``, ``call``,
    ``teardown``, or ``collect`` for a collection error); ``duration`` sums all
    phases, in seconds; ``start`` is the epoch time the first phase started.
    """

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    outcome: str
    phase: str = "call"
    duration: float = 0.0
    start: float = 0.0
    attempts: int = 1
    category: Optional[str] = None
    app: Optional[str] = None
    matrix: Dict[str, str] = field(default_factory=dict)
    markers: Tuple[str, ...] = ()
    message: str = ""
    location: Optional[Tuple[str, int]] = None
    worker: Optional[str] = None
    #: Set by triage when the test passed on a retry or flips in history.
    flaky: bool = False
    #: Set by triage for tests listed in quarantine: their failures fail neither run nor gate.
    quarantined: bool = False

    @property
    def failed(self) -> bool:
        return self.outcome in FAILING_OUTCOMES

    @property
    def cell(self) -> str:
        """The matrix cell as ``role=Guest,edition=pro`` (empty when not in a matrix)."""
        return format_cell(self.matrix)


@dataclass
class RunRecord:
    """One pytest session as the history store and the reports see it."""

    run_id: str
    started: float
    ended: Optional[float] = None
    status: str = "running"  # running | complete | incomplete | interrupted
    commit: Optional[str] = None
    branch: Optional[str] = None
    trigger: str = "local"
    exit_status: Optional[int] = None
    workers: int = 0
    success_rate: Optional[float] = None
    gate_passed: Optional[bool] = None
    host: str = ""
    pid: int = 0
    args: str = ""
    #: The workflow plan this run used (``--orchestra-plan``), if any.
    plan: Optional[str] = None
    #: The run whose failures this run reruns (``--orchestra-rerun``), if any.
    rerun_of: Optional[str] = None


@dataclass
class GateCheck:
    """One rule of a quality gate, evaluated: the figures and whether it held."""

    rule: str
    passed: bool
    expected: str
    actual: str
    detail: str = ""

    def describe(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        text = f"{self.rule}: {verdict} (expected {self.expected}, got {self.actual})"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class GateVerdict:
    """All checks of the gate; ``enabled`` is False when no gate was asked for."""

    enabled: bool = False
    checks: List[GateCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def violations(self) -> List[GateCheck]:
        return [check for check in self.checks if not check.passed]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "enabled": self.enabled,
            "passed": self.passed if self.enabled else None,
            "checks": [
                {
                    "rule": c.rule,
                    "passed": c.passed,
                    "expected": c.expected,
                    "actual": c.actual,
                    "detail": c.detail,
                }
                for c in self.checks
            ],
        }


@dataclass
class RunResult:
    """Everything the report writers need about a finished run."""

    run: RunRecord
    tests: List[TestRecord]
    gate: GateVerdict = field(default_factory=GateVerdict)
    workflow_source: Optional[str] = None
    #: Matrix dimensions in declaration order, used for the role x edition tables.
    matrix_dimensions: List[str] = field(default_factory=list)
    #: Filled by capabilities that have something to say (selection, triage...).
    sections: Dict[str, Any] = field(default_factory=dict)


def format_cell(values: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in values.items())


def fold_outcome(outcomes: Iterable[str]) -> str:
    """The worst of several phase outcomes (error beats failed beats ... passed)."""
    rank = {name: i for i, name in enumerate(OUTCOMES)}
    return min(outcomes, key=lambda o: rank.get(o, len(OUTCOMES)), default="passed")


def success_rate(tests: Iterable[TestRecord]) -> Optional[float]:
    """Share of executed tests that succeeded; skipped tests do not count.

    ``None`` when nothing executed (a run of only skips has no rate).
    """
    executed = succeeded = 0
    for test in tests:
        if test.outcome == "skipped":
            continue
        executed += 1
        if test.outcome in SUCCESS_OUTCOMES:
            succeeded += 1
    return succeeded / executed if executed else None


#: The order outcomes are listed in summaries (pytest's own order).
DISPLAY_ORDER: Tuple[str, ...] = ("failed", "error", "passed", "skipped", "xfailed", "xpassed")


def count_outcomes(tests: Iterable[TestRecord]) -> Dict[str, int]:
    counts = {name: 0 for name in DISPLAY_ORDER}
    for test in tests:
        counts[test.outcome] = counts.get(test.outcome, 0) + 1
    return counts
