"""Table layout of the history database and the mapping between rows and records.

The layout is versioned with ``PRAGMA user_version``; any change to the tables
below must bump :data:`SCHEMA_VERSION` and add the statements that bring the
previous version up to it to :data:`MIGRATIONS`, so an older database is
migrated in place: a team's history is a ledger worth keeping.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from typing import Dict, List, Optional, Sequence, Tuple

from pytest_orchestra.records import RunRecord, TestRecord

SCHEMA_VERSION: int = 3

# "commit" and "trigger" are SQL keywords, hence the longer column names.
RUN_COLUMNS: Tuple[str, ...] = (
    "run_id",
    "started",
    "ended",
    "status",
    "git_commit",
    "branch",
    "triggered_by",
    "exit_status",
    "workers",
    "success_rate",
    "gate_passed",
    "host",
    "pid",
    "args",
    "plan",
    "rerun_of",
    "code_state",
    "code_changes",
)

TEST_COLUMNS: Tuple[str, ...] = (
    "run_id",
    "nodeid",
    "outcome",
    "phase",
    "duration",
    "start",
    "attempts",
    "category",
    "app",
    "matrix",
    "markers",
    "message",
    "location_file",
    "location_line",
    "worker",
    "flaky",
    "quarantined",
    "fingerprint",
)

CREATE_STATEMENTS: Tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        started REAL NOT NULL,
        ended REAL,
        status TEXT NOT NULL,
        git_commit TEXT,
        branch TEXT,
        triggered_by TEXT NOT NULL,
        exit_status INTEGER,
        workers INTEGER NOT NULL,
        success_rate REAL,
        gate_passed INTEGER,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        args TEXT NOT NULL,
        plan TEXT,
        rerun_of TEXT,
        code_state TEXT,
        code_changes TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS runs_started ON runs(started)",
    """
    CREATE TABLE IF NOT EXISTS tests (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        nodeid TEXT NOT NULL,
        outcome TEXT NOT NULL,
        phase TEXT NOT NULL,
        duration REAL NOT NULL,
        start REAL NOT NULL,
        attempts INTEGER NOT NULL,
        category TEXT,
        app TEXT,
        matrix TEXT NOT NULL,
        markers TEXT NOT NULL,
        message TEXT NOT NULL,
        location_file TEXT,
        location_line INTEGER,
        worker TEXT,
        flaky INTEGER NOT NULL,
        quarantined INTEGER NOT NULL,
        fingerprint TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS tests_run_id ON tests(run_id)",
    "CREATE INDEX IF NOT EXISTS tests_nodeid ON tests(nodeid)",
)

#: Statements bringing a database of version N up to N + 1, run in one write transaction.
MIGRATIONS: Dict[int, Tuple[str, ...]] = {
    # 2: the plan a run used and the run it reruns.
    1: (
        "ALTER TABLE runs ADD COLUMN plan TEXT",
        "ALTER TABLE runs ADD COLUMN rerun_of TEXT",
    ),
    # 3: the code state a run tested (flakiness compares runs of the same code) and the
    # fingerprint of each failure (reviewed labels are found by it).
    2: (
        "ALTER TABLE runs ADD COLUMN code_state TEXT",
        "ALTER TABLE runs ADD COLUMN code_changes TEXT",
        "ALTER TABLE tests ADD COLUMN fingerprint TEXT",
    ),
}

#: What a healthy database must hold, checked cheaply on every open.
EXPECTED_TABLES: Dict[str, Tuple[str, ...]] = {
    "runs": RUN_COLUMNS,
    "tests": ("id",) + TEST_COLUMNS,
}

RUN_SELECT = "SELECT " + ", ".join(f"runs.{name}" for name in RUN_COLUMNS) + " FROM runs"
TEST_FIELDS = ", ".join(f"tests.{name}" for name in TEST_COLUMNS)

