"""The order selected tests run in, and the cut a budget makes. Pure and deterministic.

Most likely to fail first: tests that failed last time, then those that
executed the most changed lines, then the fastest; flaky and quarantined tests
last. Ties keep the collection order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple


@dataclass(frozen=True)
class PastResults:
    """What past runs say about the tests (all optional)."""

    failed_last: Set[str] = field(default_factory=set)
    unstable: Set[str] = field(default_factory=set)
    durations: Mapping[str, float] = field(default_factory=dict)


def priority_order(nodeids: Sequence[str], *, changed_lines: Mapping[str, int], history: PastResults) -> List[str]:
    position = {nodeid: index for index, nodeid in enumerate(nodeids)}
    fallback = _typical(history.durations)

    def key(nodeid: str) -> Tuple[bool, bool, int, float, int]:
        return (
            nodeid in history.unstable,
            nodeid not in history.failed_last,
            -changed_lines.get(nodeid, 0),
            history.durations.get(nodeid, fallback),
            position[nodeid],
        )

    return sorted(nodeids, key=key)


def apply_budget(
    ordered: Sequence[str],
    *,
    max_tests: Optional[int],
    max_seconds: Optional[float],
    durations: Mapping[str, float],
) -> Tuple[List[str], List[str]]:
    """(kept, cut): the longest prefix of ``ordered`` within the budget."""
    kept: List[str] = []
    spent = 0.0
    fallback = _typical(durations)
    for index, nodeid in enumerate(ordered):
        if max_tests is not None and len(kept) >= max_tests:
            return kept, list(ordered[index:])
        cost = durations.get(nodeid, fallback)
        if max_seconds is not None and kept and spent + cost > max_seconds:
            return kept, list(ordered[index:])
        kept.append(nodeid)
        spent += cost
    return kept, []


def _typical(durations: Mapping[str, float]) -> float:
    return median(durations.values()) if durations else 0.0


def history_from_records(last: Sequence[Tuple[str, str, bool, bool]], durations: Dict[str, float]) -> PastResults:
    """From (nodeid, outcome, flaky, quarantined) rows of the last run."""
    failed = {nodeid for nodeid, outcome, _, _ in last if outcome in ("failed", "error")}
    unstable = {nodeid for nodeid, _, flaky, quarantined in last if flaky or quarantined}
    return PastResults(failed_last=failed, unstable=unstable, durations=durations)
