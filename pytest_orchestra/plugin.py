"""pytest-orchestra's entry point (``pytest11``: ``orchestra``).

Thin on purpose: options, markers, and the registration of each capability's
plugin object when it is on. The logic lives in the capability packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List

import pytest

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings

#: The session's parsed settings, for capabilities that need them.
SETTINGS_KEY: "pytest.StashKey[OrchestraSettings]" = pytest.StashKey()

MARKERS = (
    "app(name): the app this test belongs to (overrides the workflow's apps.*.paths).",
    "matrix(*dimensions, **values): run the test once per cell of the given dimensions, "
    "e.g. matrix(role=['Admin', 'Guest']) or matrix('role', 'edition') with values from the workflow.",
    "critical: a test whose failure fails the quality gate (gates.critical).",
    "env(*names): provision the named environments (workflow 'environments') for this test.",
    "dataset(name_or_schema=None, *, rows=None, profile=None, seed=None, validate=False, path=None, size=None, "
    "format='csv'): the dataset the orchestra_dataset / orchestra_dataset_files fixtures give this test.",
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_orchestra import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orchestra", "pytest-orchestra: orchestrated QA runs")
    group.addoption(
        "--orchestra-workflow",
        metavar="PATH",
        default=None,
        help="Workflow file to use instead of orchestra.yaml / [tool.orchestra] at the rootdir.",
    )
    group.addoption(
        "--orchestra-report-dir",
        metavar="DIR",
        default=None,
        help="Write this run's reports into DIR (default: .orchestra/reports/<run-id>/).",
    )
    group.addoption(
        "--orchestra-gate",
        metavar="RULES",
        nargs="?",
        const="",
        default=None,
        help="Evaluate the quality gate: the workflow's gates, or defaults, overridden by "
        "RULES like 'min_success_rate=0.95,max_flaky=0'. A failed gate exits with status 6.",
    )
    group.addoption(
        "--orchestra-reruns",
        metavar="N",
        type=int,
        default=None,
        help="Retry a failed test up to N times when its failure category allows "
        "(workflow retries.categories; default infrastructure and timeout).",
    )
    from pytest_orchestra.ordering.plugin import addoption as add_ordering_options

    add_ordering_options(group)
    from pytest_orchestra.plans.options import addoption as add_plan_options

    add_plan_options(group)
    from pytest_orchestra.selection.options import addoption as add_selection_options

    add_selection_options(group)
    from pytest_orchestra.history.options import addoption as add_history_options

    add_history_options(group)
    from pytest_orchestra.data.plugin import add_options as add_data_options

    add_data_options(parser)
    parser.addini(
        "orchestra_records",
        type="bool",
        default=True,
        help="Write run history (.orchestra/history.db) and reports (default: true).",
    )


def pytest_configure(config: pytest.Config) -> None:
    from pytest_orchestra.matrix.plugin import MatrixPlugin
    from pytest_orchestra.ordering.plugin import MARKERS as ORDERING_MARKERS
    from pytest_orchestra.settings import load_settings
    from pytest_orchestra.tagging import ItemTagger

    for line in MARKERS + ORDERING_MARKERS:
        config.addinivalue_line("markers", line)
    settings = load_settings(config)
    plans = _plans_wanted(config, settings)
    if plans:
        from pytest_orchestra.plans.plugin import apply_plan

        settings = apply_plan(config, settings)
    config.stash[SETTINGS_KEY] = settings
    workflow = settings.workflow
    config.pluginmanager.register(MatrixPlugin(workflow.matrix), "orchestra-matrix")
    config.pluginmanager.register(
        ItemTagger(config.pluginmanager, workflow.apps, settings.tracked_markers, settings.rootdir), "orchestra-tagging"
    )
    is_controller = not hasattr(config, "workerinput")
    if is_controller:
        from pytest_orchestra.recording.hub import RunHub

        config.pluginmanager.register(RunHub(config, settings), RunHub.name)
    from pytest_orchestra.triage.plugin import register_triage

    register_triage(config, settings, runs_tests=not _is_xdist_controller(config), is_controller=is_controller)
    from pytest_orchestra.ordering.plugin import register_ordering

    register_ordering(config, settings, runs_tests=not _is_xdist_controller(config), is_controller=is_controller)
    if plans:
        from pytest_orchestra.plans.plugin import register_plans

        register_plans(config, settings, runs_tests=not _is_xdist_controller(config), is_controller=is_controller)
    if workflow.sections.get("environments"):
        from pytest_orchestra.environments.plugin import register_environments

        register_environments(config, settings, runs_tests=not _is_xdist_controller(config), is_controller=is_controller)
    elif not _is_xdist_controller(config):
        from pytest_orchestra.environments.markers import UndeclaredEnvironments

        config.pluginmanager.register(UndeclaredEnvironments(config.pluginmanager), "orchestra-environments")
    from pytest_orchestra.data.plugin import register_data

    register_data(config, settings)
    if _selection_wanted(config):
        from pytest_orchestra.selection.plugin import register_selection

        register_selection(config, settings, runs_tests=not _is_xdist_controller(config), is_controller=is_controller)
    if workflow.sections.get("runners"):
        from pytest_orchestra.runners.plugin import register_runners

        register_runners(config, settings, runs_tests=not _is_xdist_controller(config), is_controller=is_controller)
    if config.pluginmanager.hasplugin("pytest-bdd"):
        from pytest_orchestra.gherkin import LazyGherkinTags

        config.pluginmanager.register(LazyGherkinTags(workflow.matrix.dimensions), LazyGherkinTags.name)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: List[str]) -> None:
    # Recording starts before the conftest files import the project, so those imports count.
    if getattr(early_config.known_args_namespace, "orchestra_record_map", False):
        from pytest_orchestra.selection.plugin import start_recording_early

        start_recording_early(early_config)


def _selection_wanted(config: pytest.Config) -> bool:
    return bool(
        config.getoption("orchestra_record_map")
        or config.getoption("orchestra_changed") is not None
        or config.getoption("orchestra_audit")
        or config.getoption("orchestra_explain")
    )


def _plans_wanted(config: pytest.Config, settings: "OrchestraSettings") -> bool:
    """A workflow with plans, or a plan or rerun flag; else the plans package is not imported."""
    return bool(
        settings.workflow.sections.get("plans")
        or config.getoption("orchestra_plan")
        or config.getoption("orchestra_rerun")
        or config.getoption("orchestra_rerun_filter")
    )


def _is_xdist_controller(config: pytest.Config) -> bool:
    """Whether this process hands tests to xdist workers instead of running them."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None)) and (
        getattr(config.option, "dist", "no") != "no"
    )