INSERT_RUN = (
    f"INSERT OR REPLACE INTO runs ({', '.join(RUN_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in RUN_COLUMNS)})"
)
INSERT_TEST = (
    f"INSERT INTO tests ({', '.join(TEST_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in TEST_COLUMNS)})"
)


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the tables inside the caller's write transaction."""
    for statement in CREATE_STATEMENTS:
        connection.execute(statement)
    # PRAGMA does not take parameters; the value is our own integer.
    connection.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")


def encode_run(run: RunRecord) -> Tuple[object, ...]:
    gate = None if run.gate_passed is None else int(bool(run.gate_passed))
    return (
        run.run_id,
        run.started,
        run.ended,
        run.status,
        run.commit,
        run.branch,
        run.trigger,
        run.exit_status,
        run.workers,
        run.success_rate,
        gate,
        run.host,
        run.pid,
        run.args,
        run.plan,
        run.rerun_of,
        run.code_state,
        run.code_changes,
    )


def decode_run(row: Sequence[object]) -> RunRecord:
    (run_id, started, ended, status, commit, branch, trigger, exit_status,
     workers, rate, gate, host, pid, args, plan, rerun_of, code_state, code_changes) = row
    return RunRecord(
        run_id=str(run_id),
        started=float(started),  # type: ignore[arg-type]
        ended=None if ended is None else float(ended),  # type: ignore[arg-type]
        status=str(status),
        commit=_optional_text(commit),
        branch=_optional_text(branch),
        trigger=str(trigger),
        exit_status=None if exit_status is None else int(exit_status),  # type: ignore[call-overload]
        workers=int(workers),  # type: ignore[call-overload]
        success_rate=None if rate is None else float(rate),  # type: ignore[arg-type]
        gate_passed=None if gate is None else bool(gate),
        host=str(host),
        pid=int(pid),  # type: ignore[call-overload]
        args=str(args),
        plan=_optional_text(plan),
        rerun_of=_optional_text(rerun_of),
        code_state=_optional_text(code_state),
        code_changes=_optional_text(code_changes),
    )


def encode_test(run_id: str, test: TestRecord) -> Tuple[object, ...]:
    location_file, location_line = test.location if test.location else (None, None)
    return (
        run_id,
        test.nodeid,
        test.outcome,
        test.phase,
        test.duration,
        test.start,
        test.attempts,
        test.category,
        test.app,
        _encode_matrix(tuple(test.matrix.items())),
        _encode_markers(tuple(test.markers)),
        test.message,
        location_file,
        location_line,
        test.worker,
        int(test.flaky),
        int(test.quarantined),
        test.fingerprint,
    )


#: Columns a test row often leaves NULL (a passing test without app, worker or location).
_NULLABLE_TEST_COLUMNS = frozenset({"category", "app", "location_file", "location_line", "worker", "fingerprint"})

#: The insert for a row whose nullable columns are all NULL: they are left out and default to NULL.
INSERT_TEST_WITHOUT_NULLS = (
    f"INSERT INTO tests ({', '.join(c for c in TEST_COLUMNS if c not in _NULLABLE_TEST_COLUMNS)}) "
    f"VALUES ({', '.join('?' for c in TEST_COLUMNS if c not in _NULLABLE_TEST_COLUMNS)})"
)


#: The insert for the commonest row of all, a test that passed on its first attempt with no
#: app, cell, marker, message or worker: only what differs per test is bound. Binding a
#: value costs the sqlite3 module more than storing it, so the rest are constants here.
INSERT_PLAIN_PASS = (
    "INSERT INTO tests (run_id, nodeid, duration, start, outcome, phase, attempts, matrix, markers,"
    " message, flaky, quarantined) VALUES (?, ?, ?, ?, 'passed', 'call', 1, '{}', '[]', '', 0, 0)"
)


