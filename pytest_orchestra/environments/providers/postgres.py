"""``postgres``: a real PostgreSQL shared by the run's workers, a database per scope or test.

The first process of a run that needs the environment starts the server
(under a lock, from the cached initdb cluster) and records it in a shared
lease; the other xdist workers join it. Each worker's instances and per-test
copies are databases cloned from the environment's template
(``CREATE DATABASE … TEMPLATE``), kept ready by a :class:`DatabasePool`. The
last worker to leave stops the server; if every worker crashed, the next
run's reaper does.
"""

from __future__ import annotations

import os
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from pytest_orchestra.environments.config import EnvironmentSpec
from pytest_orchestra.environments.environment import (
    Environment,
    ProvisionContext,
    ProvisionError,
    UnhealthyEnvironment,
)
from pytest_orchestra.environments.leases import Lease, locked, me
from pytest_orchestra.environments.pgpool import DatabasePool
from pytest_orchestra.environments.pgserver import (
    SUPERUSER,
    ServerRecord,
    admin_params,
    find_binaries,
    fresh_cluster,
    quote_ident,
    reap_initdb_dirs,
    run_sql,
    shared_memory_id,
    start_server,
    stop_server,
)
from pytest_orchestra.environments.processes import service_user
from pytest_orchestra.environments.providers.placeholders import fill_env

#: Seconds a new server gets to answer when the spec's ready.timeout is the default.
SERVER_TIMEOUT = 30.0


@dataclass
class SharedServer:
    """This process's use of a server: its record, its lease and its pool of clones."""

    key: str
    record: ServerRecord
    lease_path: Path
    pool: DatabasePool
    template: str


def connect(env: Environment, **kwargs: Any) -> Any:
    """A psycopg connection to the environment's database over the private Unix socket."""
    import psycopg

    params = {"host": env.info["socket_dir"], "port": env.port, "user": env.info["user"],
              "dbname": env.info["dbname"]}
    return psycopg.connect(**{**params, **kwargs})


