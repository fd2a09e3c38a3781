"""What one run (or one run group) came to, in counts: the figures trends are drawn from.

A run's tests are counted once, when it finishes, by ``(outcome, category,
flaky, quarantined)``, and the counts are kept with the run, so reading the
trend of the last N runs reads N rows instead of every test of N runs. Pure
data: no I/O.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.records import FAILING_OUTCOMES, SUCCESS_OUTCOMES

#: ``(outcome, category, flaky, quarantined, count)``, as ``GROUP BY`` gives them.
CountRow = Tuple[str, Optional[str], bool, bool, int]

#: The query counting one run's tests; the store keeps its answer as the run's summary.
COUNT_SQL = (
    "SELECT outcome, category, flaky, quarantined, count(*) FROM tests WHERE run_id = ?"
    " GROUP BY outcome, category, flaky, quarantined"
)


@plainclass(frozen=True)
class RunSummary:
    """Counts of one run's (or several runs') tests."""

    rows: Tuple[CountRow, ...] = ()

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[object]]) -> RunSummary:
        counted: Dict[Tuple[str, Optional[str], bool, bool], int] = {}
        for outcome, category, flaky, quarantined, count in rows:
            key = (str(outcome), None if category is None else str(category), bool(flaky), bool(quarantined))
            counted[key] = counted.get(key, 0) + int(count)  # type: ignore[call-overload]
        return cls(tuple(sorted((k + (v,) for k, v in counted.items()), key=_order)))

    @classmethod
    def combine(cls, summaries: Iterable[RunSummary]) -> RunSummary:
        return cls.from_rows(row for summary in summaries for row in summary.rows)

    def to_json(self) -> str:
        return json.dumps([list(row) for row in self.rows], separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunSummary:
        return cls.from_rows(json.loads(text))

    @property
    def total(self) -> int:
        return sum(row[4] for row in self.rows)

    def outcomes(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for outcome, _, _, _, count in self.rows:
            counts[outcome] = counts.get(outcome, 0) + count
        return counts

    @property
    def failed(self) -> int:
        """Failed and errored tests that count (quarantined ones fail nothing)."""
        return sum(row[4] for row in self.rows if row[0] in FAILING_OUTCOMES and not row[3])

    @property
    def flaky(self) -> int:
        return sum(row[4] for row in self.rows if row[2])

    @property
    def quarantined(self) -> int:
        return sum(row[4] for row in self.rows if row[3])

    @property
    def success_rate(self) -> Optional[float]:
        """As the run's gate sees it: skips left out, and quarantined tests when there are any."""
        counted = [row for row in self.rows if not row[3]] if self.quarantined else list(self.rows)
        executed = sum(row[4] for row in counted if row[0] != "skipped")
        succeeded = sum(row[4] for row in counted if row[0] in SUCCESS_OUTCOMES)
        return succeeded / executed if executed else None

    def failures_by_category(self) -> Dict[str, int]:
        """Counted failures per category (``uncategorized`` when triage gave none), most first."""
        counts: Dict[str, int] = {}
        for outcome, category, _, quarantined, count in self.rows:
            if outcome in FAILING_OUTCOMES and not quarantined:
                name = category or "uncategorized"
                counts[name] = counts.get(name, 0) + count
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _order(row: CountRow) -> Tuple[str, str, bool, bool]:
    return (row[0], row[1] or "", row[2], row[3])


def summaries_from(rows: Iterable[Sequence[object]]) -> Dict[str, RunSummary]:
    """``(run_id, outcome, category, flaky, quarantined, count)`` rows, summed per run."""
    grouped: Dict[str, List[Sequence[object]]] = {}
    for row in rows:
        grouped.setdefault(str(row[0]), []).append(row[1:])
    return {run_id: RunSummary.from_rows(found) for run_id, found in grouped.items()}
