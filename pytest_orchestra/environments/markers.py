"""The ``env`` marker, and the guard for it when the workflow declares no environments.

Kept apart from the plugin so a run without environments imports nothing more.
"""

from __future__ import annotations

from typing import List

import pytest

from pytest_orchestra.core.marks import marker_survey


def marked_names(item: pytest.Item) -> List[str]:
    names: List[str] = []
    for marker in item.iter_markers("env"):
        for name in marker.args:
            if name not in names:
                names.append(str(name))
    return names


class UndeclaredEnvironments:
    """Without an ``environments`` section, ``@pytest.mark.env`` is an error naming the fix.

    The per-test check is registered only when some collected test carries the
    marker, so a suite without environments pays one marker lookup per test.
    """

    def __init__(self, pluginmanager: pytest.PytestPluginManager) -> None:
        self.pluginmanager = pluginmanager

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: List[pytest.Item]) -> None:
        if "env" in marker_survey(config, items).seen:
            if not self.pluginmanager.has_plugin(UndeclaredEnvironmentGuard.name):
                self.pluginmanager.register(UndeclaredEnvironmentGuard(), UndeclaredEnvironmentGuard.name)


class UndeclaredEnvironmentGuard:
    name = "orchestra-environments-undeclared"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        names = marked_names(item)
        if names:
            pytest.fail(
                f"@pytest.mark.env({', '.join(map(repr, names))}): the workflow declares no environments"
                " (add an 'environments' section to orchestra.yaml)",
                pytrace=False,
            )
