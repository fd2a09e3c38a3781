"""What the SQLite and PostgreSQL stores share: every read, and the writes that are plain SQL.

The two backends hold the same tables (see :mod:`rows`) and speak nearly the
same SQL: statements here use ``?`` placeholders, which the PostgreSQL store
turns into ``%s``, and the few differences (the tiebreak between runs started
at the same moment, the order of a run's tests, "no limit") are class
attributes. Each backend supplies how a unit of work runs (:meth:`_read`,
:meth:`_transaction`: under which lock, with which failure handling) and the
bulk writes, which are where the two differ most.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from operator import attrgetter
from typing import (
    Any,
    Callable,
    ClassVar,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history.groups import group_record, latest_attempts
from pytest_orchestra.history.rows import (
    RUN_COLUMNS,
    RUN_SELECT,
    TEST_FIELDS,
    decode_run,
    decode_test,
    encode_run,
)
from pytest_orchestra.history.sqlqueries import CHUNK, Query, TrendQueries, placeholders
from pytest_orchestra.history.summary import COUNT_SQL, RunSummary

_Result = TypeVar("_Result")

_COUNT_KEY = attrgetter("outcome", "category", "flaky", "quarantined")


UPSERT_RUN = (
    f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' for _ in RUN_COLUMNS)})"
    f" ON CONFLICT (run_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in RUN_COLUMNS[1:])
)

_FINISH_RUN = (
    "UPDATE runs SET ended = ?, status = ?, exit_status = ?, success_rate = ?, gate_passed = ?, workers = ?,"
    " plan = ?, rerun_of = ?, code_state = ?, code_changes = ?, summary = ? WHERE run_id = ?"
)


class SqlHistoryStore(TrendQueries):
    """The history API over SQL; subclasses are the backends."""

    #: How runs started at the same moment are ordered (insertion order), newest first.
    RUN_ORDER: ClassVar[str] = "runs.started DESC, runs.rowid DESC"
    #: The order of a run's tests (the order they were added).
    TEST_ORDER: ClassVar[str] = "tests.id"
    #: The LIMIT value meaning "all".
    NO_LIMIT: ClassVar[Optional[int]] = -1

    #: Where the history is, for messages (a path, or a URL without its password).
    location: str = ""
    #: Per run begun by this store: its tests counted as stored, the counts finish_run keeps.
    _counts: Optional[Dict[str, Counter]] = None

    # -- what each backend provides ---------------------------------------------------

    def _read(self, fallback: Callable[[], _Result], work: Callable[[Query], _Result]) -> _Result:
        raise NotImplementedError  # pragma: no cover - abstract

    def _transaction(self, fallback: Callable[[], _Result], work: Callable[[Query], _Result]) -> _Result:
        raise NotImplementedError  # pragma: no cover - abstract

    def _may_prune(self, query: Query) -> bool:
        """Whether this session may prune now (PostgreSQL lets one session at a time)."""
        return True

    # -- writing ----------------------------------------------------------------------

    def begin_run(self, run: RunRecord) -> None:
        """Record a run as it starts, so a killed session still leaves its run behind."""
        self._transaction(lambda: None, lambda q: q(UPSERT_RUN, encode_run(run)))
        # This store sees all of the run's tests: count them as they come (see _finish).
        self._counts = {**(self._counts or {}), run.run_id: Counter()}

    def _counted(self, run_id: str, tests: Sequence[TestRecord]) -> None:
        """After ``tests`` of ``run_id`` were stored: keep counting them, if this store began the run."""
        counts = (self._counts or {}).get(run_id)
        if counts is not None:
            counts.update(map(_COUNT_KEY, tests))

    def finish_run(self, run: RunRecord) -> None:
        """Store how the run ended: end time, status, exit status, rate, gate, workers (and its plan,
        the run it reruns and the code state it tested, which are known once the run has begun),
        with the counts of its tests that trends are drawn from."""
        self._transaction(lambda: None, lambda q: self._finish(q, run))

    def _finish(self, query: Query, run: RunRecord) -> None:
        if not query("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)):
            # begin_run's row went missing (pruned by another session): keep the run anyway.
            query(UPSERT_RUN, encode_run(run))
        counts = (self._counts or {}).pop(run.run_id, None)
        summary = RunSummary.from_rows(
            [key + (count,) for key, count in counts.items()] if counts is not None
            else query(COUNT_SQL, (run.run_id,))
        )
        gate = None if run.gate_passed is None else int(bool(run.gate_passed))
        query(_FINISH_RUN, (run.ended, run.status, run.exit_status, run.success_rate, gate, run.workers,
                            run.plan, run.rerun_of, run.code_state, run.code_changes, summary.to_json(),
                            run.run_id))

    def prune(self, keep_runs: int) -> int:
        """Delete the oldest runs beyond the newest ``keep_runs``, with their tests.

        Runs still ``running`` are never deleted. Returns how many runs went.
        """
        if keep_runs < 0:
            raise ValueError(f"keep_runs must be 0 or more, not {keep_runs}")
        return self._transaction(lambda: 0, lambda q: self._prune(q, keep_runs))

    def _prune(self, query: Query, keep_runs: int) -> int:
        if not self._may_prune(query):
            return 0
        doomed = [row[0] for row in query(
            "SELECT run_id FROM runs WHERE status != 'running' AND run_id NOT IN"
            f" (SELECT run_id FROM runs ORDER BY {self.RUN_ORDER} LIMIT ?)",
            (keep_runs,),
        )]
        for start in range(0, len(doomed), CHUNK):
            chunk = doomed[start:start + CHUNK]
            query(f"DELETE FROM tests WHERE run_id IN ({placeholders(chunk)})", chunk)
            query(f"DELETE FROM runs WHERE run_id IN ({placeholders(chunk)})", chunk)
        if doomed:
            oldest = query("SELECT min(started) FROM runs", ())[0][0]
            query("DELETE FROM group_durations WHERE created < ?", (time.time() if oldest is None else oldest,))
        return len(doomed)

    # -- reading runs -----------------------------------------------------------------

    def get_run(self, run_id: str) -> Optional[RunRecord]:
        """The run with this id; or, for a run group's id, one record standing for the group."""
        return self._read(lambda: None, lambda q: self._get_run(q, run_id))

    def _get_run(self, query: Query, run_id: str) -> Optional[RunRecord]:
        rows = query(f"{RUN_SELECT} WHERE run_id = ?", (run_id,))
        if rows:
            return decode_run(rows[0])
        members = self._group_members(query, run_id)
        if not members:
            return None
        summaries = self._summaries(query, [run.run_id for run in members])
        return group_record(run_id, members, RunSummary.combine(summaries.values()))

    def runs(
        self,
        *,
        branch: Optional[str] = None,
        status: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[RunRecord]:
        """Runs newest first, optionally of one branch and/or status."""
        return self._read(list, lambda q: self._select_runs(q, branch=branch, status=status, limit=limit))

    def last_run(
        self,
        *,
        branch: Optional[str],
        exclude: Optional[str] = None,
        status: str = "complete",
        plan: Optional[str] = None,
        shard: Optional[str] = None,
        exclude_group: Optional[str] = None,
    ) -> Optional[RunRecord]:
        """The newest run with ``status`` on ``branch`` (any branch when ``None``), except ``exclude``.

        With ``plan``, only runs of that workflow plan count; with ``shard``, only runs of
        that shard; ``exclude_group`` leaves out the runs of that group (a shard's siblings).
        """
        found: List[RunRecord] = self._read(list, lambda q: self._select_runs(
            q, branch=branch, status=status, exclude=exclude, limit=1, plan=plan, shard=shard,
            exclude_group=exclude_group,
        ))
        return found[0] if found else None

    def group_runs(self, group: str) -> List[RunRecord]:
        """The runs making up ``group``, oldest first: each shard's latest attempt."""
        return self._read(list, lambda q: self._group_members(q, group))

    # -- reading tests ----------------------------------------------------------------

    def tests(self, run_id: str) -> List[TestRecord]:
        """The run's test records in the order they were added (a group's: run by run)."""
        def work(query: Query) -> List[TestRecord]:
            return [decode_test(row) for row in self._rows_of(query, run_id, TEST_FIELDS)]

        return self._read(list, work)

    def outcomes(self, run_id: str) -> List[Tuple[str, str, bool, bool]]:
        """(nodeid, outcome, flaky, quarantined) of the run's tests: what ordering by history needs."""
        def work(query: Query) -> List[Tuple[str, str, bool, bool]]:
            rows = self._rows_of(query, run_id, "tests.nodeid, tests.outcome, tests.flaky, tests.quarantined")
            return [(str(n), str(o), bool(f), bool(q)) for n, o, f, q in rows]

        return self._read(list, work)

    def _rows_of(self, query: Query, run_id: str, columns: str) -> List[Tuple[Any, ...]]:
        select = f"SELECT {columns} FROM tests WHERE run_id = ? ORDER BY {self.TEST_ORDER}"
        rows = query(select, (run_id,))
        if rows:
            return rows
        for member in self._group_members(query, run_id):
            rows.extend(query(select, (member.run_id,)))
        return rows

    def test_history(self, nodeid: str, *, limit: int = 50) -> List[Tuple[RunRecord, TestRecord]]:
        """The test's records in past runs, newest run first."""
        width = len(RUN_COLUMNS)

        def work(query: Query) -> List[Tuple[RunRecord, TestRecord]]:
            rows = query(
                f"SELECT {', '.join(f'runs.{name}' for name in RUN_COLUMNS)}, {TEST_FIELDS}"
                " FROM tests JOIN runs ON runs.run_id = tests.run_id WHERE tests.nodeid = ?"
                f" ORDER BY {self.RUN_ORDER}, {self.TEST_ORDER} DESC LIMIT ?",
                (nodeid, self._limit(limit)),
            )
            return [(decode_run(row[:width]), decode_test(row[width:])) for row in rows]

        return self._read(list, work)

    def durations(self, *, limit_runs: int = 20, group: Optional[str] = None) -> Dict[str, float]:
        """Median duration per nodeid over the newest ``limit_runs`` complete runs.

        Skipped results are left out: their duration says nothing about the test's cost.
        With ``group``, the figures that group's first reader saw (computed then, from
        runs outside the group, and kept): every shard of a pipeline, and a retried
        shard, plans from the same durations while the others write theirs.
        """
        if group is None:
            return self._read(dict, lambda q: self._median_durations(q, limit_runs, None))
        return self._transaction(dict, lambda q: self._pinned_durations(q, limit_runs, group))

    def _pinned_durations(self, query: Query, limit_runs: int, group: str) -> Dict[str, float]:
        select = "SELECT durations FROM group_durations WHERE run_group = ?"
        rows = query(select, (group,))
        if not rows:
            figures = self._median_durations(query, limit_runs, group)
            query("INSERT INTO group_durations (run_group, created, durations) VALUES (?, ?, ?)"
                  " ON CONFLICT (run_group) DO NOTHING", (group, time.time(), json.dumps(figures, separators=(",", ":"))))
            # Another shard may have pinned its reading first: that one counts.
            rows = query(select, (group,))
        return {str(nodeid): float(seconds) for nodeid, seconds in json.loads(rows[0][0]).items()}

    def _median_durations(self, query: Query, limit_runs: int, exclude_group: Optional[str]) -> Dict[str, float]:
        samples: Dict[str, List[float]] = {}
        for nodeid, duration in query(
            "SELECT nodeid, duration FROM tests WHERE outcome != 'skipped' AND run_id IN"
            f" ({self._complete_runs_sql(exclude_group)})",
            self._complete_runs_values(limit_runs, exclude_group),
        ):
            samples.setdefault(nodeid, []).append(duration)
        return {nodeid: statistics.median(values) for nodeid, values in samples.items()}

    def _complete_runs_sql(self, exclude_group: Optional[str]) -> str:
        other = " AND (run_group IS NULL OR run_group != ?)" if exclude_group is not None else ""
        return f"SELECT run_id FROM runs WHERE status = 'complete'{other} ORDER BY {self.RUN_ORDER} LIMIT ?"

    def _complete_runs_values(self, limit_runs: int, exclude_group: Optional[str]) -> Tuple[object, ...]:
        limit = self._limit(limit_runs)
        return (limit,) if exclude_group is None else (exclude_group, limit)

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> SqlHistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # type: ignore[attr-defined]

    # -- internals ------------------------------------------------------------------------

    def _limit(self, limit: Optional[int]) -> Optional[int]:
        return self.NO_LIMIT if limit is None else max(limit, 0)

    def _group_members(self, query: Query, group: str) -> List[RunRecord]:
        return latest_attempts(decode_run(row) for row in query(f"{RUN_SELECT} WHERE run_group = ?", (group,)))

    def _select_runs(
        self,
        query: Query,
        *,
        branch: Optional[str],
        status: Optional[str],
        limit: Optional[int],
        exclude: Optional[str] = None,
        plan: Optional[str] = None,
        shard: Optional[str] = None,
        exclude_group: Optional[str] = None,
    ) -> List[RunRecord]:
        conditions: List[str] = []
        values: List[object] = []
        for condition, value in (
            ("branch = ?", branch),
            ("status = ?", status),
            ("run_id != ?", exclude),
            ("plan = ?", plan),
            ("shard = ?", shard),
            ("(run_group IS NULL OR run_group != ?)", exclude_group),
        ):
            if value is not None:
                conditions.append(condition)
                values.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = query(f"{RUN_SELECT}{where} ORDER BY {self.RUN_ORDER} LIMIT ?", (*values, self._limit(limit)))
        return [decode_run(row) for row in rows]
