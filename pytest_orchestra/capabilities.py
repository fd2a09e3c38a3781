"""pytest-orchestra's capabilities, in the order a run meets them: the one table.

    collect → select → order → provision → run → record → triage → report

Each row names what the capability brings, as ``"module:name"`` strings, so
that reading the table imports nothing and a capability that is off is never
imported: its workflow sections (for the workflow's section registry), its
command-line options, its markers, the function that registers its plugin
objects, whether it is wanted this session, how it may change the session's
settings (a plan does), and its ``python -m pytest_orchestra`` command. The
entry point (``plugin.py``), the workflow's section registry and
``__main__.py`` all read this table; adding a capability is one row here and
its own package.

Every ``register`` takes ``(config, settings, role)``: the parsed settings and
the process's :class:`~pytest_orchestra.core.roles.ProcessRole`, computed once.

Registration order (``rank``) is kept apart from the pipeline order on
purpose: pluggy calls the hook implementations of later-registered plugins
first, and several capabilities implement the same pytest hooks (collection,
reports, the terminal summary), so the order in which they register decides
who sees a report or an item first. It is written down here, once.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from pytest_orchestra.core.plainclass import plainclass

#: The stages of a run, in order.
STAGES = ("collect", "select", "order", "provision", "run", "record", "triage", "report")


@plainclass(frozen=True)
class Capability:
    name: str
    stage: str
    #: What it does, in one line (``python -m pytest_orchestra`` and ARCHITECTURE.md show it).
    summary: str
    #: Position in registration (lower registers earlier; see the module docstring).
    rank: int = 100
    #: Workflow sections: (name, "module:function returning its schema node").
    sections: Tuple[Tuple[str, str], ...] = ()
    #: "module:function(group, parser)" adding its command-line options and ini keys.
    options: Optional[str] = None
    #: Marker lines for ``config.addinivalue_line("markers", ...)``.
    markers: Tuple[str, ...] = ()
    #: "module:function(config, settings, role)" registering its plugin objects.
    register: Optional[str] = None
    #: Whether it is wanted this session (cheap, imports nothing); None: always.
    wanted: Optional[Callable[[Any, Any], bool]] = None
    #: "module:function(config, settings) -> settings" for a capability that shapes the session's settings.
    settings: Optional[str] = None
    #: ("name", "module:function(argv) -> exit status") of its ``python -m pytest_orchestra`` command.
    command: Optional[Tuple[str, str]] = None


def _option(config: Any, name: str) -> Any:
    return config.getoption(name, None)


def _selection_wanted(config: Any, settings: Any) -> bool:
    return bool(
        _option(config, "orchestra_record_map")
        or settings.changed is not None
        or _option(config, "orchestra_audit")
        or _option(config, "orchestra_explain")
    )


def _plans_wanted(config: Any, settings: Any) -> bool:
    """A workflow with plans, or a plan or rerun flag; else the plans package is not imported."""
    return bool(
        settings.workflow.sections.get("plans")
        or _option(config, "orchestra_plan")
        or _option(config, "orchestra_rerun")
        or _option(config, "orchestra_rerun_filter")
    )


def _runners_wanted(config: Any, settings: Any) -> bool:
    return bool(settings.workflow.sections.get("runners"))


def _bdd_wanted(config: Any, settings: Any) -> bool:
    return bool(config.pluginmanager.hasplugin("pytest-bdd"))


CAPABILITIES: Tuple[Capability, ...] = (
    # -- collect --------------------------------------------------------------------------
    Capability(
        "workflow", "collect", "one validated workflow file: orchestra.yaml or [tool.orchestra]",
        options="pytest_orchestra.workflow.options:addoption",
        command=("schema", "pytest_orchestra.workflow.__main__:print_schema"),
    ),
    Capability(
        "matrix", "collect", "role × edition matrices: one test per cell, with the cell's data",
        rank=1,
        markers=("matrix(*dimensions, **values): run the test once per cell of the given dimensions, "
                 "e.g. matrix(role=['Admin', 'Guest']) or matrix('role', 'edition') with values from the workflow.",),
        register="pytest_orchestra.matrix.plugin:register",
    ),
    Capability(
        "apps", "collect", "each test's app and tracked markers, carried on its reports",
        rank=2,
        markers=("app(name): the app this test belongs to (overrides the workflow's apps.*.paths).",
                 "critical: a test whose failure fails the quality gate (gates.critical)."),
        register="pytest_orchestra.tagging:register",
    ),
    Capability(
        "runners", "collect", "suites of other runners (JUnit XML, TRX, TAP, go test -json) as pytest items",
        rank=10,
        sections=(("runners", "pytest_orchestra.runners.config:runners_section_node"),),
        markers=("runner(name): a test case of a suite run by another tool (workflow 'runners').",),
        register="pytest_orchestra.runners.plugin:register",
        wanted=_runners_wanted,
    ),
    Capability(
        "bdd", "collect", "Gherkin tags of pytest-bdd scenarios as apps, matrix cells and markers",
        rank=11,
        register="pytest_orchestra.runners.gherkin:register",
        wanted=_bdd_wanted,
    ),
    # -- select ---------------------------------------------------------------------------
    Capability(
        "selection", "select", "only the tests a change can affect, from a per-test coverage map",
        rank=9,
        sections=(("selection", "pytest_orchestra.selection.config:selection_section_node"),),
        options="pytest_orchestra.selection.options:addoption",
        register="pytest_orchestra.selection.plugin:register",
        wanted=_selection_wanted,
        command=("map", "pytest_orchestra.selection.cli:main"),
    ),
    Capability(
        "plans", "select", "pre-merge / nightly / release plans and reruns of past failures",
        rank=6,
        sections=(("plans", "pytest_orchestra.plans.config:plans_section_node"),),
        options="pytest_orchestra.plans.options:addoption",
        register="pytest_orchestra.plans.plugin:register",
        wanted=_plans_wanted,
        settings="pytest_orchestra.plans.plugin:apply_plan",
    ),
    # -- order ----------------------------------------------------------------------------
    Capability(
        "ordering", "order", "cross-app ordering, dependency skips, hand-off, sharding and shard merges",
        rank=5,
        sections=(("ordering", "pytest_orchestra.ordering.config:ordering_section_node"),
                  ("sharding", "pytest_orchestra.ordering.config:sharding_section_node")),
        options="pytest_orchestra.ordering.options:addoption",
        markers=("after(*refs): run after the named tests, aliases or apps (ordering only).",
                 "requires(*refs): run after the named tests, aliases or apps, and skip (category dependency) "
                 "when one of them did not pass.",
                 "alias(name): a name other tests can use in after(...) / requires(...)."),
        register="pytest_orchestra.ordering.plugin:register",
        command=("merge", "pytest_orchestra.ordering.merge:main"),
    ),
    # -- provision ------------------------------------------------------------------------
    Capability(
        "environments", "provision", "isolated environments through providers: temp dirs, processes, PostgreSQL",
        rank=7,
        sections=(("environments", "pytest_orchestra.environments.config:environments_section_node"),),
        markers=("env(*names): provision the named environments (workflow 'environments') for this test.",),
        register="pytest_orchestra.environments.registration:register",
    ),
    Capability(
        "data", "provision", "Hypothesis-backed datasets, bulk datasets and their validation",
        rank=8,
        sections=(("datasets", "pytest_orchestra.data.config:datasets_section_node"),),
        options="pytest_orchestra.data.options:addoption",
        markers=("dataset(name_or_schema=None, *, rows=None, profile=None, seed=None, validate=False, path=None, "
                 "size=None, format='csv'): the dataset the orchestra_dataset / orchestra_dataset_files fixtures "
                 "give this test.",),
        register="pytest_orchestra.data.plugin:register",
        command=("data", "pytest_orchestra.data.cli:main"),
    ),
    # -- record ---------------------------------------------------------------------------
    Capability(
        "recording", "record", "the run's hub: records, the quality gate, the reports, the exit status",
        rank=3,
        options="pytest_orchestra.recording.options:addoption",
        register="pytest_orchestra.recording.hub:register",
    ),
    Capability(
        "history", "record", "run history in SQLite, or shared by the team in PostgreSQL, with trends",
        sections=(("history", "pytest_orchestra.history.config:history_section_node"),),
        options="pytest_orchestra.history.options:addoption",
        command=("history", "pytest_orchestra.history.cli:main"),
    ),
    # -- triage ---------------------------------------------------------------------------
    Capability(
        "triage", "triage", "every failure classified, fingerprinted, retried or quarantined, routed",
        rank=4,
        sections=(("triage", "pytest_orchestra.triage.schema:triage_section_node"),
                  ("retries", "pytest_orchestra.triage.schema:retries_section_node"),
                  ("quarantine", "pytest_orchestra.triage.schema:quarantine_section_node")),
        options="pytest_orchestra.triage.options:addoption",
        register="pytest_orchestra.triage.plugin:register",
        command=("triage", "pytest_orchestra.triage.cli:main"),
    ),
)


def by_name(name: str) -> Capability:
    for capability in CAPABILITIES:
        if capability.name == name:
            return capability
    raise KeyError(name)


def load(target: str) -> Any:
    """The object a ``"module:name"`` string of the table names (imported now)."""
    import importlib

    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def sections() -> Tuple[Tuple[str, str], ...]:
    """Every capability's workflow sections, as (name, "module:function")."""
    return tuple(section for capability in CAPABILITIES for section in capability.sections)


def commands() -> Tuple[Tuple[str, str], ...]:
    """Every ``python -m pytest_orchestra`` command, as (name, "module:function")."""
    return tuple(capability.command for capability in CAPABILITIES if capability.command is not None)
