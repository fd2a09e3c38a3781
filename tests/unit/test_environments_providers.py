"""Providers without pytest: postgres binaries, sqlite, local, docker without an engine."""

from __future__ import annotations

import shutil
import sys
import threading
import types
from pathlib import Path

import pytest

from pytest_orchestra.environments import pgserver
from pytest_orchestra.environments.config import EnvironmentSpec
from pytest_orchestra.environments.environment import (
    Environment,
    EnvironmentUnavailable,
    ProvisionError,
    UnhealthyEnvironment,
)
from pytest_orchestra.environments.lifecycle import EnvironmentLifecycle
from pytest_orchestra.environments.providers import builtin_providers
from pytest_orchestra.environments.providers.docker import DockerProvider
from pytest_orchestra.environments.providers.postgres import PostgresProvider


def lifecycle(tmp_path: Path, **specs: EnvironmentSpec) -> EnvironmentLifecycle:
    result = EnvironmentLifecycle(
        specs, builtin_providers(), rootdir=tmp_path, state_dir=tmp_path / "state", runtime_dir=tmp_path / "run",
        log_dir=tmp_path / "logs", worker="main", run_key="r", password="pw", sleep=lambda s: None,
    )
    result.start()
    return result


def test_binaries_missing_or_of_another_version_name_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProvisionError, match=f"initdb not found in {tmp_path}; install postgresql or set "
                                             r"environments.shopdb.bin_dir"):
        pgserver.find_binaries("shopdb", str(tmp_path), None)
    monkeypatch.setattr(pgserver, "DEBIAN_BIN_GLOB", str(tmp_path / "*"))
    monkeypatch.setattr(pgserver, "OTHER_BIN_DIRS", ())
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProvisionError, match=r"^initdb not found; install postgresql or set environments.shopdb.bin_dir$"):
        pgserver.find_binaries("shopdb", None, None)


needs_postgres = pytest.mark.skipif(
    not any((d / "initdb").is_file() for d in pgserver.candidate_dirs(None)), reason="PostgreSQL not installed"
)


@needs_postgres
def test_a_version_no_installed_server_has_is_a_configure_time_conflict() -> None:
    provider = PostgresProvider()
    problems = provider.check_spec(EnvironmentSpec(name="db", provider="postgres", version="99"))
    assert len(problems) == 1 and problems[0].startswith("environments.db.version: PostgreSQL 99 not found (found ")
    installed = pgserver.find_binaries("db", None, None)
    assert provider.check_spec(EnvironmentSpec(name="db", provider="postgres", version=installed.major)) == []


