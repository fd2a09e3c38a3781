"""Table layout of the SQLite history file, its migrations, and its inserts.

The layout is versioned with ``PRAGMA user_version`` (read on every open, for
nothing) and, from version 4, ledgered in the ``schema_version`` table (when
each version was reached, and by which pytest-orchestra). Any change to the
tables below must bump :data:`SCHEMA_VERSION` and add the statements that
bring the previous version up to it to :data:`MIGRATIONS`, so an older
database is migrated in place: a team's history is a ledger worth keeping.
The PostgreSQL backend shares the version numbers (see ``pgschema``).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Dict, List, Sequence, Tuple

from pytest_orchestra.core.records import TestRecord
from pytest_orchestra.history.rows import (
    EMPTY_MARKERS,
    EMPTY_MATRIX,
    RUN_COLUMNS,
    TEST_COLUMNS,
    encode_markers,
    encode_matrix,
    encode_test,
)

SCHEMA_VERSION: int = 4

#: Tables and indexes added in version 4, shared by creation and the migration.
_VERSION_4_OBJECTS: Tuple[str, ...] = (
    # One row per version the file reached: when, and which pytest-orchestra took it there.
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied REAL NOT NULL,"
    " tool TEXT NOT NULL)",
    # The durations every shard of one run group plans with: the first shard's reading.
    "CREATE TABLE IF NOT EXISTS group_durations (run_group TEXT PRIMARY KEY, created REAL NOT NULL,"
    " durations TEXT NOT NULL)",
    # The last complete run on a branch (no_regression, trends), and a group's runs.
    "CREATE INDEX IF NOT EXISTS runs_branch ON runs(branch, status, started)",
    "CREATE INDEX IF NOT EXISTS runs_group ON runs(run_group)",
    # The flaky results of recent runs (trends): few rows, so a small partial index.
    "CREATE INDEX IF NOT EXISTS tests_flaky ON tests(run_id) WHERE flaky = 1",
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
        code_changes TEXT,
        run_group TEXT,
        shard TEXT,
        summary TEXT
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
) + _VERSION_4_OBJECTS

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
    # 4: run groups (a pipeline's shards are one run), each run's counts for trends,
    # the version ledger, pinned shard durations, and indexes for the per-session reads.
    3: (
        "ALTER TABLE runs ADD COLUMN run_group TEXT",
        "ALTER TABLE runs ADD COLUMN shard TEXT",
        "ALTER TABLE runs ADD COLUMN summary TEXT",
    ) + _VERSION_4_OBJECTS,
}

#: What a healthy database must hold, checked cheaply on every open.
EXPECTED_TABLES: Dict[str, Tuple[str, ...]] = {
    "runs": RUN_COLUMNS + ("summary",),
    "tests": ("id",) + TEST_COLUMNS,
    "schema_version": ("version", "applied", "tool"),
    "group_durations": ("run_group", "created", "durations"),
}

INSERT_RUN = (
    f"INSERT OR REPLACE INTO runs ({', '.join(RUN_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in RUN_COLUMNS)})"
)
INSERT_TEST = (
    f"INSERT INTO tests ({', '.join(TEST_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in TEST_COLUMNS)})"
)


def tool_version() -> str:
    """``pytest-orchestra X``, for the version ledger."""
    from pytest_orchestra.workflow.sections import orchestra_version

    return f"pytest-orchestra {orchestra_version()}"


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the tables inside the caller's write transaction."""
    for statement in CREATE_STATEMENTS:
        connection.execute(statement)
    record_version(connection, SCHEMA_VERSION)
    # PRAGMA does not take parameters; the value is our own integer.
    connection.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")


def record_version(connection: sqlite3.Connection, version: int) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO schema_version (version, applied, tool) VALUES (?, ?, ?)",
        (version, time.time(), tool_version()),
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
                encode_matrix(tuple(matrix.items())) if matrix else EMPTY_MATRIX,
                encode_markers(tuple(markers)) if markers else EMPTY_MARKERS,
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
