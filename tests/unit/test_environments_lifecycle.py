"""The lifecycle with a fake provider: scopes, caching, retries, health, isolation, teardown."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any, List

import pytest

from pytest_orchestra.environments.config import EnvironmentSpec, ReadySpec
from pytest_orchestra.environments.environment import (
    Environment,
    EnvironmentUnavailable,
    ProvisionContext,
    ProvisionError,
    UnhealthyEnvironment,
)
from pytest_orchestra.environments.leases import Lease, LeaseBook
from pytest_orchestra.environments.lifecycle import EnvironmentLifecycle
from pytest_orchestra.environments.processes import is_alive, spawn, start_time


class Recording:
    name = "fake"

    def __init__(self, failures: List[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.provisioned: List[str] = []
        self.torn_down: List[str] = []
        self.healthy = True

    def provision(self, spec: EnvironmentSpec, context: ProvisionContext) -> Environment:
        if self.failures:
            raise self.failures.pop(0)
        self.provisioned.append(context.scope_key)
        port = context.reserve_port(None)
        return Environment(spec.name, self.name, port=port, info={"scope": context.scope_key},
                           env={"X": context.fill("{port}", {"port": port})}, secrets=["s3cret-value"])

    def check(self, env: Environment) -> Any:
        if self.healthy == "raise":
            raise UnhealthyEnvironment("it died")
        return self.healthy

    def teardown(self, env: Environment) -> None:
        self.torn_down.append(env.info["scope"])

    def isolate(self, env: Environment, context: ProvisionContext) -> Environment:
        return Environment(env.name, self.name, info={"scope": "copy"})

    def release(self, env: Environment) -> None:
        self.torn_down.append("copy")


def make(tmp_path: Path, provider: Recording, **spec: Any) -> EnvironmentLifecycle:
    sleeps: List[float] = []
    secrets: List[str] = []
    lifecycle = EnvironmentLifecycle(
        {"svc": EnvironmentSpec(name="svc", provider="fake", **spec)}, {"fake": provider},
        rootdir=tmp_path, state_dir=tmp_path / "state", runtime_dir=tmp_path / "run", log_dir=tmp_path / "logs",
        worker="gw0", run_key="r1", password="pw", on_secret=secrets.append, sleep=sleeps.append,
    )
    lifecycle.sleeps = sleeps  # type: ignore[attr-defined]
    lifecycle.secrets = secrets  # type: ignore[attr-defined]
    lifecycle.start()
    return lifecycle


def leases(tmp_path: Path) -> List[Path]:
    return list((tmp_path / "state" / "leases").glob("*.json"))


def test_session_scope_is_provisioned_once_and_checked_before_each_test(tmp_path: Path) -> None:
    provider = Recording()
    lifecycle = make(tmp_path, provider)
    first = lifecycle.acquire("svc", test_id="t1", module_id="m").env
    second = lifecycle.acquire("svc", test_id="t2", module_id="m").env
    assert first is second and provider.provisioned == ["session"]
    assert first.path is not None and oct(first.path.stat().st_mode & 0o777) == "0o700"
    assert lifecycle.secrets == ["s3cret-value"]  # type: ignore[attr-defined]
    assert len(leases(tmp_path)) == 1
    lifecycle.close()
    assert provider.torn_down == ["session"] and leases(tmp_path) == [] and not first.path.exists()


def test_module_and_test_scopes_end_with_their_module_and_test(tmp_path: Path) -> None:
    provider = Recording()
    lifecycle = make(tmp_path, provider, scope="module")
    lifecycle.acquire("svc", test_id="t1", module_id="m1")
    lifecycle.acquire("svc", test_id="t2", module_id="m1")
    lifecycle.end_module("m1")
    assert provider.provisioned == ["m1"] and provider.torn_down == ["m1"]
    tests = make(tmp_path / "b", Recording(), scope="test")
    tests.acquire("svc", test_id="t1", module_id="m1")
    tests.release_test("t1")
    assert tests.providers["fake"].torn_down == ["t1"]


def test_isolate_test_hands_out_a_copy_released_after_the_test(tmp_path: Path) -> None:
    provider = Recording()
    lifecycle = make(tmp_path, provider, isolate="test")
    assert lifecycle.acquire("svc", test_id="t1", module_id="m").env.info["scope"] == "copy"
    lifecycle.release_test("t1")
    assert provider.torn_down == ["copy"]
    lifecycle.close()


def test_failed_provision_is_retried_with_backoff_then_labelled(tmp_path: Path) -> None:
    provider = Recording([ProvisionError("port busy"), OSError(28, "No space left on device")])
    lifecycle = make(tmp_path, provider, retries=2, backoff=0.5)
    assert lifecycle.acquire("svc", test_id="t1", module_id="m").env.port
    assert lifecycle.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]

    always = Recording([OSError(28, "No space left on device")] * 3)
    failing = make(tmp_path / "b", always, retries=2, backoff=0.1)
    with pytest.raises(ProvisionError) as raised:
        failing.acquire("svc", test_id="t1", module_id="m")
    assert str(raised.value) == "svc (fake): OSError: [Errno 28] No space left on device (after 3 attempts)"
    assert raised.value.category == "infrastructure"
    # A session-scoped failure is remembered: the next test fails at once, no new attempts.
    with pytest.raises(ProvisionError):
        failing.acquire("svc", test_id="t2", module_id="m")
    assert [e.kind for e in failing.events] == ["provision_failed"]
    assert leases(tmp_path / "b") == []


def test_permanent_causes_and_provider_bugs_are_not_retried_forever(tmp_path: Path) -> None:
    lifecycle = make(tmp_path, Recording([ProvisionError("initdb not found", retry=False)]), retries=3)
    with pytest.raises(ProvisionError, match=r"^svc \(fake\): initdb not found$"):
        lifecycle.acquire("svc", test_id="t1", module_id="m")
    assert lifecycle.sleeps == []  # type: ignore[attr-defined]
    buggy = make(tmp_path / "b", Recording([KeyError("x")]), retries=0)
    with pytest.raises(ProvisionError, match=r"svc \(fake\): KeyError: 'x'"):
        buggy.acquire("svc", test_id="t1", module_id="m")
    skipped = make(tmp_path / "c", Recording([EnvironmentUnavailable("no engine")]), retries=3)
    with pytest.raises(EnvironmentUnavailable, match=r"svc \(fake\): no engine"):
        skipped.acquire("svc", test_id="t1", module_id="m")


@pytest.mark.parametrize("sick", [False, "raise"])
def test_an_unhealthy_environment_is_reprovisioned_once_and_recorded(tmp_path: Path, sick: Any) -> None:
    provider = Recording()
    lifecycle = make(tmp_path, provider)
    lifecycle.acquire("svc", test_id="t1", module_id="m")
    provider.healthy = sick
    acquired = lifecycle.acquire("svc", test_id="t2", module_id="m")
    assert acquired.reprovisioned is not None and acquired.reprovisioned.startswith("svc (fake): ")
    assert provider.provisioned == ["session", "session"]
    assert [e.kind for e in lifecycle.events] == ["reprovisioned"]
    provider.failures = [ProvisionError("still broken", retry=False)]
    with pytest.raises(ProvisionError, match="re-provisioned but that failed") as raised:
        lifecycle.acquire("svc", test_id="t3", module_id="m")
    assert raised.value.category == "infrastructure"


def test_teardown_failures_are_recorded_and_cleanup_goes_on(tmp_path: Path) -> None:
    provider = Recording()

    def explode(env: Environment) -> None:
        raise RuntimeError("teardown blew up")

    provider.teardown = explode  # type: ignore[method-assign]
    provider.close = explode  # type: ignore[attr-defined]
    lifecycle = make(tmp_path, provider, scope="test")
    lifecycle.acquire("svc", test_id="t1", module_id="m")
    lifecycle.close()
    assert [e.kind for e in lifecycle.events] == ["teardown_failed", "teardown_failed"]
    assert leases(tmp_path) == []


def test_a_provider_without_isolation_cannot_isolate(tmp_path: Path) -> None:
    provider = Recording()
    provider.isolate = None  # type: ignore[assignment]
    lifecycle = make(tmp_path, provider, isolate="test")
    with pytest.raises(ProvisionError, match="cannot isolate per test"):
        lifecycle.acquire("svc", test_id="t1", module_id="m")


def test_placeholders_that_do_not_exist_are_errors(tmp_path: Path) -> None:
    context = make(tmp_path, Recording())._context(EnvironmentSpec(name="svc", provider="fake"), "session", None)
    with pytest.raises(ProvisionError, match=r"svc \(fake\): cannot fill placeholder 'prot'"):
        context.fill("--port={prot}", {"port": 1})


def test_reaping_kills_dead_owners_groups_and_removes_their_paths(tmp_path: Path) -> None:
    book = LeaseBook(tmp_path / "state", tmp_path / "ports")
    leftover_dir = tmp_path / "leftover"
    leftover_dir.mkdir()
    with open(tmp_path / "out", "wb") as out:
        orphan = spawn(["sleep", "60"], output=out, die_with_parent=False)
    finished = subprocess.Popen(["true"])
    finished.wait()
    lease = Lease(book.leases / "process-x.json", owners=[(finished.pid, None)],
                  groups=[(orphan.pid, start_time(orphan.pid), int(signal.SIGTERM))], paths=[str(leftover_dir)])
    lease.write()
    alive = Lease(book.leases / "process-y.json", owners=[(os.getpid(), start_time(os.getpid()))])
    alive.write()
    assert book.reap() == ["process-x"]
    orphan.wait(timeout=5)
    assert not is_alive(orphan.pid, None) and not leftover_dir.exists()
    assert sorted(p.name for p in book.leases.glob("*.json")) == ["process-y.json"]


def test_ports_are_never_handed_out_twice(tmp_path: Path) -> None:
    book = LeaseBook(tmp_path / "state", tmp_path / "ports")
    ports = [book.reserve_port() for _ in range(50)]
    assert len(set(ports)) == 50
    with pytest.raises(OSError, match=f"port {ports[0]} is reserved"):
        book.reserve_port(ports[0])
    book.release_port(ports[0])
    assert book.reserve_port(ports[0]) == ports[0]
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = held.getsockname()[1]
        with pytest.raises(OSError, match=f"port {busy} is in use"):
            book.reserve_port(busy)
    # A dead process's reservation is taken over; the reaper drops it too.
    finished = subprocess.Popen(["true"])
    finished.wait()
    (tmp_path / "ports" / "1").write_text(f"[{finished.pid}, null]")
    book.reap()
    assert not (tmp_path / "ports" / "1").exists()


def test_ready_probes(tmp_path: Path) -> None:
    from pytest_orchestra.environments.readiness import probe, wait_ready

    log = tmp_path / "log"
    log.write_text("starting\n")
    assert probe(ReadySpec(log="listening"), "127.0.0.1", None, log) == "'listening' not in its output yet"
    assert probe(ReadySpec(tcp=True), "127.0.0.1", 1, log) == "port 1 refuses connections"
    assert probe(ReadySpec(http="/h"), "127.0.0.1", 1, log) == "GET /h got no answer"
    log.write_text("listening\n")
    assert probe(ReadySpec(log="listening"), "127.0.0.1", None, log) is None
    clock = iter([0.0, 0.0, 5.0])
    assert wait_ready(ReadySpec(tcp=True, timeout=1), "127.0.0.1", 1, log, exited=lambda: None,
                      clock=lambda: next(clock), pause=0) == "not ready within 1s: port 1 refuses connections"
    assert probe(ReadySpec(log="x"), "h", None, tmp_path / "missing") == "'x' not in its output yet"
