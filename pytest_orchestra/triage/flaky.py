"""Flakiness of one test, measured from its run history.

A test is flaky when the same code gives different results: it failed and then
passed at one commit (consecutive runs grouped by commit), or it passed on a
retry inside one run. A test that always fails is broken, not flaky, however
often it ran. Runs where most of the suite failed are outages (Trunk's rule:
more than 80% failing) and say nothing about one test, so the caller names
them and they are skipped. Pure logic: no pytest import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from pytest_orchestra.records import FAILING_OUTCOMES, RunRecord, TestRecord

#: Share of failing tests above which a run is an outage rather than flakes.
OUTAGE_SHARE = 0.8

_COUNTED_OUTCOMES = FAILING_OUTCOMES | {"passed"}


def is_outage(failed: int, total: int) -> bool:
    """Whether a run with ``failed`` of ``total`` tests failing was an outage."""
    return total > 0 and failed / total > OUTAGE_SHARE


@dataclass(frozen=True)
class FlakinessStats:
    nodeid: str
    #: Runs considered: passed or failed, not skipped, not in an outage.
    runs: int
    failures: int
    #: Pass/fail changes between consecutive runs at one commit, plus retry passes.
    flips: int
    #: Chances to flip: consecutive same-commit pairs, plus runs that retried.
    comparisons: int
    passed_on_retry: int
    flaky: bool
    evidence: str

    @property
    def flip_rate(self) -> float:
        return self.flips / self.comparisons if self.comparisons else 0.0


def _passed_on_retry(test: TestRecord) -> bool:
    return test.outcome == "passed" and (test.flaky or test.attempts > 1)


def _group_by_commit(
    history: Iterable[tuple[RunRecord, TestRecord]],
) -> list[list[tuple[RunRecord, TestRecord]]]:
    """Oldest-first runs per commit; a run without a commit is its own group."""
    groups: dict[str, list[tuple[RunRecord, TestRecord]]] = {}
    for run, test in history:
        key = f"commit:{run.commit}" if run.commit else f"run:{run.run_id}"
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
) -> FlakinessStats:
    """Flakiness of the test in ``history`` (``HistoryStore.test_history`` rows, any order).

    ``flaky`` needs evidence: a pass on retry, or at least ``min_runs`` runs
    whose flip rate reaches ``flip_rate`` (with at least one flip).
    """
    skipped = set(outage_runs)
    considered = [
        (run, test)
        for run, test in history
        if run.run_id not in skipped and test.outcome in _COUNTED_OUTCOMES
    ]
    nodeid = considered[0][1].nodeid if considered else (history[0][1].nodeid if history else "")
    flips = comparisons = 0
    for entries in _group_by_commit(considered):
        for (_, before), (_, after) in zip(entries, entries[1:]):
            comparisons += 1
            if before.failed != after.failed:
                flips += 1
    retried = sum(1 for _, test in considered if _passed_on_retry(test))
    retried_runs = sum(1 for _, test in considered if test.attempts > 1 or _passed_on_retry(test))
    flips += retried
    comparisons += retried_runs
    failures = sum(1 for _, test in considered if test.failed)
    rate = flips / comparisons if comparisons else 0.0
    by_rate = len(considered) >= min_runs and flips > 0 and rate >= flip_rate
    flaky = retried > 0 or by_rate
    return FlakinessStats(
        nodeid=nodeid,
        runs=len(considered),
        failures=failures,
        flips=flips,
        comparisons=comparisons,
        passed_on_retry=retried,
        flaky=flaky,
        evidence=_evidence(len(considered), failures, flips, rate, retried, len(skipped & {r.run_id for r, _ in history})),
    )


def _evidence(runs: int, failures: int, flips: int, rate: float, retried: int, outages: int) -> str:
    """One sentence a reader can check against the history."""
    parts = [f"{failures} of {runs} runs failed", f"{flips} flips (flip rate {rate:.0%})"]
    if retried:
        parts.append(f"passed on retry {retried}x")
    if outages:
        parts.append(f"{outages} outage runs ignored")
    if runs and failures == runs:
        parts.append("fails every run: broken, not flaky")
    return "; ".join(parts)
