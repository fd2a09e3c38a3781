"""The data fixtures, as module-level functions (pytest deprecates session fixtures on plugin instances).

Each one asks the session's :class:`~pytest_orchestra.data.provider.DataPlugin` for the work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, cast

import pytest

if TYPE_CHECKING:
    from .provider import DataPlugin
    from .sampling import Dataset
    from .session import DataSession


def _plugin(request: pytest.FixtureRequest) -> "DataPlugin":
    plugin = cast("DataPlugin", request.config.pluginmanager.get_plugin("orchestra-data"))
    return plugin.in_use()


@pytest.fixture(scope="session")
def orchestra_data(request: pytest.FixtureRequest) -> Iterator["DataSession"]:
    """Session helpers: ``sample``, ``strategy``, ``validate``, ``load`` (session SQLite, reset per call)."""
    session = _plugin(request).session_helpers()
    yield session
    session.close()


@pytest.fixture
def orchestra_dataset(request: pytest.FixtureRequest) -> "Dataset":
    """The marked dataset, ``{table: [row dicts]}``, seeded from the run seed and the test's nodeid."""
    return _plugin(request).dataset_for(request)


@pytest.fixture
def orchestra_dataset_files(request: pytest.FixtureRequest) -> Any:
    """A generated dataset on disk (cached under ``.orchestra/data/``), or the validated ``path=``."""
    return _plugin(request).files_for(request)
