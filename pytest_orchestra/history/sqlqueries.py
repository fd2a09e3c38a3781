"""The reads behind trends, exports and pushes, shared by both SQL backends (see :mod:`sqlstore`)."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from pytest_orchestra.core.records import RunRecord
from pytest_orchestra.history.groups import latest_attempts
from pytest_orchestra.history.rows import RUN_COLUMNS, decode_run
from pytest_orchestra.history.summary import RunSummary, summaries_from

#: Runs a statement with its parameters and returns every row it gives.
Query = Callable[[str, Sequence[object]], List[Tuple[Any, ...]]]

_Result = TypeVar("_Result")

#: Ids passed in one ``IN (...)`` list.
CHUNK = 500


def placeholders(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def chunks(values: Sequence[str]) -> List[List[str]]:
    return [list(values[start:start + CHUNK]) for start in range(0, len(values), CHUNK)]


class TrendQueries:
    """Logical runs, their counts, and the flakiest and slowest tests in them."""

    def _read(self, fallback: Callable[[], _Result], work: Callable[[Query], _Result]) -> _Result:
        raise NotImplementedError  # pragma: no cover - provided by the backend

    def recent_groups(
        self, *, branch: Optional[str] = None, plan: Optional[str] = None, limit: int = 20
    ) -> List[List[RunRecord]]:
        """The newest ``limit`` logical runs (a group, or a run outside any), newest first,
        each as its runs (latest attempts, oldest first); runs still going are left out."""
        return self._read(list, lambda q: self._recent_groups(q, branch, plan, limit))

    def _recent_groups(self, query: Query, branch: Optional[str], plan: Optional[str],
                       limit: int) -> List[List[RunRecord]]:
        conditions, values = ["status != 'running'"], []
        for condition, value in (("branch = ?", branch), ("plan = ?", plan)):
            if value is not None:
                conditions.append(condition)
                values.append(value)
        rows = query(
            "WITH recent AS (SELECT COALESCE(run_group, run_id) AS logical, max(started) AS latest FROM runs"
            f" WHERE {' AND '.join(conditions)} GROUP BY COALESCE(run_group, run_id)"
            " ORDER BY latest DESC LIMIT ?)"
            f" SELECT {', '.join(f'runs.{name}' for name in RUN_COLUMNS)}, recent.logical FROM runs"
            " JOIN recent ON COALESCE(runs.run_group, runs.run_id) = recent.logical"
            " ORDER BY recent.latest DESC, recent.logical",
            (*values, max(limit, 0)),
        )
        grouped: Dict[str, List[RunRecord]] = {}
        for row in rows:
            grouped.setdefault(str(row[-1]), []).append(decode_run(row[:-1]))
        return [latest_attempts(runs) for runs in grouped.values()]

    def summaries(self, run_ids: Sequence[str]) -> Dict[str, RunSummary]:
        """Each run's test counts (kept when it finished, counted now for others)."""
        return self._read(dict, lambda q: self._summaries(q, run_ids))

    def _summaries(self, query: Query, run_ids: Sequence[str]) -> Dict[str, RunSummary]:
        found: Dict[str, RunSummary] = {}
        missing: List[str] = []
        for chunk in chunks(run_ids):
            for run_id, text in query(f"SELECT run_id, summary FROM runs WHERE run_id IN ({placeholders(chunk)})",
                                      chunk):
                if text is None:
                    missing.append(run_id)
                else:
                    found[run_id] = RunSummary.from_json(text)
        for chunk in chunks(missing):
            found.update(summaries_from(query(
                "SELECT run_id, outcome, category, flaky, quarantined, count(*) FROM tests"
                f" WHERE run_id IN ({placeholders(chunk)}) GROUP BY run_id, outcome, category, flaky, quarantined",
                chunk,
            )))
            for run_id in chunk:
                found.setdefault(run_id, RunSummary())
        return found

    def known_runs(self, run_ids: Sequence[str]) -> Dict[str, Tuple[str, int]]:
        """``run_id -> (status, test rows)`` of those of ``run_ids`` this history holds."""
        def work(query: Query) -> Dict[str, Tuple[str, int]]:
            known: Dict[str, Tuple[str, int]] = {}
            for chunk in chunks(run_ids):
                for run_id, status, count in query(
                    "SELECT runs.run_id, runs.status, (SELECT count(*) FROM tests WHERE tests.run_id = runs.run_id)"
                    f" FROM runs WHERE runs.run_id IN ({placeholders(chunk)})", chunk,
                ):
                    known[str(run_id)] = (str(status), int(count))
            return known

        return self._read(dict, work)

    def flakiest(self, run_ids: Sequence[str], *, limit: int = 5) -> List[Tuple[str, int]]:
        """The tests marked flaky most often in these runs: ``(nodeid, times)``, most first."""
        if not run_ids:
            return []
        return self._read(list, lambda q: [(str(n), int(c)) for n, c in q(
            f"SELECT nodeid, count(*) FROM tests WHERE flaky = 1 AND run_id IN ({placeholders(run_ids)})"
            " GROUP BY nodeid ORDER BY count(*) DESC, nodeid LIMIT ?", (*run_ids, limit),
        )])

    def slowest(self, run_ids: Sequence[str], *, limit: int = 5) -> List[Tuple[str, float]]:
        """The slowest tests that ran in these runs: ``(nodeid, seconds)``, slowest first."""
        if not run_ids:
            return []

        def work(query: Query) -> List[Tuple[str, float]]:
            # A top-N sort rather than GROUP BY: a test runs once per run, so this many rows
            # hold ``limit`` different tests.
            found: Dict[str, float] = {}
            for nodeid, duration in query(
                f"SELECT nodeid, duration FROM tests WHERE outcome != 'skipped' AND run_id IN ({placeholders(run_ids)})"
                " ORDER BY duration DESC, nodeid LIMIT ?", (*run_ids, limit * len(run_ids)),
            ):
                if len(found) < limit:
                    found.setdefault(str(nodeid), float(duration))
            return list(found.items())

        return self._read(list, work)

    def results(self, run_ids: Sequence[str], nodeids: Sequence[str]) -> List[Tuple[str, str, str, float, bool]]:
        """``(run_id, nodeid, outcome, duration, flaky)`` of these tests in these runs."""
        if not run_ids or not nodeids:
            return []
        return self._read(list, lambda q: [(str(r), str(n), str(o), float(d), bool(f)) for r, n, o, d, f in q(
            "SELECT run_id, nodeid, outcome, duration, flaky FROM tests"
            f" WHERE run_id IN ({placeholders(run_ids)}) AND nodeid IN ({placeholders(nodeids)})",
            (*run_ids, *nodeids),
        )])

    def labelled_failures(self) -> List[Tuple[str, str, str]]:
        """``(phase, message, category)`` of every failure triage categorized: training data."""
        return self._read(list, lambda q: [(str(p), str(m), str(c)) for p, m, c in q(
            "SELECT phase, message, category FROM tests WHERE category IS NOT NULL"
            " AND outcome IN ('failed', 'error')", (),
        )])