def test_insert_batches(run_id: str, tests: Sequence[TestRecord]) -> List[Tuple[str, List[Tuple[object, ...]]]]:
    """The inserts for ``tests`` as ``(statement, rows)`` batches for ``executemany``, in order.

    Python's sqlite3 binds ``None`` through its adapter lookup, which raises and
    discards an AttributeError per value: five times per row for a passing test,
    more than the insert itself. Such rows leave those columns out instead.
    """
    batches: List[Tuple[str, List[Tuple[object, ...]]]] = []
    rows: List[Tuple[object, ...]] = []
    statement = ""
    for test in tests:
        if (test.category is None and test.app is None and test.location is None and test.worker is None
                and test.fingerprint is None):
            matrix = test.matrix
            markers = test.markers
            if (
                test.outcome == "passed"
                and test.phase == "call"
                and test.attempts == 1
                and not (matrix or markers or test.message or test.flaky or test.quarantined)
            ):
                if statement is not INSERT_PLAIN_PASS:
                    statement = INSERT_PLAIN_PASS
                    rows = []
                    batches.append((statement, rows))
                rows.append((run_id, test.nodeid, test.duration, test.start))
                continue
            wanted = INSERT_TEST_WITHOUT_NULLS
            row: Tuple[object, ...] = (
                run_id,
                test.nodeid,
                test.outcome,
                test.phase,
                test.duration,
                test.start,
                test.attempts,
                _encode_matrix(tuple(matrix.items())) if matrix else _EMPTY_MATRIX,
                _encode_markers(tuple(markers)) if markers else _EMPTY_MARKERS,
                test.message,
                1 if test.flaky else 0,
                1 if test.quarantined else 0,
            )
        else:
            wanted = INSERT_TEST
            row = encode_test(run_id, test)
        if wanted is not statement:
            statement = wanted
            rows = []
            batches.append((statement, rows))
        rows.append(row)
    return batches


def decode_test(row: Sequence[object]) -> TestRecord:
    (_run_id, nodeid, outcome, phase, duration, start, attempts, category, app,
     matrix, markers, message, location_file, location_line, worker, flaky, quarantined, fingerprint) = row
    location: Optional[Tuple[str, int]] = None
    if location_file is not None:
        line = 0 if location_line is None else int(location_line)  # type: ignore[call-overload]
        location = (str(location_file), line)
    return TestRecord(
        nodeid=str(nodeid),
        outcome=str(outcome),
        phase=str(phase),
        duration=float(duration),  # type: ignore[arg-type]
        start=float(start),  # type: ignore[arg-type]
        attempts=int(attempts),  # type: ignore[call-overload]
        category=_optional_text(category),
        app=_optional_text(app),
        matrix=dict(_decode_matrix(str(matrix))),
        markers=_decode_markers(str(markers)),
        message=str(message),
        location=location,
        worker=_optional_text(worker),
        flaky=bool(flaky),
        quarantined=bool(quarantined),
        fingerprint=_optional_text(fingerprint),
    )


# A fresh encoder per json.dumps call with options costs more than the insert
# itself; and a run has few distinct cells and marker sets, so cache them.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=1024)
def _encode_matrix(items: Tuple[Tuple[str, str], ...]) -> str:
    # Key order is kept: it is the dimension order the cell is shown in.
    return _to_json(dict(items))


@functools.lru_cache(maxsize=1024)
def _encode_markers(names: Tuple[str, ...]) -> str:
    return _to_json(list(names))


#: Most tests have neither a matrix cell nor tracked markers.
_EMPTY_MATRIX = _to_json({})
_EMPTY_MARKERS = _to_json([])


@functools.lru_cache(maxsize=1024)
def _decode_matrix(text: str) -> Tuple[Tuple[str, str], ...]:
    # A tuple, so the cached value cannot be changed through one record's dict.
    return tuple((str(key), str(value)) for key, value in json.loads(text).items())


@functools.lru_cache(maxsize=1024)
def _decode_markers(text: str) -> Tuple[str, ...]:
    return tuple(str(name) for name in json.loads(text))


def _optional_text(value: object) -> Optional[str]:
    return None if value is None else str(value)
