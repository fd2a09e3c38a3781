"""Pytest wiring of test data: the ``dataset`` marker, fixtures, the run seed, failure facts.

- ``orchestra_dataset`` (function scope): the marked dataset, generated
  deterministically from the run seed and the test's nodeid (or read from
  ``path=`` files), validated first when asked;
- ``orchestra_dataset_files`` (function scope): a bulk dataset on disk, from
  the cache under ``.orchestra/data/``;
- ``orchestra_data`` (session scope): schemas, ``sample``, ``strategy``,
  ``validate`` and a session SQLite database reset per load, for ``@given``
  tests (a session fixture never trips Hypothesis' function-scoped check).

The run seed comes from ``--orchestra-data-seed`` (``random`` draws one on
the controller and hands it to xdist workers). Reports of tests that used a
dataset carry an "orchestra data" section with the seed; a dataset that fails
validation in setup puts a ``data`` fact on the report for triage.

This module registers the pieces: the plugin object (``provider``), the
fixtures (``fixtures``), and the hook handing the run seed to xdist workers.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from .provider import DataPlugin

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.settings import OrchestraSettings


class XdistHooks:
    """Hands the controller's run seed to every worker, so 'random' means one seed per run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["orchestra_data_seed"] = self.seed


def register(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    """Register the data plugin; the workflow's datasets become resolvable by name."""
    datasets = dict(settings.workflow.sections.get("datasets") or {})
    if datasets or f"{__package__}.schema_sources" in sys.modules:
        # The schema_sources module holds the session's named datasets: set them, or clear what an
        # earlier session in this process (pytester) left there.
        from .schema_sources import use_workflow_datasets

        use_workflow_datasets(datasets)
    plugin = DataPlugin(config, settings.rootdir, datasets, settings.base_dir)
    config.pluginmanager.register(plugin, DataPlugin.name)
    from . import fixtures

    if not config.pluginmanager.is_registered(fixtures):
        config.pluginmanager.register(fixtures, "orchestra-data-fixtures")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(XdistHooks(plugin.run_seed), "orchestra-data-xdist")
