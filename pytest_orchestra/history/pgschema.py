"""The PostgreSQL history's tables, their version, migrations, and the COPY rows that fill them.

The same columns as the SQLite file (:mod:`rows`), plus ``runs.id`` (insertion
order, the tiebreak between runs started at the same moment) and
``tests.seq`` (a test's place in its run): ``(run_id, seq)`` is the key that
makes an upload land exactly once. Versions share the SQLite file's numbers;
PostgreSQL history starts at version 4. ``schema_version`` holds one row per
version reached; a database at an older version is migrated in place (under
an advisory lock, so concurrent sessions migrate once), a newer one refused.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pytest_orchestra.core.records import TestRecord
from pytest_orchestra.core.runinfo import host_name
from pytest_orchestra.history import schema
from pytest_orchestra.history.recovery import (
    STALE_AFTER_SECONDS,
    newer_schema_finding,
    pid_alive,
)
from pytest_orchestra.history.rows import TEST_COLUMNS, encode_markers, encode_matrix

SCHEMA_VERSION: int = schema.SCHEMA_VERSION

#: ``pg_advisory_xact_lock`` keys: creating or migrating the tables, pruning.
SCHEMA_LOCK = 0x6F72_6368_0001
PRUNE_LOCK = 0x6F72_6368_0002

CREATE_STATEMENTS: Tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id BIGINT GENERATED ALWAYS AS IDENTITY,
        run_id TEXT PRIMARY KEY,
        started DOUBLE PRECISION NOT NULL,
        ended DOUBLE PRECISION,
        status TEXT NOT NULL,
        git_commit TEXT,
        branch TEXT,
        triggered_by TEXT NOT NULL,
        exit_status INTEGER,
        workers INTEGER NOT NULL,
        success_rate DOUBLE PRECISION,
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
    "CREATE INDEX runs_started ON runs (started, id)",
    # The last complete run on a branch (no_regression, trends) and a group's runs.
    "CREATE INDEX runs_branch ON runs (branch, status, started)",
    "CREATE INDEX runs_group ON runs (run_group) WHERE run_group IS NOT NULL",
    """
    CREATE TABLE tests (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        nodeid TEXT NOT NULL,
        outcome TEXT NOT NULL,
        phase TEXT NOT NULL,
        duration DOUBLE PRECISION NOT NULL,
        start DOUBLE PRECISION NOT NULL,
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
        fingerprint TEXT,
        PRIMARY KEY (run_id, seq)
    )
    """,
    # A test's recent outcomes (flakiness, quarantine), per failing test and session.
    "CREATE INDEX tests_nodeid ON tests (nodeid)",
    "CREATE INDEX tests_flaky ON tests (run_id) WHERE flaky = 1",
    "CREATE TABLE group_durations (run_group TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL,"
    " durations TEXT NOT NULL)",
)

#: Statements bringing a database of version N (4 or later) up to N + 1, in one transaction.
MIGRATIONS: Dict[int, Tuple[str, ...]] = {}

LEDGER = (
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL,"
    " tool TEXT NOT NULL)"
)


class SchemaRefused(Exception):
    """The database cannot be used as it is; ``str()`` completes "history database <url> ..."."""


def prepare(connection: Any) -> int:
    """Make the database hold this version's tables: create, migrate, or refuse. Returns the version."""
    version = _version(connection)
    if version == SCHEMA_VERSION:
        return version
    if version is not None and version > SCHEMA_VERSION:
        raise SchemaRefused(newer_schema_finding(version, SCHEMA_VERSION))
    # Sessions starting together on a new database: one creates, the others find it made. A
    # session-level lock, then a transaction of its own: one begun before the wait could read
    # the catalog as it was before the other session's tables were committed.
    connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
    try:
        return _create_or_migrate(connection)
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def _create_or_migrate(connection: Any) -> int:
    with connection.transaction():
        version = _version(connection)
        if version is None:
            if _exists(connection, "runs") or _exists(connection, "tests"):
                raise SchemaRefused("holds tables named runs or tests but no pytest-orchestra schema version"
                                    " (point history.url at a database or schema of its own)")
            connection.execute(LEDGER)
            for statement in CREATE_STATEMENTS:
                connection.execute(statement)
            _record(connection, SCHEMA_VERSION)
            return SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise SchemaRefused(newer_schema_finding(version, SCHEMA_VERSION))
        for step in range(version, SCHEMA_VERSION):
            if step not in MIGRATIONS:
                raise SchemaRefused(f"has schema version {version}, which this pytest-orchestra cannot migrate")
            for statement in MIGRATIONS[step]:
                connection.execute(statement)
            _record(connection, step + 1)
    return SCHEMA_VERSION


