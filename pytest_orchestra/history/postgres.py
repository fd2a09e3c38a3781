"""The PostgreSQL history store: one database every CI machine and shard of a team writes.

Writes are short transactions of their own (a run's tests go in by COPY), so
any number of sessions write at once; a test row's key ``(run_id, seq)``
makes an upload land exactly once. Every call has a deadline (``history.timeout``):
a database that is down, refuses the credentials or stops answering costs one
call to :attr:`on_failure` (the caller's one warning line), after which the
store records and reads nothing, like a closed one. Calls run on a thread of
the store's own, so one that hangs on a dead connection can be abandoned.
"""

from __future__ import annotations

import functools
import queue
import threading
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

import psycopg

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history import pgschema
from pytest_orchestra.history.location import HistoryUrl, mask_url
from pytest_orchestra.history.rows import encode_run
from pytest_orchestra.history.sqlstore import UPSERT_RUN, Query, SqlHistoryStore

_Result = TypeVar("_Result")

#: The name sessions show in ``pg_stat_activity``.
APPLICATION_NAME = "pytest-orchestra"


class HistoryUnavailable(Exception):
    """The database cannot be used; ``str()`` says why in a few words (never the password).

    ``kind``: ``schema`` (newer or foreign tables), ``credentials`` (refused), ``timeout``,
    ``setting`` (an option libpq rejects) or ``unreachable``.
    """

    def __init__(self, reason: str, kind: str = "unreachable") -> None:
        super().__init__(reason)
        self.kind = kind


def failure_kind(error: BaseException) -> str:
    if isinstance(error, _Deadline):
        return "timeout"
    if isinstance(error, psycopg.ProgrammingError):
        return "setting"
    text = str(error).lower()
    if getattr(error, "sqlstate", None) in ("28P01", "28000") or "authentication failed" in text \
            or "no password supplied" in text:
        return "credentials"
    if "does not exist" in text or ("invalid" in text and ("value" in text or "option" in text or "uri" in text)):
        return "setting"
    return "unreachable"


class _Deadline(Exception):
    pass


