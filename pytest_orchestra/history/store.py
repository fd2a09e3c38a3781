"""The run history store: every pytest session appends its run and tests to one SQLite file.

Only the controller process writes (the plugin keeps xdist workers away). Each
write is one short ``BEGIN IMMEDIATE`` transaction, so two sessions in the same
folder interleave safely, and a killed session leaves what it wrote so far.

History must never break a test run: a damaged or foreign file is moved aside
with one warning line, an unusable location gives a :class:`NullHistoryStore`,
and a failure during the run turns the store off with one warning line.
"""

from __future__ import annotations

import functools
import sqlite3
import sys
import threading
from pathlib import Path
from typing import (
    Callable,
    Concatenate,
    Dict,
    List,
    Optional,
    ParamSpec,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from pytest_orchestra.history import schema
from pytest_orchestra.history.connection import connect, use_wal, write_transaction
from pytest_orchestra.history.recovery import (
    Problem,
    file_identity,
    header_problem,
    inspect,
    mark_stale_runs,
    move_aside,
)
from pytest_orchestra.records import RunRecord, TestRecord

SCHEMA_VERSION: int = schema.SCHEMA_VERSION

Warn = Callable[[str], None]

_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


def warn_to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


#: Opening retries when another session moves or replaces the file under us.
_OPEN_ATTEMPTS = 3


def _guarded(
    fallback: Callable[[], _Result],
) -> Callable[
    [Callable[Concatenate[HistoryStore, _Params], _Result]],
    Callable[Concatenate[HistoryStore, _Params], _Result],
]:
    """Run a store method under the lock; a SQLite failure turns the store off instead of raising."""

    def decorate(
        method: Callable[Concatenate[HistoryStore, _Params], _Result],
    ) -> Callable[Concatenate[HistoryStore, _Params], _Result]:
        @functools.wraps(method)
        def guarded(self: HistoryStore, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
            with self._lock:
                if self._connection is None:
                    return fallback()
                try:
                    return method(self, *args, **kwargs)
                except sqlite3.Error as error:
                    self._fail(error)
                    return fallback()

        return guarded

    return decorate


class HistoryStore:
    """Run and test records of past sessions, in ``.orchestra/history.db``.

    Get one with :meth:`open`. After :meth:`close`, or after a failure that was
    reported through ``warn``, every method quietly does nothing and reads
    return empty results, like :class:`NullHistoryStore`.
    """

    def __init__(
        self,
        path: Path,
        connection: sqlite3.Connection,
        identity: Optional[Tuple[int, int]],
        warn: Warn,
    ) -> None:
        self.path = path
        self._connection: Optional[sqlite3.Connection] = connection
        self._identity = identity
        self._warn = warn
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, *, warn: Warn = warn_to_stderr) -> Union[HistoryStore, NullHistoryStore]:
        """Open (or create) the database at ``path``; never raises for a bad file or folder."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return NullHistoryStore.unusable(path, error.strerror or str(error), warn)
        for _attempt in range(_OPEN_ATTEMPTS):
            opened = cls._open_once(path, warn)
            if opened is not None:
                return opened
        return NullHistoryStore.unusable(  # pragma: no cover - needs a racing session
            path, "another session keeps replacing it", warn
        )

    @classmethod
    def _open_once(cls, path: Path, warn: Warn) -> Union[HistoryStore, NullHistoryStore, None]:
        """One attempt; ``None`` asks for another after a bad file was moved aside."""
        identity = file_identity(path)
        # A file that is not SQLite at all is judged without SQLite, which would
        # delete its -wal/-shm sidecars on close instead of letting them be moved.
        problem = header_problem(path)
        if problem is None:
            connection: Optional[sqlite3.Connection] = None
            try:
                connection = connect(path)
                problem = inspect(connection)
                if problem is None:
                    use_wal(connection)
                    mark_stale_runs(connection)
                    return cls(path, connection, identity or file_identity(path), warn)
            except sqlite3.OperationalError as error:
                # Locked for longer than the busy timeout, read-only, I/O error:
                # the file may be fine, so it is left where it is.
                _close_quietly(connection)
                return NullHistoryStore.unusable(path, _reason(error), warn)
            except sqlite3.DatabaseError as error:
                problem = Problem.corrupt(_reason(error))
            _close_quietly(connection)
        if identity is not None and file_identity(path) != identity:
            return None  # another session already replaced it: look again
        try:
            moved = move_aside(path, problem.label)
        except FileNotFoundError:
            return None
        except OSError as error:
            warn(
                f"orchestra: history database {path} {problem.finding} and could not be "
                f"moved aside ({error.strerror or error}); run history is not recorded"
            )
            return NullHistoryStore(path)
        warn(
            f"orchestra: history database {path} {problem.finding}; "
            f"moved it to {moved} and started a new one"
        )
        return None

    # -- writing -------------------------------------------------------------

    @_guarded(lambda: None)
    def begin_run(self, run: RunRecord) -> None:
        """Record a run as it starts, so a killed session still leaves its run behind."""
        with write_transaction(self._db) as db:
            db.execute(schema.INSERT_RUN, schema.encode_run(run))

    @_guarded(lambda: None)
    def add_tests(self, run_id: str, tests: Sequence[TestRecord]) -> None:
        """Append test records in one transaction, committed before returning."""
        batches = schema.test_insert_batches(run_id, tests)
        if not batches:
            return
        with write_transaction(self._db) as db:
            for statement, rows in batches:
                db.executemany(statement, rows)

    @_guarded(lambda: None)
    def finish_run(self, run: RunRecord) -> None:
        """Store how the run ended: end time, status, exit status, rate, gate, workers (and its plan,
        the run it reruns and the code state it tested, which are known once the run has begun)."""
        gate = None if run.gate_passed is None else int(bool(run.gate_passed))
        with write_transaction(self._db) as db:
            updated = db.execute(
                "UPDATE runs SET ended = ?, status = ?, exit_status = ?, success_rate = ?,"
                " gate_passed = ?, workers = ?, plan = ?, rerun_of = ?, code_state = ?,"
                " code_changes = ? WHERE run_id = ?",
                (run.ended, run.status, run.exit_status, run.success_rate, gate,
                 run.workers, run.plan, run.rerun_of, run.code_state, run.code_changes, run.run_id),
            ).rowcount
            if not updated:
                # begin_run's row went missing (pruned by another session): keep the run anyway.
                db.execute(schema.INSERT_RUN, schema.encode_run(run))

    @_guarded(lambda: 0)
    def prune(self, keep_runs: int) -> int:
        """Delete the oldest runs beyond the newest ``keep_runs``, with their tests.

        Runs still ``running`` are never deleted. Returns how many runs went.
        """
        if keep_runs < 0:
            raise ValueError(f"keep_runs must be 0 or more, not {keep_runs}")
        with write_transaction(self._db) as db:
            doomed = db.execute(
                "SELECT run_id FROM runs WHERE status != 'running' AND run_id NOT IN"
                " (SELECT run_id FROM runs ORDER BY started DESC, rowid DESC LIMIT ?)",
                (keep_runs,),
            ).fetchall()
            db.executemany("DELETE FROM tests WHERE run_id = ?", doomed)
            db.executemany("DELETE FROM runs WHERE run_id = ?", doomed)
        return len(doomed)

    # -- reading -------------------------------------------------------------

    @_guarded(lambda: None)
    def get_run(self, run_id: str) -> Optional[RunRecord]:
        row = self._db.execute(f"{schema.RUN_SELECT} WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else schema.decode_run(row)

    @_guarded(list)
    def runs(
        self,
        *,
        branch: Optional[str] = None,
        status: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[RunRecord]:
        """Runs newest first, optionally of one branch and/or status."""
        return self._select_runs(branch=branch, status=status, exclude=None, limit=limit)

    @_guarded(lambda: None)
    def last_run(
        self,
        *,
        branch: Optional[str],
        exclude: Optional[str] = None,
        status: str = "complete",
        plan: Optional[str] = None,
    ) -> Optional[RunRecord]:
        """The newest run with ``status`` on ``branch`` (any branch when ``None``), except ``exclude``.

        With ``plan``, only runs of that workflow plan count.
        """
        found = self._select_runs(branch=branch, status=status, exclude=exclude, limit=1, plan=plan)
        return found[0] if found else None

    @_guarded(list)
    def tests(self, run_id: str) -> List[TestRecord]:
        """The run's test records in the order they were added."""
        rows = self._db.execute(
            f"SELECT {schema.TEST_FIELDS} FROM tests WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [schema.decode_test(row) for row in rows]

    @_guarded(list)
    def outcomes(self, run_id: str) -> List[Tuple[str, str, bool, bool]]:
        """(nodeid, outcome, flaky, quarantined) of the run's tests: what ordering by history needs."""
        rows = self._db.execute(
            "SELECT nodeid, outcome, flaky, quarantined FROM tests WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [(str(n), str(o), bool(f), bool(q)) for n, o, f, q in rows]

    @_guarded(list)
    def test_history(self, nodeid: str, *, limit: int = 50) -> List[Tuple[RunRecord, TestRecord]]:
        """The test's records in past runs, newest run first."""
        width = len(schema.RUN_COLUMNS)
        rows = self._db.execute(
            f"SELECT {', '.join(f'runs.{name}' for name in schema.RUN_COLUMNS)}, {schema.TEST_FIELDS}"
            " FROM tests JOIN runs ON runs.run_id = tests.run_id WHERE tests.nodeid = ?"
            " ORDER BY runs.started DESC, runs.rowid DESC, tests.id DESC LIMIT ?",
            (nodeid, _sql_limit(limit)),
        )
        return [(schema.decode_run(row[:width]), schema.decode_test(row[width:])) for row in rows]

    @_guarded(dict)
    def durations(self, *, limit_runs: int = 20) -> Dict[str, float]:
        """Median duration per nodeid over the newest ``limit_runs`` complete runs.

        Skipped results are left out: their duration says nothing about the test's cost.
        """
        samples: Dict[str, List[float]] = {}
        rows = self._db.execute(
            "SELECT nodeid, duration FROM tests WHERE outcome != 'skipped' AND run_id IN"
            " (SELECT run_id FROM runs WHERE status = 'complete'"
            "  ORDER BY started DESC, rowid DESC LIMIT ?)",
            (_sql_limit(limit_runs),),
        )
        for nodeid, duration in rows:
            samples.setdefault(nodeid, []).append(duration)
        import statistics  # only for this reader, not on every run's start

        return {nodeid: statistics.median(values) for nodeid, values in samples.items()}

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            _close_quietly(connection)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._connection is not None, "guarded methods only run while open"
        return self._connection

    def _select_runs(
        self,
        *,
        branch: Optional[str],
        status: Optional[str],
        exclude: Optional[str],
        limit: Optional[int],
        plan: Optional[str] = None,
    ) -> List[RunRecord]:
        conditions: List[str] = []
        values: List[object] = []
        for condition, value in (
            ("branch = ?", branch),
            ("status = ?", status),
            ("run_id != ?", exclude),
            ("plan = ?", plan),
        ):
            if value is not None:
                conditions.append(condition)
                values.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._db.execute(
            f"{schema.RUN_SELECT}{where} ORDER BY started DESC, rowid DESC LIMIT ?",
            (*values, _sql_limit(limit)),
        )
        return [schema.decode_run(row) for row in rows]

    def _fail(self, error: sqlite3.Error) -> None:
        """Turn the store off after a failure, moving the file aside if SQLite found damage."""
        connection, self._connection = self._connection, None
        _close_quietly(connection)
        reason = _reason(error)
        # Plain DatabaseError is SQLite's "corrupt"/"not a database"; its subclasses
        # (locked, read-only, I/O, constraint) leave the file itself intact.
        if type(error) is sqlite3.DatabaseError and file_identity(self.path) == self._identity:
            try:
                moved = move_aside(self.path, "corrupt")
            except OSError:
                pass
            else:
                self._warn(
                    f"orchestra: history database {self.path} is corrupt ({reason}); "
                    f"moved it to {moved}; run history is not recorded for the rest of this run"
                )
                return
        self._warn(
            f"orchestra: history database {self.path} failed ({reason}); "
            "run history is not recorded for the rest of this run"
        )


class NullHistoryStore:
    """Stands in for :class:`HistoryStore` where no history can be kept: records nothing."""

    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = path

    @classmethod
    def unusable(cls, path: Path, reason: str, warn: Warn) -> NullHistoryStore:
        warn(f"orchestra: cannot use history database {path} ({reason}); run history is not recorded")
        return cls(path)

    def begin_run(self, run: RunRecord) -> None:
        pass

    def add_tests(self, run_id: str, tests: Sequence[TestRecord]) -> None:
        pass

    def finish_run(self, run: RunRecord) -> None:
        pass

    def get_run(self, run_id: str) -> Optional[RunRecord]:
        return None

    def runs(
        self,
        *,
        branch: Optional[str] = None,
        status: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[RunRecord]:
        return []

    def last_run(
        self,
        *,
        branch: Optional[str],
        exclude: Optional[str] = None,
        status: str = "complete",
        plan: Optional[str] = None,
    ) -> Optional[RunRecord]:
        return None

    def tests(self, run_id: str) -> List[TestRecord]:
        return []

    def outcomes(self, run_id: str) -> List[Tuple[str, str, bool, bool]]:
        return []

    def test_history(self, nodeid: str, *, limit: int = 50) -> List[Tuple[RunRecord, TestRecord]]:
        return []

    def durations(self, *, limit_runs: int = 20) -> Dict[str, float]:
        return {}

    def prune(self, keep_runs: int) -> int:
        return 0

    def close(self) -> None:
        pass

    def __enter__(self) -> NullHistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


def _sql_limit(limit: Optional[int]) -> int:
    # SQLite reads a negative LIMIT as "no limit".
    return -1 if limit is None else max(limit, 0)


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _close_quietly(connection: Optional[sqlite3.Connection]) -> None:
    if connection is None:
        return
    try:
        connection.close()
    except sqlite3.Error:  # pragma: no cover - closing a broken handle
        pass