def _version(connection: Any) -> Optional[int]:
    if not _exists(connection, "schema_version"):
        return None
    (version,) = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    return None if version is None else int(version)


def _exists(connection: Any, table: str) -> bool:
    return connection.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None


def _record(connection: Any, version: int) -> None:
    connection.execute(
        "INSERT INTO schema_version (version, applied, tool) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (version, time.time(), schema.tool_version()),
    )


def mark_stale_runs(connection: Any, *, now: Optional[float] = None) -> int:
    """Mark runs left ``running`` by dead sessions as ``incomplete`` (as the SQLite file does):
    older than a day, or of this host with a pid that no longer exists."""
    now = time.time() if now is None else now
    this_host = host_name()
    running = connection.execute("SELECT run_id, started, host, pid FROM runs WHERE status = 'running'").fetchall()
    stale: List[str] = [
        run_id for run_id, started, host, pid in running
        if started < now - STALE_AFTER_SECONDS or (host == this_host and not pid_alive(pid))
    ]
    if stale:
        connection.execute("UPDATE runs SET status = 'incomplete' WHERE run_id = ANY(%s) AND status = 'running'",
                           (stale,))
    return len(stale)


# -- COPY ------------------------------------------------------------------------------

#: ``COPY tests (...) FROM STDIN``: the columns in the order :func:`copy_rows` writes them.
COPY_COLUMNS: Tuple[str, ...] = ("run_id", "seq") + TEST_COLUMNS[1:]

# COPY's text format: backslash escapes; PostgreSQL text cannot hold NUL at all.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})
_NULL = "\\N"


def _text(value: Optional[str]) -> str:
    return _NULL if value is None else value.translate(_ESCAPES)


def copy_rows(run_id: str, first_seq: int, tests: Sequence[TestRecord]) -> bytes:
    """The COPY text of ``tests``: one line per test, numbered from ``first_seq``.

    Built as one string, not row by row through the driver: that is most of a
    batch's cost otherwise, and it is what keeps a run's write close to SQLite's.
    """
    run = _text(run_id)
    lines: List[str] = []
    append = lines.append
    for seq, test in enumerate(tests, first_seq):
        nodeid = test.nodeid.translate(_ESCAPES)
        if (
            test.outcome == "passed" and test.phase == "call" and test.attempts == 1 and test.category is None
            and test.app is None and test.location is None and test.worker is None and test.fingerprint is None
            and not (test.matrix or test.markers or test.message or test.flaky or test.quarantined)
        ):
            append(f"{run}\t{seq}\t{nodeid}\tpassed\tcall\t{test.duration!r}\t{test.start!r}\t1"
                   "\t\\N\t\\N\t{}\t[]\t\t\\N\t\\N\t\\N\t0\t0\t\\N\n")
            continue
        location_file, location_line = test.location if test.location else (None, None)
        append("\t".join((
            run, str(seq), nodeid, _text(test.outcome), _text(test.phase), repr(float(test.duration)),
            repr(float(test.start)), str(int(test.attempts)), _text(test.category), _text(test.app),
            _text(encode_matrix(tuple(test.matrix.items()))), _text(encode_markers(tuple(test.markers))),
            _text(test.message), _text(location_file),
            _NULL if location_line is None else str(int(location_line)), _text(test.worker),
            "1" if test.flaky else "0", "1" if test.quarantined else "0", _text(test.fingerprint),
        )) + "\n")
    return "".join(lines).encode("utf-8")
