"""Pytest wiring of foreign runners: each case of a suite run by another tool is an item.

Items hang under the workflow file: ``orchestra.yaml::web-e2e::group.adds``
(``[Guest-pro]`` appended in a matrix cell). They are collected when pytest
collects the workflow file (``pytest``, ``pytest orchestra.yaml::web-e2e``),
when the run uses ``testpaths``, or when a path argument holds the runner's
``cwd``. The cases come from the runner's listing command, else from its last
results (``.orchestra/runners/<name>.json``), else one ``suite`` item stands
for the whole suite until its first run.

* :class:`RunnersPlugin` (here) where tests run: collection of the
  :mod:`~pytest_orchestra.runners.items` tree, and each item's report
  (duration, output, the runner failure's triage category);
* :class:`~pytest_orchestra.runners.controller.RunnersController` on the
  controller: the ``runners`` section of summary.json, the runners' output in
  the report folder, a summary line;
  :class:`~pytest_orchestra.runners.controller.XdistRunnerHooks` on the xdist
  controller: the run's shared folder.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence

import pytest

from pytest_orchestra.core import channel
from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.runners.config import RunnerSpec, runner_specs
from pytest_orchestra.runners.controller import RUN_DIR_INPUT, RunnersController, XdistRunnerHooks
from pytest_orchestra.runners.items import PLUGIN_NAME, ForeignCase, WorkflowFile

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.matrix.cells import MatrixCell
    from pytest_orchestra.settings import OrchestraSettings


# --- the processes that run tests ---------------------------------------------------------


class RunnersPlugin:
    name = PLUGIN_NAME

    def __init__(self, config: pytest.Config, settings: "OrchestraSettings", specs: Dict[str, RunnerSpec],
                 cells: Dict[str, List[Optional["MatrixCell"]]], run_dir: Path) -> None:
        from pytest_orchestra.runners.execution import SuiteRuns
        from pytest_orchestra.runners.listing import ResultsCache

        self.config = config
        self.rootdir = settings.rootdir
        self.specs = specs
        self.cells = cells
        self.anchor = _anchor(settings)
        self.cache = ResultsCache(settings.base_dir / "runners")
        self.runs = SuiteRuns(run_dir, settings.rootdir, self.cache)
        self.chosen: Optional[Sequence[str]] = None
        self.collected = False

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> Optional[pytest.Collector]:
        # pytest offers every file of a folder it walks, also when an argument selects another
        # path: the file's collect() is what tells whether it was chosen.
        if file_path == self.anchor:
            return WorkflowFile.from_parent(parent, path=file_path)
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: List[pytest.Item]) -> None:
        """Runners not reached through the workflow file: with testpaths, or under a path argument."""
        if self.collected:
            return
        self.chosen = self._chosen_by_arguments()
        if not self.chosen:
            return
        node = WorkflowFile.from_parent(session, path=self.anchor)
        items.extend(session.genitems(node))

    def _chosen_by_arguments(self) -> List[str]:
        config = self.config
        if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
            return list(self.specs)
        roots = [Path(config.invocation_params.dir, arg.split("::", 1)[0]).resolve() for arg in config.args]
        chosen = []
        for spec in self.specs.values():
            cwd = (self.rootdir / spec.cwd).resolve()
            if any(root.is_dir() and (cwd == root or root in cwd.parents) for root in roots):
                chosen.append(spec.name)
        return chosen

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
        report = yield
        if not isinstance(item, ForeignCase):
            return report
        if call.when == "setup":
            report.duration = 0.0  # the suite's run is in the runners section, not on one case
            if item.ran_suite and item.suite is not None:
                channel.write(report, channel.RUNNER_RUN, item.suite.summary())
                channel.write(report, channel.RUNNER_ARTIFACTS, item.suite.artifacts)
        elif call.when == "call" and item.case is not None:
            report.duration = item.case.duration
        if call.when != "teardown" and item.case is not None and item.case.output and not report.passed:
            report.sections.append((f"Captured stdout {call.when}", item.case.output))
        if item.failure_category and report.failed and item.suite is not None:
            message = item.suite.failure.message if item.suite.failure else str(call.excinfo.value if call.excinfo else "")
            channel.add_fact(report, item.failure_category, message)
        return report


class MatrixTags:
    """Puts a foreign item's matrix cell on its record (after the tagger looked at it)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(self, items: List[pytest.Item]) -> Iterator[None]:
        result = yield
        self._tag(items)
        return result

    def _tag(self, items: List[pytest.Item]) -> None:
        from pytest_orchestra.tagging import TAGS_KEY, ReportTagger

        tagged = False
        for item in items:
            if isinstance(item, ForeignCase) and item.cell is not None:
                existing = item.stash.get(TAGS_KEY, None)
                tags: Dict[str, Any] = dict(existing) if existing is not None else {}
                tags["matrix"] = dict(item.cell.values)
                item.stash[TAGS_KEY] = tags
                tagged = True
        manager = items[0].config.pluginmanager if items else None
        if tagged and manager is not None and not manager.has_plugin(ReportTagger.name):
            manager.register(ReportTagger(), ReportTagger.name)