class CallThread:
    """Runs one call at a time on a daemon thread and waits for it at most ``timeout`` seconds.

    A call past its deadline is abandoned where it hangs (the thread is a daemon, so
    it never holds up the interpreter's exit); the store never uses the thread again.
    """

    def __init__(self) -> None:
        self._calls: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="orchestra-history", daemon=True).start()

    def _serve(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            function, outcome, done = call
            try:
                outcome.append((True, function()))
            except BaseException as error:  # handed to the caller, who decides
                outcome.append((False, error))
            done.set()

    def call(self, function: Callable[[], _Result], timeout: float) -> _Result:
        outcome: List[Tuple[bool, Any]] = []
        done = threading.Event()
        self._calls.put((function, outcome, done))
        if not done.wait(timeout):
            raise _Deadline()
        succeeded, value = outcome[0]
        if not succeeded:
            raise value
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Let the thread end once it is done with what it has (a hung call keeps it)."""
        self._calls.put(None)


def describe_error(error: BaseException, timeout: float) -> str:
    """A few words for a failure, from the driver's multi-line message (never the password)."""
    if isinstance(error, _Deadline):
        return f"no answer within {timeout:g} s (history.timeout)"
    text = str(error).strip() or type(error).__name__
    first = text.splitlines()[0]
    # libpq: 'connection failed: connection to server at "h", port 5432 failed: FATAL:  password ...'
    detail = first.rsplit(" failed: ", 1)[-1] if " failed: " in first else first
    detail = detail.replace("FATAL:  ", "").replace("ERROR:  ", "").strip()
    return mask_url(detail)


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    return sql.replace("?", "%s")


class PostgresHistoryStore(SqlHistoryStore):
    """Run and test records in a PostgreSQL database; get one with :meth:`open`."""

    RUN_ORDER = "runs.started DESC, runs.id DESC"
    TEST_ORDER = "tests.seq"
    NO_LIMIT = None

    def __init__(self, target: HistoryUrl, connection: Any, calls: CallThread, timeout: float,
                 on_failure: Callable[[str], None]) -> None:
        self.target = target
        self.location = target.shown
        self.timeout = timeout
        self.on_failure = on_failure
        #: Why the store stopped, once it has.
        self.failure: Optional[str] = None
        self._connection: Optional[Any] = connection
        self._calls = calls
        self._next_seq: dict = {}
        self._lock = threading.RLock()

    @classmethod
    def open(cls, target: HistoryUrl, *, timeout: float,
             on_failure: Callable[[str], None]) -> PostgresHistoryStore:
        """Connect, create or migrate the tables, mark dead sessions' runs ``incomplete``.

        Raises :class:`HistoryUnavailable` (why, in a few words) when the database
        cannot be used: down, too slow, credentials refused, a newer schema.
        """
        calls = CallThread()

        def connect() -> Any:
            connection = psycopg.connect(target.url, autocommit=True, application_name=APPLICATION_NAME,
                                         connect_timeout=max(2, int(timeout + 0.999)))
            try:
                pgschema.prepare(connection)
                pgschema.mark_stale_runs(connection)
            except BaseException:
                connection.close()
                raise
            return connection

        try:
            connection = calls.call(connect, timeout + 1)
        except pgschema.SchemaRefused as refused:
            calls.stop()
            raise HistoryUnavailable(str(refused), "schema") from None
        except (psycopg.Error, OSError, _Deadline) as error:
            calls.stop()  # a hung connect keeps its thread; it ends with the process
            raise HistoryUnavailable(describe_error(error, timeout), failure_kind(error)) from None
        return cls(target, connection, calls, timeout, on_failure)

    # -- the units of work SqlHistoryStore runs ------------------------------------------

    def _read(self, fallback: Callable[[], _Result], work: Callable[[Query], _Result]) -> _Result:
        return self._run(fallback, lambda: work(self._query))

    def _transaction(self, fallback: Callable[[], _Result], work: Callable[[Query], _Result]) -> _Result:
        def in_transaction() -> _Result:
            with self._db.transaction():
                return work(self._query)

        return self._run(fallback, in_transaction)

    def _run(self, fallback: Callable[[], _Result], call: Callable[[], _Result]) -> _Result:
        with self._lock:
            if self._connection is None:
                return fallback()
            try:
                return self._calls.call(call, self.timeout)
            except (psycopg.Error, OSError, _Deadline) as error:
                self._fail(describe_error(error, self.timeout), hung=isinstance(error, _Deadline))
                return fallback()

    def _query(self, sql: str, params: Sequence[object]) -> List[Tuple[Any, ...]]:
        cursor = self._db.execute(_placeholders(sql), params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description is not None else []

    def _may_prune(self, query: Query) -> bool:
        # One session prunes at a time; the others leave it to that one.
        return bool(query("SELECT pg_try_advisory_xact_lock(?)", (pgschema.PRUNE_LOCK,))[0][0])

    def _median_durations(self, query: Query, limit_runs: int, exclude_group: Optional[str]) -> dict:
        # "= ANY(ARRAY(...))", not "IN (...)": with IN the planner may hash-join a scan of the
        # whole table (300 ms at a million rows) instead of reading the runs' rows by index (8 ms).
        rows = query(
            "SELECT nodeid, percentile_cont(0.5) WITHIN GROUP (ORDER BY duration) FROM tests"
            f" WHERE outcome != 'skipped' AND run_id = ANY(ARRAY({self._complete_runs_sql(exclude_group)}))"
            " GROUP BY nodeid",
            self._complete_runs_values(limit_runs, exclude_group),
        )
        return {str(nodeid): float(median) for nodeid, median in rows}

    # -- bulk writing ------------------------------------------------------------------

    def add_tests(self, run_id: str, tests: Sequence[TestRecord]) -> None:
        """Append test records with one COPY, committed before returning."""
        if not tests:
            return

        def work(query: Query) -> bool:
            first = self._next_seq.get(run_id)
            if first is None:
                first = int(query("SELECT coalesce(max(seq) + 1, 0) FROM tests WHERE run_id = ?", (run_id,))[0][0])
            self._copy("tests", pgschema.copy_rows(run_id, first, tests))
            self._next_seq[run_id] = first + len(tests)
            return True

        if self._transaction(lambda: False, work):
            self._counted(run_id, tests)

    def import_run(self, run: RunRecord, tests: Sequence[TestRecord]) -> int:
        """Store a whole run exactly once: the run as given; of ``tests``, the ones whose place
        in the run is not taken yet (a partial upload, or a run written before a failure)."""
        def work(query: Query) -> int:
            query(UPSERT_RUN, encode_run(run))
            query("CREATE TEMPORARY TABLE IF NOT EXISTS incoming_tests (LIKE tests) ON COMMIT DELETE ROWS", ())
            self._copy("incoming_tests", pgschema.copy_rows(run.run_id, 0, tests))
            added = self._db.execute("INSERT INTO tests SELECT * FROM incoming_tests"
                                     " ON CONFLICT (run_id, seq) DO NOTHING").rowcount
            self._finish(query, run)
            return int(added)

        return self._transaction(lambda: 0, work)

    def _copy(self, table: str, data: bytes) -> None:
        columns = ", ".join(pgschema.COPY_COLUMNS)
        with self._db.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[arg-type]
            copy.write(data)

    def schema_version(self) -> int:
        return self._read(lambda: 0, lambda q: int(q("SELECT max(version) FROM schema_version", ())[0][0] or 0))

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            try:
                self._calls.call(connection.close, self.timeout)
            except (psycopg.Error, OSError, _Deadline):  # pragma: no cover - closing a broken connection
                pass
        self._calls.stop()

    def __enter__(self) -> PostgresHistoryStore:
        return self

    @property
    def _db(self) -> Any:
        assert self._connection is not None, "calls only run while open"
        return self._connection

    def _fail(self, reason: str, *, hung: bool) -> None:
        connection, self._connection = self._connection, None
        self.failure = reason
        if connection is not None and not hung:
            try:
                connection.close()
            except (psycopg.Error, OSError):  # pragma: no cover - closing a broken connection
                pass
        # A hung connection is left to its thread: closing it under the call could crash the driver.
        self.on_failure(reason)
