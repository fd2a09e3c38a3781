"""pytest-orchestra's entry point (``pytest11``: ``orchestra``).

Thin on purpose: it reads the table of capabilities
(:mod:`pytest_orchestra.capabilities`) and, for each row, adds its options and
markers and registers its plugin objects when it is wanted. It is also the one
place where bad input (an :class:`~pytest_orchestra.core.errors.OrchestraError`
raised by any capability, at configure time or in the session's hooks) becomes
pytest's usage error. The logic lives in the capability packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, List

import pytest

from pytest_orchestra.core.errors import OrchestraError

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings

#: The session's parsed settings, for capabilities that need them.
SETTINGS_KEY: "pytest.StashKey[OrchestraSettings]" = pytest.StashKey()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_orchestra import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    from pytest_orchestra.capabilities import CAPABILITIES, load

    group = parser.getgroup("orchestra", "pytest-orchestra: orchestrated QA runs")
    for capability in CAPABILITIES:
        if capability.options is not None:
            load(capability.options)(group, parser)


def pytest_configure(config: pytest.Config) -> None:
    try:
        _configure(config)
    except OrchestraError as error:
        raise pytest.UsageError(str(error)) from None


def _configure(config: pytest.Config) -> None:
    from pytest_orchestra.capabilities import CAPABILITIES, load
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.settings import load_settings

    for capability in CAPABILITIES:
        if capability.wanted is None:
            _add_markers(config, capability.markers)
    settings = load_settings(config)
    for capability in CAPABILITIES:  # a plan may turn on what it asks for (change-based selection)
        if capability.settings is not None and _wanted(capability, config, settings):
            settings = load(capability.settings)(config, settings)
    wanted = [c for c in CAPABILITIES if _wanted(c, config, settings)]
    _apply_pytest_options(config, settings)
    config.stash[SETTINGS_KEY] = settings
    role = ProcessRole.of(config)
    for capability in sorted(wanted, key=lambda c: c.rank):
        if capability.wanted is not None:
            _add_markers(config, capability.markers)
        if capability.register is not None:
            load(capability.register)(config, settings, role)


def _wanted(capability: Any, config: pytest.Config, settings: "OrchestraSettings") -> bool:
    return capability.wanted is None or bool(capability.wanted(config, settings))


def _add_markers(config: pytest.Config, lines: Any) -> None:
    for line in lines:
        config.addinivalue_line("markers", line)


def _apply_pytest_options(config: pytest.Config, settings: "OrchestraSettings") -> None:
    """What the settings ask of pytest's own options, applied here and nowhere else."""
    for attribute, value in settings.pytest_options:
        setattr(config.option, attribute, value)
    if hasattr(config.option, "orchestra_changed"):
        # The change-based selection in force (a plan may ask for it), where conftests can read it.
        config.option.orchestra_changed = settings.changed


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: List[str]) -> None:
    # Recording starts before the conftest files import the project, so those imports count.
    if getattr(early_config.known_args_namespace, "orchestra_record_map", False):
        from pytest_orchestra.selection.plugin import start_recording_early

        start_recording_early(early_config)


# -- bad input raised in the session's hooks becomes a usage error, as at configure time ----------
# (tryfirst: the outermost wrappers, so that they also see what a capability's own wrapper raises)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> Generator[None, Any, Any]:
    return (yield from _as_usage_error())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: List[pytest.Item]
) -> Generator[None, Any, Any]:
    return (yield from _as_usage_error())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> Generator[None, Any, Any]:
    return (yield from _as_usage_error())


def _as_usage_error() -> Generator[None, Any, Any]:
    try:
        return (yield)
    except OrchestraError as error:
        raise pytest.UsageError(str(error)) from None
