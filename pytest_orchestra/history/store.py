"""The SQLite history store: every pytest session appends its run and tests to one file.

Only the controller process writes (the plugin keeps xdist workers away). Each
write is one short ``BEGIN IMMEDIATE`` transaction, so two sessions in the same
folder interleave safely, and a killed session leaves what it wrote so far.

History must never break a test run: a damaged or foreign file is moved aside
with one warning line, a file of a newer pytest-orchestra is left alone with
one warning line, an unusable location gives a :class:`NullHistoryStore`, and
a failure during the run turns the store off with one warning line.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar, Union

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history import schema
from pytest_orchestra.history.connection import connect, use_wal, write_transaction
from pytest_orchestra.history.null import NullHistoryStore, Warn, warn_to_stderr
from pytest_orchestra.history.recovery import (
    Problem,
    file_identity,
    header_problem,
    inspect,
    mark_stale_runs,
    move_aside,
)
from pytest_orchestra.history.rows import encode_run
from pytest_orchestra.history.sqlstore import UPSERT_RUN, Query, SqlHistoryStore

SCHEMA_VERSION: int = schema.SCHEMA_VERSION

_Result = TypeVar("_Result")

#: Opening retries when another session moves or replaces the file under us.
_OPEN_ATTEMPTS = 3


class HistoryStore(SqlHistoryStore):
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
        self.location = str(path)
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
        if not problem.move:
            # A newer pytest-orchestra's history is refused, never replaced: upgrading keeps it.
            warn(f"orchestra: history database {path} {problem.finding}; left as it is and run history "
                 "is not recorded (upgrade pytest-orchestra to use it)")
            return NullHistoryStore(path)
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

    # -- the units of work SqlHistoryStore runs ------------------------------------------

    def _read(self, fallback: Callable[[], _Result], work: Callable[[Query], _Result]) -> _Result:
        """Run ``work`` under the lock; a SQLite failure turns the store off instead of raising."""
        with self._lock:
            if self._connection is None:
                return fallback()
            try:
                return work(self._query)
            except sqlite3.Error as error:
                self._fail(error)
                return fallback()

    def _transaction(self, fallback: Callable[[], _Result], work: Callable[[Query], _Result]) -> _Result:
        """Like :meth:`_read`, in one write transaction: committed on success, else rolled back."""
        def in_transaction(query: Query) -> _Result:
            with write_transaction(self._db):
                return work(query)

        return self._read(fallback, in_transaction)

    def _query(self, sql: str, params: Sequence[object]) -> List[Tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    # -- bulk writing ------------------------------------------------------------------

    def add_tests(self, run_id: str, tests: Sequence[TestRecord]) -> None:
        """Append test records in one transaction, committed before returning."""
        batches = schema.test_insert_batches(run_id, tests)
        if not batches:
            return

        def work(query: Query) -> bool:
            for statement, rows in batches:
                self._db.executemany(statement, rows)
            return True

        if self._transaction(lambda: False, work):
            self._counted(run_id, tests)

    def import_run(self, run: RunRecord, tests: Sequence[TestRecord]) -> int:
        """Store a whole run from another history: the run as given, and those of ``tests``
        (in their order) beyond the ones already here. Returns how many tests were added."""
        def work(query: Query) -> int:
            (present,) = query("SELECT count(*) FROM tests WHERE run_id = ?", (run.run_id,))[0]
            query(UPSERT_RUN, encode_run(run))
            added = tests[int(present):]
            for statement, rows in schema.test_insert_batches(run.run_id, added):
                self._db.executemany(statement, rows)
            self._finish(query, run)
            return len(added)

        return self._transaction(lambda: 0, work)

    def schema_version(self) -> int:
        return self._read(lambda: 0, lambda q: int(q("PRAGMA user_version", ())[0][0]))

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            _close_quietly(connection)

    def __enter__(self) -> HistoryStore:
        return self

    # -- internals -----------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._connection is not None, "guarded methods only run while open"
        return self._connection

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


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _close_quietly(connection: Optional[sqlite3.Connection]) -> None:
    if connection is None:
        return
    try:
        connection.close()
    except sqlite3.Error:  # pragma: no cover - closing a broken handle
        pass