def _anchor(settings: "OrchestraSettings") -> Path:
    """The file the runners' items hang under: the workflow file (or orchestra.yaml for one from Python)."""
    source = settings.workflow.source or ""
    name = source.split(" ", 1)[0] if source.startswith("pyproject.toml") else source
    path = Path(name)
    if name and not name.startswith("<"):
        return (path if path.is_absolute() else settings.rootdir / path).resolve()
    return settings.rootdir / "orchestra.yaml"


def _cells(config: pytest.Config, settings: "OrchestraSettings",
           specs: Dict[str, RunnerSpec]) -> Dict[str, List[Optional["MatrixCell"]]]:
    from pytest_orchestra.matrix.cells import (
        MatrixError,
        expand_cells,
        marker_dimensions,
    )

    matrix = settings.workflow.matrix
    cells: Dict[str, List[Optional["MatrixCell"]]] = {}
    for spec in specs.values():
        if not spec.matrix:
            cells[spec.name] = [None]
            continue
        names = [dim for dim, values in spec.matrix.items() if values is None]
        explicit = {dim: list(values) for dim, values in spec.matrix.items() if values is not None}
        try:
            dims = marker_dimensions(names, explicit, matrix, where=f"{spec.where}.matrix")
        except MatrixError as exc:
            raise OrchestraError(str(exc).replace("@pytest.mark.matrix: ", "")) from None
        cells[spec.name] = list(expand_cells(dims, matrix))
    return cells


def register(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    """Register the plugin objects where they have work (see the module docstring)."""
    runs_tests, is_controller = role.runs_tests, role.records
    specs = runner_specs(settings.workflow.sections.get("runners"))
    if not specs:
        return
    declared = set((settings.workflow.sections.get("environments") or {}))
    for spec in specs.values():
        for name in spec.environments:
            if name not in declared:
                raise OrchestraError(
                    f"{settings.workflow.source or 'workflow'}: {spec.where}.environments: unknown environment"
                    f" {name!r} (declared: {', '.join(sorted(declared)) or 'none'})")
    cells = _cells(config, settings, specs)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and RUN_DIR_INPUT in workerinput:
        run_dir = Path(workerinput[RUN_DIR_INPUT])
    else:
        run_dir = settings.base_dir / "runners" / "runs" / uuid.uuid4().hex[:12]
    if runs_tests:
        config.pluginmanager.register(RunnersPlugin(config, settings, specs, cells, run_dir), RunnersPlugin.name)
        config.pluginmanager.register(MatrixTags(), "orchestra-runners-matrix")
    if is_controller:
        config.pluginmanager.register(RunnersController(run_dir, settings.redactor),
                                      "orchestra-runners-controller")
        if config.pluginmanager.hasplugin("xdist") and not runs_tests:
            config.pluginmanager.register(XdistRunnerHooks(run_dir), "orchestra-runners-xdist")