class PostgresProvider:
    name = "postgres"

    def __init__(self) -> None:
        self._servers: Dict[str, SharedServer] = {}

    # --- configure time -------------------------------------------------------

    def check_spec(self, spec: EnvironmentSpec) -> List[str]:
        """A version no installed server has is a conflict; absent binaries are not (tests error)."""
        if spec.version is None:
            return []
        try:
            find_binaries(spec.name, spec.bin_dir, spec.version)
        except ProvisionError as exc:
            if "not found (found" in str(exc):
                return [f"{spec.where}.version: {exc}"]
        return []

    def reap(self, runtime_dir: Path) -> None:
        """Session start: remove initdb work dirs of processes killed while filling the cache."""
        reap_initdb_dirs(runtime_dir)

    # --- provider interface -------------------------------------------------------

    def provision(self, spec: EnvironmentSpec, context: ProvisionContext) -> Environment:
        try:
            import psycopg  # noqa: F401 - fail here with a clear message, not in a thread
        except ImportError:  # pragma: no cover - a runtime dependency
            raise ProvisionError("psycopg is not installed; pip install 'psycopg[binary]'", retry=False) from None
        server = self._server(spec, context)
        if spec.isolate == "test":
            # Every test gets its own clone: the instance itself needs no database.
            return self._environment(spec, context, server, server.template)
        return self._environment(spec, context, server, server.pool.take())

    def isolate(self, env: Environment, context: ProvisionContext) -> Environment:
        server = self._servers[env.handle[0]]
        return self._environment(context.spec, context, server, server.pool.take())

    def release(self, env: Environment) -> None:
        server = self._servers.get(env.handle[0])
        if server is not None and server.record.problem() is None:
            server.pool.give_back(env.info["dbname"])

    def check(self, env: Environment) -> None:
        server = self._servers.get(env.handle[0])
        if server is None:
            raise UnhealthyEnvironment("its server was stopped")
        problem = server.record.problem()
        if problem is not None:
            raise UnhealthyEnvironment(problem)
        import psycopg

        try:
            # Not the test's database (it may be the template, which must stay unconnected).
            with psycopg.connect(**admin_params(server.record), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise UnhealthyEnvironment(f"postgres does not answer: {str(exc).strip()}") from None

    def teardown(self, env: Environment) -> None:
        key = env.handle[0]
        server = self._servers.get(key)
        if server is None:
            return
        if server.record.problem() is None:
            if env.info["dbname"] != server.template:
                server.pool.give_back(env.info["dbname"])
        else:
            self._leave(key)

    def close(self) -> None:
        """Session end: leave every server; the last process to leave stops it."""
        for key in list(self._servers):
            self._leave(key)

    # --- the shared server ------------------------------------------------------------

    def _environment(self, spec: EnvironmentSpec, context: ProvisionContext, server: SharedServer,
                     dbname: str) -> Environment:
        record = server.record
        password = context.password
        env = Environment(
            spec.name, self.name, host="127.0.0.1", port=record.port,
            dsn=f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{record.port}/{dbname}",
            info={"dbname": dbname, "user": SUPERUSER, "password": password,
                  "socket_dir": record.socket_dir, "connector": connect, "server_pid": record.pid},
            handle=(server.key, dbname), secrets=[password],
        )
        env.env = fill_env(spec.env, env, context)
        return env

    def _server(self, spec: EnvironmentSpec, context: ProvisionContext) -> SharedServer:
        key = f"{context.run_key}-{spec.name}"
        known = self._servers.get(key)
        if known is not None:
            if known.record.problem() is None:
                return known
            self._leave(key)
        binaries = find_binaries(spec.name, spec.bin_dir, spec.version)
        lease = Lease(context.lease_dir / f"shared-postgres-{key}.json")
        runtime = context.private_dir.parent
        with locked(lease.lock_path):
            current = Lease.read(lease.path)
            record: Optional[ServerRecord] = None
            if current is not None and current.data.get("server"):
                record = ServerRecord.from_dict(current.data["server"])
                if record.problem() is not None:
                    current.release(keep_lock=True)
                    current, record = None, None
            if current is None or record is None:
                record, current = self._start(spec, context, binaries, runtime, lease.path)
            current.owners = [o for o in current.live_owners() if o[0] != os.getpid()] + [me()]
            current.write()
        template = current.data["template"]
        prefix = f"{spec.name}_{context.worker}_{os.getpid()}"
        pool = DatabasePool(lambda: _admin_connection(record), template, prefix)
        pool.start()
        server = SharedServer(key, record, lease.path, pool, template)
        self._servers[key] = server
        return server

    def _start(self, spec: EnvironmentSpec, context: ProvisionContext, binaries: Any, runtime: Path,
               lease_path: Path) -> tuple[ServerRecord, Lease]:
        user = service_user()
        server_dir = Path(tempfile.mkdtemp(prefix=f"pg-{spec.name}-", dir=runtime))
        lease = Lease(lease_path, owners=[me()], paths=[str(server_dir)])
        lease.write()
        timeout = spec.ready.timeout if spec.ready.timeout != 10.0 else SERVER_TIMEOUT
        try:
            port = context.reserve_port(spec.port)
            with fresh_cluster(binaries, scratch=runtime, user=user) as cluster:
                record = start_server(binaries, cluster, server_dir, port, user, timeout=timeout)
        except BaseException:
            lease.release(keep_lock=True)
            raise
        lease.groups.append((record.pid, record.started, int(signal.SIGINT)))
        shmid = shared_memory_id(Path(record.data_dir))
        if shmid is not None:
            lease.shm.append(shmid)
        # Without a schema, initdb's template1 is the template: one CREATE DATABASE less at start.
        template = f"tpl_{spec.name}" if spec.schema else "template1"
        lease.data = {"server": record.as_dict(), "template": template, "version": binaries.version}
        lease.write()
        try:
            statements = [f"ALTER ROLE {SUPERUSER} PASSWORD '{context.password}'"]
            if spec.schema:
                statements.append(f"CREATE DATABASE {quote_ident(template)}")
            run_sql(record, statements)
            if spec.schema:
                self._load_schema(spec, context, record, template)
        except ProvisionError:
            stop_server(record)
            lease.release(keep_lock=True)
            raise
        except Exception as exc:
            stop_server(record)
            lease.release(keep_lock=True)
            raise ProvisionError(f"preparing the template failed: {type(exc).__name__}: {exc}") from None
        return record, lease

    def _load_schema(self, spec: EnvironmentSpec, context: ProvisionContext, record: ServerRecord,
                     template: str) -> None:
        path = context.rootdir / str(spec.schema)
        try:
            script = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProvisionError(f"cannot read {spec.where}.schema {spec.schema!r}: {exc.strerror}",
                                 retry=False) from None
        import psycopg

        try:
            run_sql(record, [script], dbname=template)
        except psycopg.Error as exc:
            raise ProvisionError(f"{spec.schema}: {str(exc).strip()}", retry=False) from None

    def _leave(self, key: str) -> None:
        server = self._servers.pop(key, None)
        if server is None:
            return
        alive = server.record.problem() is None
        server.pool.close(server_alive=alive)
        lease = Lease(server.lease_path)
        with locked(lease.lock_path):
            current = Lease.read(server.lease_path)
            if current is None:
                return
            current.owners = [o for o in current.live_owners() if o[0] != os.getpid()]
            if current.owners and alive:
                current.write()
                return
            if current.data.get("server"):
                stop_server(ServerRecord.from_dict(current.data["server"]))
            current.release(keep_lock=True)


def _admin_connection(record: ServerRecord) -> Any:
    import psycopg

    return psycopg.connect(**admin_params(record), autocommit=True, connect_timeout=10)


__all__ = ["PostgresProvider", "connect"]

