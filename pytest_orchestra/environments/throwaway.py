"""A real PostgreSQL server for the history's tests, benchmarks and examples.

It lives with the environments capability's server code that it is built on (cached initdb cluster,
``postgres -D`` as a direct child, unprivileged user when we are root). It
listens on 127.0.0.1 with password authentication, as a team's server would,
and can be stopped, restarted on the same data, paused (a server that no
longer answers) and resumed, which is what the fault tests need.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from pytest_orchestra.environments import pgserver
from pytest_orchestra.environments.processes import (
    give_to,
    service_user,
    spawn,
    start_time,
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children_of(parent: int) -> List[int]:
    children: List[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        if int(stat[stat.rfind(b")") + 2:].split()[1]) == parent:
            children.append(int(entry))
    return children


class ThrowawayPostgres:
    """One PostgreSQL server in a temporary folder; ``start()``, use ``url()``, ``close()``."""

    def __init__(self, *, root: Optional[Path] = None) -> None:
        scratch = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
        self._owned_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="orchestra-history-pg-", dir=scratch)) if root is None else root
        self.password = secrets.token_hex(12)
        self.port = _free_port()
        self._user = service_user()
        self._binaries = pgserver.find_binaries("history", None, None)
        self.record: Optional[pgserver.ServerRecord] = None
        self._databases = 0

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> ThrowawayPostgres:
        give_to(self.root, self._user)  # postgres must reach its data dir inside
        with pgserver.fresh_cluster(self._binaries, scratch=self.root.parent, user=self._user) as cluster:
            self.record = pgserver.start_server(
                self._binaries, cluster, self.root / "server", self.port, self._user, timeout=60
            )
        pgserver.run_sql(self.record, [f"ALTER ROLE {pgserver.SUPERUSER} PASSWORD '{self.password}'"])
        return self

    def stop(self) -> None:
        """Fast shutdown: clients see their connections end, new ones are refused."""
        if self.record is not None:
            pgserver.stop_server(self.record)

    def restart(self) -> None:
        """Start the server again on the data it had (after :meth:`stop`)."""
        assert self.record is not None, "start() first"
        server_dir = self.root / "server"
        command: List[str] = [
            self._binaries.tool("postgres"), "-D", self.record.data_dir, "-p", str(self.port),
            "-k", self.record.socket_dir,
        ]
        for key, value in pgserver.SERVER_SETTINGS.items():
            command += ["-c", f"{key}={value}"]
        with open(self.record.log, "ab") as output:
            popen = spawn(command, output=output, cwd=server_dir, user=self._user, die_with_parent=False,
                          env={k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")})
        self.record = pgserver.ServerRecord(popen.pid, start_time(popen.pid), self.port, self.record.socket_dir,
                                            self.record.data_dir, self.record.log)
        deadline = time.monotonic() + 60
        while not pgserver._answers(self.record):
            if popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not restart: {pgserver._last_line(Path(self.record.log))}")
            time.sleep(0.02)
        pgserver._keep_for_reaping(popen)

    def pause(self) -> None:
        """Stop the server's processes (SIGSTOP): connections hang instead of failing."""
        self._signal_all(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum: int) -> None:
        # Each backend leads a process group of its own: signal the postmaster and its children.
        assert self.record is not None
        for pid in [self.record.pid] + _children_of(self.record.pid):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        if self.record is not None:
            self._signal_all(signal.SIGCONT)
            pgserver.stop_server(self.record)
            self.record = None
        if self._owned_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- databases and roles ------------------------------------------------------------

    def url(self, dbname: str = "postgres", *, user: str = pgserver.SUPERUSER, password: Optional[str] = None) -> str:
        """``postgresql://user:password@127.0.0.1:port/dbname`` (the superuser's password by default)."""
        secret = self.password if password is None else password
        credentials = f"{user}:{secret}@" if secret else f"{user}@"
        return f"postgresql://{credentials}127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: Optional[str] = None) -> str:
        """A new empty database; returns its URL."""
        self._databases += 1
        dbname = name or f"history_{os.getpid()}_{self._databases}"
        self.sql(f"CREATE DATABASE {pgserver.quote_ident(dbname)}")
        return self.url(dbname)

    def create_role(self, name: str, password: str, *, owns: Optional[str] = None) -> None:
        statements = [f"CREATE ROLE {pgserver.quote_ident(name)} LOGIN PASSWORD '{password}'"]
        if owns:
            statements.append(f"ALTER DATABASE {pgserver.quote_ident(owns)} OWNER TO {pgserver.quote_ident(name)}")
        self.sql(*statements)

    def sql(self, *statements: str, dbname: str = "postgres") -> None:
        assert self.record is not None, "start() first"
        pgserver.run_sql(self.record, list(statements), dbname=dbname)

    def query(self, statement: str, *, dbname: str) -> List[Any]:
        import psycopg

        assert self.record is not None, "start() first"
        params: Dict[str, Any] = pgserver.admin_params(self.record, dbname)
        with psycopg.connect(**params, autocommit=True, connect_timeout=5) as connection:
            return list(connection.execute(statement))  # type: ignore[arg-type]
