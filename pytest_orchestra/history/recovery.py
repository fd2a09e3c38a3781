"""Deciding whether an existing history file is usable, and cleaning up after others.

Opening must stay cheap, so health is judged from what a healthy file always
has (schema version, tables, columns, a read of each table's last page) rather
than from ``PRAGMA integrity_check``. Damage found later is caught by the store.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Tuple

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.runinfo import host_name
from pytest_orchestra.history import schema
from pytest_orchestra.history.connection import write_transaction

#: A run still "running" after this long is taken as dead even if its pid exists
#: (pids get reused, and other hosts' pids cannot be checked at all).
STALE_AFTER_SECONDS: float = 24 * 3600


@plainclass(frozen=True)
class Problem:
    """Why an existing file cannot be used as it is, and how to name it when moved."""

    label: str  # tag in the moved-aside name: "corrupt" or "v<version>"
    finding: str  # completes "history database <path> ..."
    #: False for a newer pytest-orchestra's file: refused, and left where it is.
    move: bool = True

    @classmethod
    def corrupt(cls, reason: str) -> Problem:
        return cls("corrupt", f"is corrupt ({reason})")

    @classmethod
    def version(cls, found: int) -> Problem:
        current = schema.SCHEMA_VERSION
        if found > current:
            return cls(f"v{found}", newer_schema_finding(found, current), move=False)
        return cls(f"v{found}", f"has an older schema (version {found}, this pytest-orchestra uses {current})")


def newer_schema_finding(found: int, current: int) -> str:
    """Completes "history database <where> ...", for both backends."""
    return f"was written by a newer pytest-orchestra (schema version {found}, this one uses {current})"


#: The first bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_HEADER_SIZE = 100


def header_problem(path: Path) -> Optional[Problem]:
    """Judge the file's header without SQLite: a non-empty file must start like a database."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(SQLITE_HEADER_SIZE)
    except OSError:
        return None  # missing (SQLite creates it) or unreadable (SQLite says why)
    if header and (len(header) < SQLITE_HEADER_SIZE or not header.startswith(SQLITE_MAGIC)):
        return Problem.corrupt("file is not a database")  # SQLite's own words for it
    return None


def inspect(connection: sqlite3.Connection) -> Optional[Problem]:
    """Check an opened file; create the tables when it is new. ``None`` means healthy.

    Raises :class:`sqlite3.DatabaseError` when SQLite itself finds damage.
    """
    version, tables = _schema_snapshot(connection)
    if version == 0 and not tables:
        with write_transaction(connection):
            # Another session may have created it between our read and our lock.
            if _user_version(connection) == 0 and not _table_names(connection):
                schema.create_schema(connection)
        return inspect(connection)
    if version == 0:
        return Problem.corrupt("it holds tables but no pytest-orchestra schema version")
    if version < schema.SCHEMA_VERSION and _can_migrate(version):
        migrate(connection)
        return inspect(connection)
    if version != schema.SCHEMA_VERSION:
        return Problem.version(version)
    for table, expected_columns in schema.EXPECTED_TABLES.items():
        if table not in tables:
            return Problem.corrupt(f"table {table} is missing")
        columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        missing = [name for name in expected_columns if name not in columns]
        if missing:
            return Problem.corrupt(f"table {table} lacks column {', '.join(missing)}")
    # Each query walks one b-tree's rightmost path (one aggregate per query, or
    # SQLite scans the table): catches most truncated files for a few page reads.
    for probe in _PROBES:
        connection.execute(probe).fetchone()
    return None


#: The first version with the ``schema_version`` ledger table.
LEDGER_SINCE = 4


def _can_migrate(version: int) -> bool:
    return all(step in schema.MIGRATIONS for step in range(version, schema.SCHEMA_VERSION))


def migrate(connection: sqlite3.Connection) -> int:
    """Bring an older database up to :data:`schema.SCHEMA_VERSION` in place; return the version found.

    One write transaction: another session migrating at the same time waits,
    then finds the work done; a failure leaves the file as it was.
    """
    with write_transaction(connection):
        found = _user_version(connection)
        for step in range(found, schema.SCHEMA_VERSION):
            for statement in schema.MIGRATIONS[step]:
                connection.execute(statement)
            if step + 1 >= LEDGER_SINCE:
                schema.record_version(connection, step + 1)
        if found < schema.SCHEMA_VERSION:
            connection.execute(f"PRAGMA user_version = {int(schema.SCHEMA_VERSION)}")
    return found


def mark_stale_runs(connection: sqlite3.Connection, *, now: Optional[float] = None) -> int:
    """Mark runs left ``running`` by dead sessions as ``incomplete``; return how many."""
    now = time.time() if now is None else now
    this_host = host_name()
    running = connection.execute(
        "SELECT run_id, started, host, pid FROM runs WHERE status = 'running'"
    ).fetchall()
    stale: List[Tuple[str]] = [
        (run_id,)
        for run_id, started, host, pid in running
        if started < now - STALE_AFTER_SECONDS or (host == this_host and not pid_alive(pid))
    ]
    if stale:
        with write_transaction(connection):
            # The status condition keeps a run that finished meanwhile as it is.
            connection.executemany(
                "UPDATE runs SET status = 'incomplete' WHERE run_id = ? AND status = 'running'",
                stale,
            )
    return len(stale)


def move_aside(path: Path, label: str) -> Path:
    """Rename ``path`` and its sidecars to ``<path>.<label>-<UTC stamp>``; return the new path.

    Raises :class:`FileNotFoundError` when ``path`` is gone (another session moved it).
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = Path(f"{path}.{label}-{stamp}")
    counter = 1
    while target.exists():
        target = Path(f"{path}.{label}-{stamp}-{counter}")
        counter += 1
    os.replace(path, target)
    for sidecar in ("-wal", "-shm", "-journal"):
        try:
            os.replace(f"{path}{sidecar}", f"{target}{sidecar}")
        except FileNotFoundError:
            pass
    return target


def file_identity(path: Path) -> Optional[Tuple[int, int]]:
    """Device and inode, to notice that another session replaced the file meanwhile."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (zombies count as alive)."""
    if pid <= 0:
        return False  # 0 and negatives address process groups, never one process
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - never raised for root, who runs the tests
        return True  # exists, owned by someone else
    except OSError:  # pragma: no cover - e.g. pid out of range
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    # os.kill on Windows terminates the process, so ask the kernel instead.
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    query_limited_information, access_denied, still_active = 0x1000, 5, 259
    handle = kernel32.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == access_denied  # type: ignore[attr-defined]
    try:
        exit_code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(exit_code)):
            return True
        return exit_code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


_PROBES: Tuple[str, ...] = (
    "SELECT max(rowid) FROM runs",
    "SELECT max(started) FROM runs",
    "SELECT max(run_id) FROM runs",
    "SELECT max(id) FROM tests",
    "SELECT max(run_id) FROM tests",
    "SELECT max(nodeid) FROM tests",
)


def _schema_snapshot(connection: sqlite3.Connection) -> Tuple[int, set[str]]:
    """Version and tables read in one transaction, so another session creating the
    schema between the two reads cannot make a half-made file look foreign."""
    connection.execute("BEGIN")
    try:
        return _user_version(connection), _table_names(connection)
    finally:
        if connection.in_transaction:
            connection.execute("COMMIT")


def _user_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _table_names(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return {str(name) for (name,) in rows}
