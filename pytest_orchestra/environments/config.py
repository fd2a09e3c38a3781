"""The ``environments`` section of the workflow file and its frozen specs.

A schema node built with the workflow DSL (so the JSON Schema stays in step
with validation) and :class:`EnvironmentSpec`, the dataclass the rest of the
package reads. Pure logic: no pytest import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from pytest_orchestra.workflow.schema import (
    AnyMapping,
    Bool,
    Field,
    Int,
    ListOf,
    MapOf,
    Node,
    Number,
    Record,
    SchemaViolation,
    Str,
)

SCOPES: tuple[str, ...] = ("session", "module", "test")
ISOLATIONS: tuple[str, ...] = ("none", "test")

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
ENV_VAR_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"

DEFAULT_READY_TIMEOUT = 10.0


@dataclass(frozen=True)
class ReadySpec:
    """When a started process counts as ready; with nothing set, as soon as it runs."""

    tcp: bool = False
    http: str | None = None
    log: str | None = None
    timeout: float = DEFAULT_READY_TIMEOUT


@dataclass(frozen=True)
class EnvironmentSpec:
    """One declared environment (``environments.<name>``)."""

    name: str
    provider: str
    scope: str = "session"
    isolate: str = "none"
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] = ()
    cwd: str | None = None
    ready: ReadySpec = ReadySpec()
    port: int | None = None
    ports: int = 1
    bin_dir: str | None = None
    version: str | None = None
    schema: str | None = None
    image: str | None = None
    retries: int = 2
    backoff: float = 0.5
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """The key path of this environment in the workflow, for messages."""
        return f"environments.{self.name}"

    def label(self) -> str:
        """``shopdb (postgres)``: how messages name this environment."""
        return f"{self.name} ({self.provider})"


def _choice(values: tuple[str, ...], description: str) -> Str:
    alternatives = "|".join(re.escape(value) for value in values)
    return Str(description, pattern=f"(?:{alternatives})", expected=f"one of {', '.join(values)}")


READY = Record(
    {
        "tcp": Field(Bool("Ready once the port accepts TCP connections."), default=False),
        "http": Field(Str("Ready once GET <url><path> answers below 500, e.g. /health.",
                          pattern=r"/.*", expected="a path starting with '/'"), nullable=True),
        "log": Field(Str("Ready once this text appears in the process's output.", non_empty=True),
                     nullable=True),
        "timeout": Field(Number(0.1, 3600, "Seconds to wait for readiness."),
                         default=DEFAULT_READY_TIMEOUT),
    },
    "How to tell a started process is ready.",
)


def _check_environment(value: dict[str, Any], path: str) -> None:
    if value.get("provider") is None:
        raise SchemaViolation(path, "missing required key 'provider'")
    if value["provider"] == "process" and not value.get("command"):
        raise SchemaViolation(path, "missing required key 'command' (a process environment runs it)")


ENVIRONMENT = Record(
    {
        "provider": Field(Str("Who provisions it: local, process, postgres, sqlite, docker, "
                              "or a provider added by a plugin.", pattern=r"[A-Za-z0-9_.-]+",
                              expected="a provider name")),
        "scope": Field(_choice(SCOPES, "How long one instance lives (per xdist worker)."),
                       default="session"),
        "isolate": Field(_choice(ISOLATIONS, "'test' gives each test its own copy "
                                 "(a database cloned from a template)."), default="none"),
        "env": Field(MapOf(Str(pattern=ENV_VAR_PATTERN, expected="an environment variable name"),
                           Str(), "Variables set while a test using it runs; "
                           "{port}, {path}, {host}, {url}, {dsn} are filled in."), default={}),
        "command": Field(ListOf(Str(), "The command a process environment runs; "
                                "{port} and {path} are filled in, python means this Python.",
                                expected="a list of strings", min_items=1), default=()),
        "cwd": Field(Str("Working directory of the command, relative to the rootdir.",
                         non_empty=True), nullable=True),
        "ready": Field(READY, default=READY.validate({}, "")),
        "port": Field(Int(1, "A fixed port instead of a free one."), nullable=True),
        "ports": Field(Int(1, "How many free ports a local environment reserves."), default=1),
        "bin_dir": Field(Str("Folder holding the provider's binaries (postgres: initdb, postgres).",
                             non_empty=True), nullable=True),
        "version": Field(Str("Required major version, e.g. '15' for postgres.",
                             pattern=r"[0-9]+(\.[0-9]+)*", expected="a version like 15"),
                         nullable=True),
        "schema": Field(Str("SQL file loaded into the template database, relative to the rootdir.",
                            non_empty=True), nullable=True),
        "image": Field(Str("Container image of a docker environment.", non_empty=True),
                       nullable=True),
        "retries": Field(Int(0, "Provisioning attempts after a failed one."), default=2),
        "backoff": Field(Number(0, 60, "Seconds before the first retry; doubles each time."),
                         default=0.5),
        "options": Field(AnyMapping("Free-form settings for a provider added by a plugin."),
                         default={}),
    },
    "One isolated test environment.",
    check=_check_environment,
)


def environments_section_node() -> Node:
    return MapOf(
        Str(pattern=NAME_PATTERN, expected="an environment name (letters, digits, '_')"),
        ENVIRONMENT,
        "Isolated test environments by name; tests ask for them with @pytest.mark.env(name).",
    )


def environment_specs(validated: Mapping[str, Any] | None) -> dict[str, EnvironmentSpec]:
    """Specs by name from the validated section (``None`` when the file has none)."""
    specs: dict[str, EnvironmentSpec] = {}
    for name, values in (validated or {}).items():
        ready = values.get("ready") or {}
        specs[name] = EnvironmentSpec(
            name=name,
            provider=values["provider"],
            scope=values.get("scope", "session"),
            isolate=values.get("isolate", "none"),
            env=dict(values.get("env") or {}),
            command=tuple(values.get("command") or ()),
            cwd=values.get("cwd"),
            ready=ReadySpec(
                tcp=bool(ready.get("tcp", False)),
                http=ready.get("http"),
                log=ready.get("log"),
                timeout=float(ready.get("timeout", DEFAULT_READY_TIMEOUT)),
            ),
            port=values.get("port"),
            ports=values.get("ports", 1),
            bin_dir=values.get("bin_dir"),
            version=values.get("version"),
            schema=values.get("schema"),
            image=values.get("image"),
            retries=values.get("retries", 2),
            backoff=float(values.get("backoff", 0.5)),
            options=dict(values.get("options") or {}),
        )
    return specs


def conflicts(specs: Mapping[str, EnvironmentSpec]) -> list[str]:
    """Requirements no run can meet together, as messages naming the keys."""
    problems: list[str] = []
    claimed: dict[int, str] = {}
    for spec in specs.values():
        # A docker port is the container's; the host side is always a free one.
        if spec.port is None or spec.provider == "docker":
            continue
        other = claimed.get(spec.port)
        if other is not None:
            problems.append(
                f"environments.{other}.port and {spec.where}.port both claim port {spec.port}"
            )
        else:
            claimed[spec.port] = spec.name
        if spec.scope != "session":
            problems.append(
                f"{spec.where}.port: a fixed port needs scope: session "
                f"(several {spec.scope}-scoped instances would collide on port {spec.port})"
            )
    return problems
