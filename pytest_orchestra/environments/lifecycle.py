"""Scopes, caching, health checks, retries and teardown of environment instances.

One :class:`EnvironmentLifecycle` per process that runs tests. It knows the
declared specs and the providers, hands a test the instances it asked for
(provisioning them on first use, per session, module or test), checks
session- and module-scoped ones before each test, re-provisions a dead one
once, and tears everything down. Pure logic: no pytest import.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from pytest_orchestra.environments.config import EnvironmentSpec
from pytest_orchestra.environments.environment import (
    Environment,
    EnvironmentProblem,
    EnvironmentUnavailable,
    ProvisionContext,
    ProvisionError,
    ResourceError,
    UnhealthyEnvironment,
)
from pytest_orchestra.environments.leases import Lease, LeaseBook
from pytest_orchestra.environments.processes import start_time


@dataclass
class Instance:
    spec: EnvironmentSpec
    scope_key: str
    env: Environment
    lease: Lease
    ports: List[int] = field(default_factory=list)


@dataclass
class Acquired:
    """What a test gets: the environment, and whether it had to be re-provisioned."""

    env: Environment
    reprovisioned: Optional[str] = None


@dataclass(frozen=True)
class Event:
    environment: str
    provider: str
    kind: str  # "reprovisioned", "provision_failed", "teardown_failed"
    reason: str
    test: str = ""
    worker: str = ""

    def as_dict(self) -> Dict[str, str]:
        return dict(self.__dict__)


class EnvironmentLifecycle:
    def __init__(
        self,
        specs: Mapping[str, EnvironmentSpec],
        providers: Mapping[str, Any],
        *,
        rootdir: Path,
        state_dir: Path,
        runtime_dir: Path,
        log_dir: Path,
        worker: str,
        run_key: str,
        password: str,
        on_secret: Callable[[str], None] = lambda value: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.specs = dict(specs)
        self.providers = dict(providers)
        self.rootdir = rootdir
        self.runtime_dir = runtime_dir
        self.log_dir = log_dir
        self.worker = worker
        self.run_key = run_key
        self.password = password
        self.on_secret = on_secret
        self.sleep = sleep
        self.book = LeaseBook(state_dir, runtime_dir / "ports")
        self.events: List[Event] = []
        self._live: Dict[Tuple[str, str], Instance] = {}
        self._failed: Dict[Tuple[str, str], EnvironmentProblem] = {}
        self._checked: Dict[Tuple[str, str], str] = {}
        self._isolated: Dict[str, List[Tuple[Any, Environment]]] = {}
        self._counter = 0

    # --- session ---------------------------------------------------------------

    def start(self) -> List[str]:
        """Reap leftovers of crashed runs; returns the reaped leases."""
        make_private_root(self.runtime_dir)
        reaped = self.book.reap()
        for provider in self.providers.values():
            reaper = getattr(provider, "reap", None)
            if reaper is not None:
                reaper(self.runtime_dir)
        return reaped

    def close(self) -> None:
        """Tear down every instance, then let providers stop shared servers."""
        for test_id in list(self._isolated):
            self.release_test(test_id)
        for key in list(self._live):
            self._teardown(self._live.pop(key))
        for provider in self.providers.values():
            closer = getattr(provider, "close", None)
            if closer is not None:
                try:
                    closer()
                except Exception as exc:  # noqa: BLE001 - teardown goes on
                    self.events.append(Event("*", getattr(provider, "name", "?"), "teardown_failed",
                                             f"{type(exc).__name__}: {exc}", worker=self.worker))

    # --- tests -----------------------------------------------------------------

    def scope_key(self, spec: EnvironmentSpec, *, test_id: str, module_id: str) -> str:
        return {"session": "session", "module": module_id, "test": test_id}[spec.scope]

    def acquire(self, name: str, *, test_id: str, module_id: str) -> Acquired:
        """The environment ``name`` for the test ``test_id``; raises an :class:`EnvironmentProblem`."""
        spec = self.specs[name]
        provider = self.providers[spec.provider]
        key = (name, self.scope_key(spec, test_id=test_id, module_id=module_id))
        reprovisioned = None
        instance = self._live.get(key)
        if instance is not None and spec.scope != "test" and self._checked.get(key) != test_id:
            self._checked[key] = test_id
            problem = self._health_problem(provider, instance.env)
            if problem is not None:
                reprovisioned = f"{spec.label()}: {problem}; re-provisioned"
                self.events.append(Event(name, spec.provider, "reprovisioned", problem, test_id, self.worker))
                self._teardown(self._live.pop(key))
                instance = None
        if instance is None:
            failed = self._failed.get(key)
            if failed is not None:
                raise failed
            try:
                instance = self._provision(spec, provider, key[1])
            except EnvironmentProblem as exc:
                if reprovisioned is not None:
                    exc = ProvisionError(f"{reprovisioned} but that failed: {exc}", category="infrastructure")
                if spec.scope != "test":
                    self._failed[key] = exc
                self.events.append(Event(name, spec.provider, "provision_failed", str(exc), test_id, self.worker))
                raise exc from None
            self._live[key] = instance
            self._checked[key] = test_id
        env = instance.env
        if spec.isolate == "test":
            isolate = getattr(provider, "isolate", None)
            if isolate is None:
                raise ProvisionError(f"{spec.label()}: provider {spec.provider!r} cannot isolate per test")
            try:
                env = isolate(instance.env, self._context(spec, key[1], instance.env.path))
            except EnvironmentProblem as exc:
                raise _labelled(spec, exc) from None
            except Exception as exc:  # noqa: BLE001 - any provider bug becomes a setup error
                raise ProvisionError(f"{spec.label()}: per-test copy failed: {type(exc).__name__}: {exc}") from None
            self._isolated.setdefault(test_id, []).append((provider, env))
        return Acquired(env, reprovisioned)

    def release_test(self, test_id: str) -> None:
        """After a test: drop its per-test copies and its test-scoped instances."""
        for provider, env in reversed(self._isolated.pop(test_id, [])):
            releaser = getattr(provider, "release", None)
            if releaser is not None:
                self._quietly(env, releaser)
        for key in [k for k in self._live if k[1] == test_id]:
            self._teardown(self._live.pop(key))

    def end_module(self, module_id: str) -> None:
        for key in [k for k in self._live if k[1] == module_id]:
            self._teardown(self._live.pop(key))
        for key in [k for k in self._failed if k[1] == module_id]:
            del self._failed[key]

    @property
    def live(self) -> Dict[Tuple[str, str], Environment]:
        return {key: instance.env for key, instance in self._live.items()}

    # --- internals -------------------------------------------------------------

    def _health_problem(self, provider: Any, env: Environment) -> Optional[str]:
        try:
            healthy = provider.check(env)
        except UnhealthyEnvironment as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure of the check means unhealthy
            return f"health check failed: {type(exc).__name__}: {exc}"
        if healthy is False:
            return "health check failed"
        return None

    def _context(self, spec: EnvironmentSpec, scope_key: str, private_dir: Optional[Path]) -> ProvisionContext:
        def track(**_: Any) -> None:
            return None

        return ProvisionContext(
            spec=spec, scope_key=scope_key, worker=self.worker, run_key=self.run_key,
            rootdir=self.rootdir, private_dir=private_dir or self.runtime_dir, log_dir=self.log_dir,
            password=self.password, reserve_port=self.book.reserve_port, track=track,
            lease_dir=self.book.leases,
        )

    def _provision(self, spec: EnvironmentSpec, provider: Any, scope_key: str) -> Instance:
        attempts = spec.retries + 1
        delay = spec.backoff
        last: Optional[EnvironmentProblem] = None
        for attempt in range(1, attempts + 1):
            try:
                return self._provision_once(spec, provider, scope_key)
            except EnvironmentUnavailable as exc:
                raise _labelled(spec, exc) from None
            except EnvironmentProblem as exc:
                last = exc
                if not getattr(exc, "retry", True):
                    break
            if attempt < attempts:
                self.sleep(delay)
                delay *= 2
        assert last is not None
        error = _labelled(spec, last)
        if attempts > 1 and getattr(last, "retry", True):
            error = type(error)(f"{error} (after {attempts} attempts)", category=error.category)
        raise error

    def _provision_once(self, spec: EnvironmentSpec, provider: Any, scope_key: str) -> Instance:
        self._counter += 1
        private = Path(tempfile.mkdtemp(prefix=f"{spec.name}-{self.worker}-", dir=self.runtime_dir))
        lease = self.book.new(f"{spec.provider}-{spec.name}")
        lease.paths.append(str(private))
        lease.write()
        ports: List[int] = []

        def reserve(fixed: Optional[int] = None) -> int:
            try:
                port = self.book.reserve_port(fixed)
            except OSError as exc:
                raise ResourceError(str(exc), category="infrastructure") from None
            ports.append(port)
            return port

        def track(*, pgid: Optional[int] = None, signal: int = 15, path: Optional[Path] = None) -> None:
            if pgid is not None:
                lease.groups.append((pgid, start_time(pgid), signal))
            if path is not None:
                lease.paths.append(str(path))
            lease.write()

        context = ProvisionContext(
            spec=spec, scope_key=scope_key, worker=self.worker, run_key=self.run_key,
            rootdir=self.rootdir, private_dir=private, log_dir=self.log_dir, password=self.password,
            reserve_port=reserve, track=track, lease_dir=self.book.leases,
        )
        try:
            env = provider.provision(spec, context)
        except EnvironmentProblem:
            self._discard(lease, ports)
            raise
        except OSError as exc:
            self._discard(lease, ports)
            raise ResourceError(f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a provider bug is an environment failure
            self._discard(lease, ports)
            raise ProvisionError(f"{type(exc).__name__}: {exc}") from None
        if env.path is None:
            env.path = private
        for secret in env.secrets:
            self.on_secret(secret)
        return Instance(spec, scope_key, env, lease, ports)

    def _discard(self, lease: Lease, ports: List[int]) -> None:
        lease.release()
        for port in ports:
            self.book.release_port(port)

    def _teardown(self, instance: Instance) -> None:
        provider = self.providers[instance.spec.provider]
        self._quietly(instance.env, provider.teardown)
        self._discard(instance.lease, instance.ports)

    def _quietly(self, env: Environment, action: Callable[[Environment], Any]) -> None:
        try:
            action(env)
        except Exception as exc:  # noqa: BLE001 - teardown must go on; the lease cleans up
            self.events.append(Event(env.name, env.provider, "teardown_failed",
                                     f"{type(exc).__name__}: {exc}", worker=self.worker))


def _labelled(spec: EnvironmentSpec, exc: EnvironmentProblem) -> EnvironmentProblem:
    """``exc`` with its message prefixed by ``shopdb (postgres): `` unless it already is."""
    message = str(exc)
    prefix = f"{spec.label()}: "
    if message.startswith(prefix):
        return exc
    labelled = type(exc)(prefix + message, category=exc.category)
    if hasattr(exc, "retry"):
        labelled.retry = exc.retry  # type: ignore[attr-defined]
    return labelled


def make_private_root(path: Path) -> None:
    """The folder holding every instance's private folder: traversable, not listable by others.

    0711 rather than 0700 because servers may run as another user (root runs
    PostgreSQL as ``postgres``) and must reach their own 0700 folder inside.
    """
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if path.stat().st_uid == os.geteuid():
            path.chmod(0o711)


#: Free space /dev/shm needs before throwaway data goes there (containers often give it 64 MB).
SHM_MIN_FREE = 1 << 30


def default_runtime_dir() -> Path:
    """Where private folders and throwaway servers live: ``PYTEST_ORCHESTRA_RUNTIME_DIR``, else
    ``/dev/shm`` when it is a roomy tmpfs (copying a PostgreSQL cluster there takes 0.08 s
    instead of 0.9 s on this project's CI disk), else the temp dir."""
    override = os.environ.get("PYTEST_ORCHESTRA_RUNTIME_DIR")
    if override:
        return Path(override)
    name = f"pytest-orchestra-{os.geteuid()}"
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
        if os.access(shm, os.W_OK) and stats.f_bavail * stats.f_frsize >= SHM_MIN_FREE:
            return shm / name
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / name
