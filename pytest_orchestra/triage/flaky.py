"""Flakiness of one test, measured from its run history.

A test is flaky when the same code gives different results: it passed on a
retry inside one run, or its outcome flipped between two runs that tested the
same code. "The same code" is the run's code state (the commit *and* the
working tree's content, see ``codestate``) or, when the selection map says
which files the test executed, those files' contents (``state_of``). Runs of
different code are different experiments: break a function, run, restore it,
run, break it again — those are three programs, and none of their flips says
anything about flakiness. A run whose state is unknown (no repository, or
history written before states were recorded) is compared with no other. A
test that always fails is broken, not flaky, however often it ran. Runs where
most of the suite failed are outages (Trunk's rule: more than 80% failing)
and say nothing about one test, so the caller names them and they are skipped.
Pure logic: no pytest import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from pytest_orchestra.core.records import FAILING_OUTCOMES, RunRecord, TestRecord

#: Share of failing tests above which a run is an outage rather than flakes.
OUTAGE_SHARE = 0.8

_COUNTED_OUTCOMES = FAILING_OUTCOMES | {"passed"}

#: Kinds of evidence that make a test flaky.
RETRY = "retry"
SAME_CODE_FLIPS = "same-code flips"

StateOf = Callable[[RunRecord], Optional[str]]


def is_outage(failed: int, total: int) -> bool:
    """Whether a run with ``failed`` of ``total`` tests failing was an outage."""
    return total > 0 and failed / total > OUTAGE_SHARE


def run_state(run: RunRecord) -> Optional[str]:
    """The code state a whole run tested (commit plus working tree), or None when unknown."""
    return run.code_state


@dataclass(frozen=True)
class FlakinessStats:
    nodeid: str
    #: Runs considered: passed or failed, not skipped, not in an outage.
    runs: int
    failures: int
    #: Pass/fail changes between consecutive runs of the same code, plus retry passes.
    flips: int
    #: Chances to flip: consecutive pairs of runs of the same code, plus runs that retried.
    comparisons: int
    passed_on_retry: int
    flaky: bool
    evidence: str
    #: Flips between runs of the same code (without retry passes).
    same_code_flips: int = 0
    #: Runs that could be compared with another run of the same code.
    comparable_runs: int = 0

    @property
    def flip_rate(self) -> float:
        return self.flips / self.comparisons if self.comparisons else 0.0

    @property
    def evidence_kinds(self) -> tuple[str, ...]:
        """What makes the test flaky: ``retry``, ``same-code flips``, both or neither.

        Flips are only ever counted between runs of the same code (and retry
        passes), so any flip beyond the retry passes is a same-code flip.
        """
        if not self.flaky:
            return ()
        kinds = []
        if self.passed_on_retry:
            kinds.append(RETRY)
        if self.flips > self.passed_on_retry:
            kinds.append(SAME_CODE_FLIPS)
        return tuple(kinds)

    def describe_evidence(self) -> str:
        """``passed on retry 1x`` / ``4 flips between runs of the same code`` for reasons."""
        parts = []
        if self.passed_on_retry:
            parts.append(f"passed on retry {self.passed_on_retry}x")
        if self.flips > self.passed_on_retry:
            parts.append(f"{self.flips - self.passed_on_retry} flips between runs of the same code")
        return " and ".join(parts)


def _passed_on_retry(test: TestRecord) -> bool:
    return test.outcome == "passed" and (test.flaky or test.attempts > 1)


def _group_by_state(
    history: Iterable[tuple[RunRecord, TestRecord]], state_of: StateOf
) -> list[list[tuple[RunRecord, TestRecord]]]:
    """Oldest-first runs per code state; a run whose state is unknown is its own group."""
    groups: dict[str, list[tuple[RunRecord, TestRecord]]] = {}
    for run, test in history:
        state = state_of(run)
        key = f"state:{state}" if state else f"run:{run.run_id}"
        groups.setdefault(key, []).append((run, test))
    for entries in groups.values():
        entries.sort(key=lambda entry: (entry[0].started, entry[0].run_id))
    return list(groups.values())


def flakiness(
    history: Sequence[tuple[RunRecord, TestRecord]],
    *,
    min_runs: int,
    flip_rate: float,
    outage_runs: Iterable[str] = (),
    state_of: StateOf = run_state,
) -> FlakinessStats:
    """Flakiness of the test in ``history`` (``HistoryStore.test_history`` rows, any order).

    ``flaky`` needs evidence: a pass on retry, or at least ``min_runs`` runs
    whose flip rate between runs of the same code reaches ``flip_rate`` (with
    at least one flip).
    """
    skipped = set(outage_runs)
    considered = [
        (run, test)
        for run, test in history
        if run.run_id not in skipped and test.outcome in _COUNTED_OUTCOMES
    ]
    nodeid = considered[0][1].nodeid if considered else (history[0][1].nodeid if history else "")
    flips = comparisons = comparable = 0
    for entries in _group_by_state(considered, state_of):
        if len(entries) > 1:
            comparable += len(entries)
        for (_, before), (_, after) in zip(entries, entries[1:]):
            comparisons += 1
            if before.failed != after.failed:
                flips += 1
    same_code_flips = flips
    retried = sum(1 for _, test in considered if _passed_on_retry(test))
    retried_runs = sum(1 for _, test in considered if test.attempts > 1 or _passed_on_retry(test))
    flips += retried
    comparisons += retried_runs
    failures = sum(1 for _, test in considered if test.failed)
    rate = flips / comparisons if comparisons else 0.0
    by_rate = comparable >= min_runs and same_code_flips > 0 and rate >= flip_rate
    flaky = retried > 0 or by_rate
    outages = len(skipped & {r.run_id for r, _ in history})
    return FlakinessStats(
        nodeid=nodeid,
        runs=len(considered),
        failures=failures,
        flips=flips,
        comparisons=comparisons,
        passed_on_retry=retried,
        flaky=flaky,
        evidence=_evidence(len(considered), comparable, failures, same_code_flips, rate, retried, outages),
        same_code_flips=same_code_flips,
        comparable_runs=comparable,
    )


def _evidence(runs: int, comparable: int, failures: int, flips: int, rate: float, retried: int, outages: int) -> str:
    """One sentence a reader can check against the history."""
    parts = [f"{failures} of {runs} runs failed",
             f"{flips} flips between runs of the same code ({comparable} comparable runs, flip rate {rate:.0%})"]
    if retried:
        parts.append(f"passed on retry {retried}x")
    if outages:
        parts.append(f"{outages} outage runs ignored")
    if runs and failures == runs:
        parts.append("fails every run: broken, not flaky")
    return "; ".join(parts)
