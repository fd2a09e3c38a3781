"""``docker``: a container through testcontainers, when a Docker engine answers.

testcontainers is an optional extra (``pytest-orchestra[docker]``) imported on
first use. Without it, or without an engine, provisioning raises
:class:`EnvironmentUnavailable` and the tests needing the environment are
skipped with the reason.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

from pytest_orchestra.environments.config import EnvironmentSpec
from pytest_orchestra.environments.environment import (
    Environment,
    EnvironmentUnavailable,
    ProvisionContext,
    ProvisionError,
    UnhealthyEnvironment,
)
from pytest_orchestra.environments.providers.placeholders import fill_env


def _load(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise EnvironmentUnavailable(
            "testcontainers is not installed; pip install 'pytest-orchestra[docker]'"
        ) from None


class DockerProvider:
    name = "docker"

    def __init__(self) -> None:
        self._engine_problem: Optional[str] = None
        self._engine_checked = False

    def _require_engine(self) -> None:
        if not self._engine_checked:
            self._engine_checked = True
            docker = _load("docker")
            try:
                client = docker.from_env(timeout=3)
                client.ping()
                client.close()
            except Exception as exc:  # noqa: BLE001 - any failure means no usable engine
                self._engine_problem = f"no Docker engine answers ({type(exc).__name__}: {str(exc)[:120]})"
        if self._engine_problem:
            raise EnvironmentUnavailable(self._engine_problem)

    def provision(self, spec: EnvironmentSpec, context: ProvisionContext) -> Environment:
        if not spec.image:
            raise ProvisionError(f"missing {spec.where}.image", retry=False)
        core = _load("testcontainers.core.container")
        self._require_engine()
        container = core.DockerContainer(spec.image)
        for name, value in spec.env.items():
            container = container.with_env(name, value)
        if spec.port:
            container = container.with_exposed_ports(spec.port)
        container.start()
        env = Environment(spec.name, self.name, host=container.get_container_host_ip(), handle=container)
        if spec.port:
            env.port = int(container.get_exposed_port(spec.port))
            env.url = f"http://{env.host}:{env.port}"
        env.env = fill_env(spec.env, env, context)
        return env

    def check(self, env: Environment) -> None:
        container = env.handle
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        if wrapped.status != "running":
            raise UnhealthyEnvironment(f"container {wrapped.short_id} is {wrapped.status}")

    def teardown(self, env: Environment) -> None:
        env.handle.stop()
