"""SQLite connection settings shared by every history database handle.

Several pytest sessions may write the same file at once, so writers take the
write lock up front (``BEGIN IMMEDIATE``) and wait for each other through the
busy timeout instead of failing with "database is locked" half-way through.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: How long a writer waits for another session's transaction, in seconds.
BUSY_TIMEOUT_SECONDS: float = 30.0


def connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode with the busy timeout; nothing is read yet."""
    connection = sqlite3.connect(
        str(path),
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,  # transactions are explicit, see write_transaction
        check_same_thread=False,
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        # In WAL mode NORMAL survives a killed process; only power loss may drop
        # the last transactions, which is acceptable for run history.
        connection.execute("PRAGMA synchronous = NORMAL")
        # Each run's nodeids land all over the nodeid index; keeping more of it
        # cached (up to 32 MiB, allocated only as used) cuts a big batch's cost.
        connection.execute("PRAGMA cache_size = -32000")
    except BaseException:
        connection.close()
        raise
    return connection


def use_wal(connection: sqlite3.Connection) -> None:
    """Switch the file to WAL journaling; only once it is known to be ours, as this rewrites its header."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() == "wal":
            return
        try:
            # Persistent in the file, so only the session creating it pays for the switch.
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            # SQLite answers "locked" at once here, without its busy handler, while
            # another new session holds the file: wait for it like any other writer.
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short write transaction: committed on success, rolled back on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
