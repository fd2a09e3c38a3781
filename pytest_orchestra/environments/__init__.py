"""Isolated test environments: providers, scopes, health checks, teardown that always runs.

Declare environments in the workflow (``environments:``), ask for them with
``@pytest.mark.env("shopdb")`` and read them from the ``orchestra_env``
fixture. Providers come from the built-ins (``local``, ``process``,
``postgres``, ``sqlite``, ``docker``), the
``pytest_orchestra_environment_providers`` hook and the
``pytest_orchestra.providers`` entry-point group.
"""

from __future__ import annotations

from pytest_orchestra.core.speed import lazy_exports

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

#: Public names -> their module, imported on first use so loading the plugin stays cheap.
_EXPORTS = {
    "EnvironmentSpec": "config",
    "ReadySpec": "config",
    **{name: "environment" for name in __all__ if name not in ("EnvironmentSpec", "ReadySpec")},
}


__getattr__ = lazy_exports(__name__, _EXPORTS)
