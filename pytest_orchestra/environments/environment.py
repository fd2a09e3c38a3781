"""What providers produce and receive: :class:`Environment`, :class:`ProvisionContext`, errors.

A provider is any object with ``name``, ``provision(spec, context) ->
Environment``, ``check(env)`` (raise or return False when unhealthy) and
``teardown(env)``; optionally ``isolate(env, context) -> Environment`` and
``release(env)`` for per-test copies (``isolate: test``), and
``check_spec(spec) -> list[str]`` for configure-time problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Protocol,
    runtime_checkable,
)

from pytest_orchestra.environments.config import EnvironmentSpec


class EnvironmentProblem(Exception):
    """Base of the errors a provider raises; ``category`` is the triage category."""

    category = "environment"
    #: False for causes a retry cannot fix (binaries absent, bad command).
    retry = True

    def __init__(self, message: str, *, category: Optional[str] = None, retry: Optional[bool] = None) -> None:
        super().__init__(message)
        if category is not None:
            self.category = category
        if retry is not None:
            self.retry = retry


class ProvisionError(EnvironmentProblem):
    """Provisioning failed; ``category`` is ``environment`` (setup) or ``infrastructure`` (resources)."""


class ResourceError(ProvisionError):
    """The machine ran out of something (ports, disk, processes): ``infrastructure``."""

    category = "infrastructure"


class EnvironmentUnavailable(EnvironmentProblem):
    """The environment cannot exist on this machine (no Docker engine): tests are skipped."""


class UnhealthyEnvironment(EnvironmentProblem):
    """A health check failed: the service died or stopped answering."""

    category = "infrastructure"


@dataclass
class Environment:
    """One provisioned environment: what clients need, plus the provider's own state.

    ``host``, ``port``, ``dsn``, ``url``, ``path`` and ``env`` are what tests
    read; unset ones are ``None`` (``env`` is empty). ``info`` holds further
    provider-specific attributes, readable as attributes too (``env.dbname``).
    """

    name: str
    provider: str
    host: Optional[str] = None
    port: Optional[int] = None
    dsn: Optional[str] = None
    url: Optional[str] = None
    path: Optional[Path] = None
    env: Dict[str, str] = field(default_factory=dict)
    info: Dict[str, Any] = field(default_factory=dict)
    #: Provider-private state (process handles, server records); never shown.
    handle: Any = field(default=None, repr=False)
    #: Values to mask in reports and logs (passwords).
    secrets: List[str] = field(default_factory=list, repr=False)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not fields.
        info = self.__dict__.get("info", {})
        if name in info:
            return info[name]
        raise AttributeError(
            f"environment {self.__dict__.get('name')!r} has no attribute {name!r}"
            f" (it has: {', '.join(sorted(self.attributes()))})"
        )

    def attributes(self) -> Dict[str, Any]:
        """The client-facing attributes that are set, for messages and placeholders."""
        values: Dict[str, Any] = {}
        for key in ("host", "port", "dsn", "url", "path"):
            value = getattr(self, key)
            if value is not None:
                values[key] = value
        values.update(self.info)
        return values

    def connect(self, **kwargs: Any) -> Any:
        """A client connection, for providers that know how (postgres, sqlite)."""
        connector = self.info.get("connector")
        if connector is None:
            raise AttributeError(f"environment {self.name!r} ({self.provider}) has no connect()")
        return connector(self, **kwargs)


@dataclass
class ProvisionContext:
    """Where and for whom an environment is provisioned."""

    spec: EnvironmentSpec
    #: ``session``, a module's nodeid or a test's nodeid: the scope instance.
    scope_key: str
    #: ``gw3`` under xdist, ``main`` otherwise.
    worker: str
    #: Shared by every process of one pytest run (xdist's testrunuid).
    run_key: str
    rootdir: Path
    #: A fresh private directory (0700) for this environment instance.
    private_dir: Path
    #: Where captured output goes.
    log_dir: Path
    #: A secret of this run, usable as a password.
    password: str
    #: Reserves a free port (or the spec's fixed one) for this instance.
    reserve_port: Callable[[Optional[int]], int]
    #: Records a process group to kill and a path to remove if this process dies.
    track: Callable[..., None]
    #: The folder shared leases live in (servers shared by workers).
    lease_dir: Path

    def fill(self, template: str, values: Mapping[str, Any]) -> str:
        """``template`` with ``{port}``-style placeholders filled; unknown ones are errors."""
        try:
            return template.format_map({k: str(v) for k, v in values.items()})
        except (KeyError, IndexError, ValueError) as exc:
            raise ProvisionError(
                f"{self.spec.label()}: cannot fill placeholder {exc} in {template!r}"
                f" (known: {', '.join(sorted(values))})"
            ) from None


@runtime_checkable
class Provider(Protocol):
    name: str

    def provision(self, spec: EnvironmentSpec, context: ProvisionContext) -> Environment: ...

    def check(self, env: Environment) -> Any: ...

    def teardown(self, env: Environment) -> None: ...
