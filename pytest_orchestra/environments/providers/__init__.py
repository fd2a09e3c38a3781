"""The built-in providers: local, process, postgres, sqlite, docker."""

from __future__ import annotations

from typing import Any, Dict


def builtin_providers() -> Dict[str, Any]:
    from pytest_orchestra.environments.providers.docker import DockerProvider
    from pytest_orchestra.environments.providers.local import LocalProvider
    from pytest_orchestra.environments.providers.postgres import PostgresProvider
    from pytest_orchestra.environments.providers.process import ProcessProvider
    from pytest_orchestra.environments.providers.sqlite import SqliteProvider

    providers = (LocalProvider(), ProcessProvider(), PostgresProvider(), SqliteProvider(), DockerProvider())
    return {provider.name: provider for provider in providers}
