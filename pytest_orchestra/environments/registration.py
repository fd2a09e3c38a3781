"""Registering environments: the full plugin when the workflow declares some, else a small guard.

Kept apart from ``plugin.py`` so that a session without an ``environments``
section imports only the guard, which turns ``@pytest.mark.env`` on an
undeclared environment into a clear error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.settings import OrchestraSettings


def register(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    if settings.workflow.sections.get("environments"):
        from pytest_orchestra.environments.plugin import register_environments

        register_environments(config, settings, role)
    elif role.runs_tests:
        from pytest_orchestra.environments.markers import UndeclaredEnvironments

        config.pluginmanager.register(UndeclaredEnvironments(config.pluginmanager), "orchestra-environments")
