"""Isolated test environments: providers, scopes, health checks, teardown that always runs.

Declare environments in the workflow (``environments:``), ask for them with
``@pytest.mark.env("shopdb")`` and read them from the ``orchestra_env``
fixture. Providers come from the built-ins (``local``, ``process``,
``postgres``, ``sqlite``, ``docker``), the
``pytest_orchestra_environment_providers`` hook and the
``pytest_orchestra.providers`` entry-point group.
"""

from __future__ import annotations

from pytest_orchestra.environments.config import EnvironmentSpec, ReadySpec
from pytest_orchestra.environments.environment import (
    Environment,
    EnvironmentProblem,
    EnvironmentUnavailable,
    Provider,
    ProvisionContext,
    ProvisionError,
    ResourceError,
    UnhealthyEnvironment,
)

__all__ = [
    "Environment",
    "EnvironmentProblem",
    "EnvironmentSpec",
    "EnvironmentUnavailable",
    "Provider",
    "ProvisionContext",
    "ProvisionError",
    "ReadySpec",
    "ResourceError",
    "UnhealthyEnvironment",
]