@needs_postgres
def test_postgres_session_database_module_scope_and_health(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty cache: initdb runs, the server starts from its output, the cache is written after.
    monkeypatch.setenv("PYTEST_ORCHESTRA_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "bad.sql").write_text("CREATE TABLE (;")
    runtime = Path("/tmp") / f"orchestra-unit-{tmp_path.name}"
    runtime.mkdir(mode=0o711, exist_ok=True)
    spec = EnvironmentSpec(name="db", provider="postgres", scope="module")
    cycle = EnvironmentLifecycle(
        {"db": spec, "bad": EnvironmentSpec(name="bad", provider="postgres", schema="bad.sql", retries=0),
         "missing": EnvironmentSpec(name="missing", provider="postgres", schema="nope.sql", retries=0)},
        builtin_providers(), rootdir=tmp_path, state_dir=tmp_path / "state", runtime_dir=runtime,
        log_dir=tmp_path / "logs", worker="main", run_key="unit", password="pw-unit-123",
    )
    cycle.start()
    try:
        env = cycle.acquire("db", test_id="t1", module_id="m1").env
        assert env.dsn.startswith("postgresql://orchestra:pw-unit-123@127.0.0.1:") and env.secrets == ["pw-unit-123"]
        with env.connect() as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (env.dbname,)
        provider = cycle.providers["postgres"]
        provider.check(env)
        cycle.end_module("m1")
        with pytest.raises(ProvisionError, match=r"bad \(postgres\): bad.sql: syntax error"):
            cycle.acquire("bad", test_id="t1", module_id="m2")
        with pytest.raises(ProvisionError, match=r"missing \(postgres\): cannot read environments.missing.schema"):
            cycle.acquire("missing", test_id="t1", module_id="m2")
        with pytest.raises(UnhealthyEnvironment):
            provider.check(Environment("db", "postgres", handle=("gone", "x"), info={"dbname": "x"}))
    finally:
        cycle.close()
    for thread in threading.enumerate():
        if thread.name == "orchestra-pg-cache":
            thread.join()
    assert list(runtime.iterdir()) in ([], [runtime / "ports"])
    shutil.rmtree(runtime)
    cached = list((tmp_path / "cache" / "postgres").iterdir())
    assert [p.name for p in cached if p.is_dir()] and all((p / "PG_VERSION").is_file() for p in cached if p.is_dir())


def test_sqlite_file_per_scope_and_copy_per_test(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE items (id integer primary key);")
    (tmp_path / "broken.sql").write_text("CREATE TABLE (;")
    cycle = lifecycle(
        tmp_path,
        lite=EnvironmentSpec(name="lite", provider="sqlite", isolate="test", schema="schema.sql"),
        broken=EnvironmentSpec(name="broken", provider="sqlite", schema="broken.sql"),
        missing=EnvironmentSpec(name="missing", provider="sqlite", schema="missing.sql"),
    )
    copy = cycle.acquire("lite", test_id="t1", module_id="m").env
    with copy.connect() as conn:
        conn.execute("INSERT INTO items VALUES (1)")
    assert copy.dsn.startswith("sqlite:///") and cycle.providers["sqlite"].check(copy)
    cycle.release_test("t1")
    assert not Path(copy.database).exists()
    with pytest.raises(ProvisionError, match=r"broken \(sqlite\): broken.sql: near"):
        cycle.acquire("broken", test_id="t1", module_id="m")
    with pytest.raises(ProvisionError, match=r"cannot read environments.missing.schema 'missing.sql'"):
        cycle.acquire("missing", test_id="t1", module_id="m")
    cycle.close()


def test_local_reserves_ports_and_fills_env(tmp_path: Path) -> None:
    cycle = lifecycle(tmp_path, work=EnvironmentSpec(name="work", provider="local", ports=3,
                                                      env={"DIR": "{path}", "PORT": "{port}"}))
    env = cycle.acquire("work", test_id="t1", module_id="m").env
    assert len(set(env.ports)) == 3 and env.env == {"DIR": str(env.path), "PORT": str(env.port)}
    assert cycle.providers["local"].check(env)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        env.nope  # noqa: B018 -- the attribute access is what raises
    with pytest.raises(AttributeError, match="has no connect"):
        env.connect()
    cycle.close()
    assert not env.path.exists()


def test_process_commands_that_cannot_start_are_not_retried(tmp_path: Path) -> None:
    cycle = lifecycle(tmp_path, svc=EnvironmentSpec(name="svc", provider="process", command=("/nonexistent/cmd",),
                                                     retries=3))
    with pytest.raises(ProvisionError, match=r"svc \(process\): command not found: '/nonexistent/cmd'"):
        cycle.acquire("svc", test_id="t1", module_id="m")
    (tmp_path / "script").write_text("#!/bin/sh\n")
    cycle = lifecycle(tmp_path / "b", svc=EnvironmentSpec(name="svc", provider="process", command=(str(tmp_path / "script"),)))
    with pytest.raises(ProvisionError, match="command not executable"):
        cycle.acquire("svc", test_id="t1", module_id="m")


def test_docker_without_testcontainers_or_engine_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = EnvironmentSpec(name="cache", provider="docker", image="redis:7", port=6379)
    monkeypatch.setitem(sys.modules, "testcontainers", None)
    with pytest.raises(EnvironmentUnavailable, match="testcontainers is not installed"):
        DockerProvider().provision(spec, None)  # type: ignore[arg-type]
    with pytest.raises(ProvisionError, match="missing environments.cache.image"):
        DockerProvider().provision(EnvironmentSpec(name="cache", provider="docker"), None)  # type: ignore[arg-type]


def test_docker_with_a_fake_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The testcontainers calls, against stand-ins (no engine runs on these machines)."""

    class Wrapped:
        status = "running"
        short_id = "abc"

        def reload(self) -> None: ...

    class Container:
        def __init__(self, image: str) -> None:
            self.image, self.stopped = image, False

        def with_env(self, name: str, value: str) -> "Container":
            return self

        def with_exposed_ports(self, port: int) -> "Container":
            return self

        def start(self) -> None: ...
        def get_container_host_ip(self) -> str:
            return "127.0.0.1"

        def get_exposed_port(self, port: int) -> str:
            return "32768"

        def get_wrapped_container(self) -> Wrapped:
            return Wrapped()

        def stop(self) -> None:
            self.stopped = True

    class Client:
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        def ping(self) -> None:
            if self.fail:
                raise ConnectionError("socket missing")

        def close(self) -> None: ...

    fail = {"value": True}
    monkeypatch.setitem(sys.modules, "docker", types.SimpleNamespace(from_env=lambda timeout: Client(fail["value"])))
    core = types.ModuleType("testcontainers.core.container")
    core.DockerContainer = Container  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "testcontainers.core.container", core)
    spec = EnvironmentSpec(name="cache", provider="docker", image="redis:7", port=6379, env={"A": "b"})
    cycle = lifecycle(tmp_path, cache=spec)
    with pytest.raises(EnvironmentUnavailable, match=r"cache \(docker\): no Docker engine answers \(ConnectionError"):
        cycle.acquire("cache", test_id="t", module_id="m")
    fail["value"] = False
    cycle = lifecycle(tmp_path / "b", cache=spec)
    env = cycle.acquire("cache", test_id="t", module_id="m").env
    assert env.url == "http://127.0.0.1:32768"
    cycle.providers["docker"].check(env)
    Wrapped.status = "exited"
    with pytest.raises(UnhealthyEnvironment, match="container abc is exited"):
        cycle.providers["docker"].check(env)
    cycle.close()
    assert env.handle.stopped
