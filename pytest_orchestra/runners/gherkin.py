"""The stand-in for :class:`~pytest_orchestra.runners.bdd.GherkinTags`, registered whenever pytest-bdd is loaded.

pytest-bdd is often installed where no scenario runs; importing the runners
package for its tag mapping would cost every such start. This object answers
pytest-bdd's tag hook and imports the mapping on the first tag it has to map.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import pytest


class LazyGherkinTags:
    name = "orchestra-gherkin-tags"

    def __init__(self, dimensions: Mapping[str, Sequence[str]]) -> None:
        self.dimensions = dimensions
        self._tags: Any = None

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_bdd_apply_tag(self, tag: str, function: Callable[..., Any]) -> Optional[bool]:
        if ":" not in tag:
            return None  # pytest-bdd's own: @critical -> pytest.mark.critical
        if self._tags is None:
            from pytest_orchestra.runners.bdd import GherkinTags

            self._tags = GherkinTags(self.dimensions)
        return self._tags.pytest_bdd_apply_tag(tag, function)


def register(config: pytest.Config, settings: Any, role: Any) -> None:
    config.pluginmanager.register(LazyGherkinTags(settings.workflow.matrix.dimensions), LazyGherkinTags.name)
