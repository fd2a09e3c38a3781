"""Pytest wiring of foreign runners: each case of a suite run by another tool is an item.

Items hang under the workflow file: ``orchestra.yaml::web-e2e::group.adds``
(``[Guest-pro]`` appended in a matrix cell). They are collected when pytest
collects the workflow file (``pytest``, ``pytest orchestra.yaml::web-e2e``),
when the run uses ``testpaths``, or when a path argument holds the runner's
``cwd``. The cases come from the runner's listing command, else from its last
results (``.orchestra/runners/<name>.json``), else one ``suite`` item stands
for the whole suite until its first run.

* :class:`RunnersPlugin` where tests run: collection, and each item's report
  (duration, output, the runner failure's triage category);
* :class:`RunnersController` on the controller: the ``runners`` section of
  summary.json, the runners' output in the report folder, a summary line;
* :class:`XdistRunnerHooks` on the xdist controller: the run's shared folder.
"""

from __future__ import annotations

import shutil
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

from pytest_orchestra.core import channel
from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.runners.config import RunnerSpec, runner_specs

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.matrix.cells import MatrixCell
    from pytest_orchestra.runners.cases import CaseResult
    from pytest_orchestra.runners.execution import SuiteResult, SuiteRuns
    from pytest_orchestra.settings import OrchestraSettings

RUN_DIR_INPUT = "orchestra_runners_dir"
#: The item standing for a whole suite whose cases are not known yet.
SUITE_ITEM = "suite"
#: Runs whose runner output stays under .orchestra/runners/runs when no report took it.
KEEP_RUNS = 5


class RunnerProblem(Exception):
    """The runner failed, or the case is missing: the item errors in setup."""


class CaseFailed(AssertionError):
    """The foreign case failed."""


class CaseErrored(Exception):
    """The foreign case errored (JUnit ``<error>``, a Go test that never finished)."""


# --- collection ---------------------------------------------------------------------


class WorkflowFile(pytest.File):
    """The workflow file as a collector of its runners."""

    def collect(self) -> Iterator[pytest.Collector]:
        plugin: RunnersPlugin = self.config.pluginmanager.get_plugin(RunnersPlugin.name)
        plugin.collected = True
        for spec in plugin.specs.values():
            if plugin.chosen is None or spec.name in plugin.chosen:
                yield RunnerSuite.from_parent(self, name=spec.name, spec=spec, plugin=plugin)


class RunnerSuite(pytest.Collector):
    def __init__(self, *, spec: RunnerSpec, plugin: "RunnersPlugin", **kwargs: Any) -> None:
        super().__init__(path=plugin.rootdir / spec.cwd, **kwargs)
        self.spec = spec
        self.plugin = plugin

    def collect(self) -> Iterator["ForeignCase"]:
        spec = self.spec
        listed = self._listed()
        for cell in self.plugin.cells[spec.name]:
            cell_id = cell.id if cell is not None else ""
            if listed is not None:
                cases: List[Dict[str, Any]] = [{"id": name} for name in listed]
            else:
                cases = self.plugin.cache.cases_for(spec.name, cell_id) or [{"id": SUITE_ITEM, "suite": True}]
            for case in cases:
                name = f"{case['id']}[{cell_id}]" if cell_id else case["id"]
                item = ForeignCase.from_parent(
                    self, name=name, case_id=case["id"], cell=cell, whole=bool(case.get("suite")),
                    file=case.get("file"), line=case.get("line"),
                )
                self._mark(item, cell)
                yield item

    def _listed(self) -> Optional[List[str]]:
        if self.spec.list is None:
            return None
        from pytest_orchestra.runners.execution import list_cases

        try:
            return list_cases(self.spec, rootdir=self.plugin.rootdir, environ=_environ())
        except RuntimeError as exc:
            warnings.warn(pytest.PytestWarning(
                f"orchestra: runner {self.spec.name}: {exc}; using its last results instead"), stacklevel=1)
            return None

    def _mark(self, item: "ForeignCase", cell: Optional["MatrixCell"]) -> None:
        spec = self.spec
        item.add_marker(pytest.mark.runner(spec.name))
        if spec.app:
            item.add_marker(pytest.mark.app(spec.app))
        for marker in spec.markers:
            item.add_marker(getattr(pytest.mark, marker))
        if spec.environments:
            item.add_marker(pytest.mark.env(*spec.environments))
        if cell is not None and cell.skip_reason:
            item.add_marker(pytest.mark.skip(reason=cell.skip_reason))


def _environ() -> Dict[str, str]:
    import os

    return dict(os.environ)


class ForeignCase(pytest.Item):
    """One case of a foreign suite; its outcome comes from the suite's report."""

    def __init__(self, *, case_id: str, cell: Optional["MatrixCell"], whole: bool,
                 file: Optional[str] = None, line: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_id = case_id
        self.cell = cell
        self.whole = whole
        self.case_file = file
        self.case_line = line
        self.spec: RunnerSpec = self.parent.spec  # type: ignore[union-attr]
        self.suite: Optional["SuiteResult"] = None
        self.case: Optional["CaseResult"] = None
        self.ran_suite = False
        self.failure_category: Optional[str] = None
        self._seen_generation: Optional[int] = None

    @property
    def cell_id(self) -> str:
        return self.cell.id if self.cell is not None else ""

    def setup(self) -> None:
        runs: "SuiteRuns" = self.config.pluginmanager.get_plugin(RunnersPlugin.name).runs
        cell = dict(self.cell.values) if self.cell is not None else {}
        self.case, self.failure_category = None, None
        # A second setup of the same item is a retry: the run it saw is not reused.
        self.suite, self.ran_suite = runs.get(self.spec, cell, self.cell_id, stale=self._seen_generation)
        self._seen_generation = self.suite.generation
        if self.suite.failure is not None:
            self.failure_category = self.suite.failure.category
            raise RunnerProblem(self.suite.failure.message)
        if self.suite.problems:
            # A cut-short or broken report: its missing part may hold failures. Failed cases keep
            # their failure; everything else errors so the run cannot look green.
            case = None if self.whole else self.suite.find(self.case_id)
            if case is None or case.outcome not in ("failed", "error"):
                self.failure_category = "infrastructure"
                raise RunnerProblem(
                    f"runner {self.spec.name}: its report is incomplete ({'; '.join(self.suite.problems)})"
                )
        if self.whole:
            return
        self.case = self.suite.find(self.case_id)
        if self.case is None:
            problems = "; ".join(self.suite.problems)
            if problems:
                self.failure_category = "infrastructure"
            raise RunnerProblem(
                f"runner {self.spec.name}: case {self.case_id!r} is not in its report"
                + (f" ({problems})" if problems else " (renamed or removed? the next run collects this run's cases)")
            )
        if self.case.outcome == "error":
            raise CaseErrored(self.case.message or f"{self.case_id} errored")

    def runtest(self) -> None:
        if self.whole:
            self._whole_suite()
            return
        case = self.case
        assert case is not None
        if case.outcome == "skipped":
            pytest.skip(case.message or "skipped by the runner")
        if case.outcome == "failed":
            raise CaseFailed(case.message or f"{self.case_id} failed")

    def _whole_suite(self) -> None:
        assert self.suite is not None
        cases = self.suite.cases
        bad = [c for c in cases if c.outcome in ("failed", "error")]
        if bad:
            shown = ", ".join(c.id for c in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
            raise CaseFailed(f"{len(bad)} of {len(cases)} cases of {self.spec.name} failed: {shown}")
        if not cases:
            pytest.skip(f"runner {self.spec.name}: the report holds no test cases")
        if all(c.outcome == "skipped" for c in cases):
            pytest.skip(f"runner {self.spec.name}: all {len(cases)} cases skipped")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if not isinstance(excinfo.value, (RunnerProblem, CaseFailed, CaseErrored)):
            return str(super().repr_failure(excinfo))
        # First, for pytest's short summary; last, as a traceback's last line, for the records.
        lines: List[str] = [f"{self.spec.name}: {self.name}: {excinfo.value}"]
        case = self.case
        if case is not None and case.details:
            lines.append(case.details)
        if case is not None and case.file:
            lines.append(f"{case.file}:{case.line}" if case.line else case.file)
        if self.suite is not None and self.suite.exit_status is not None and isinstance(excinfo.value, RunnerProblem):
            lines.append(f"(exit status {self.suite.exit_status}; output in {self.suite.artifacts})")
        lines.append(str(excinfo.value))
        return "\n".join(lines)

    def _repr_failure_py(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        # pytest shows setup errors through this one, not repr_failure.
        if isinstance(excinfo.value, (RunnerProblem, CaseErrored)):
            return self.repr_failure(excinfo)
        return super()._repr_failure_py(excinfo, style=style)

    def reportinfo(self) -> Tuple[Any, Optional[int], str]:
        path: Any = self.path
        if self.case_file and self.case_line:
            return self.path / self.case_file, self.case_line - 1, f"{self.spec.name}: {self.name}"
        return path, None, f"{self.spec.name}: {self.name}"


# --- the processes that run tests ---------------------------------------------------------


class RunnersPlugin:
    name = "orchestra-runners"

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
                tags = dict(item.stash.get(TAGS_KEY, {}))
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


# --- the controller -----------------------------------------------------------------------


class RunnersController:
    def __init__(self, run_dir: Path, redactor: Any) -> None:
        self.run_dir = run_dir
        self.redactor = redactor
        self.runs: List[Dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        run = channel.read(report, channel.RUNNER_RUN)
        if run:
            self.runs.append(run)

    def pytest_orchestra_report_sections(self, config: pytest.Config, result: Any) -> List[Any]:
        """summary.json's ``runners`` (each suite's run) and the suites' own reports and logs, under ``runners/``."""
        from pytest_orchestra.core.records import ReportSection

        runs = sorted(self.runs, key=lambda r: (r["runner"], r["cell"], r["artifacts"])) if self.runs else None
        files = []
        if self.run_dir.is_dir():
            for source in sorted(self.run_dir.rglob("*")):
                if source.is_file() and not source.name.endswith(".lock"):
                    name = (Path("runners") / source.relative_to(self.run_dir)).as_posix()
                    files.append((name, source.read_text(encoding="utf-8", errors="replace")))
        if runs is None and not files:
            return []
        return [ReportSection("runners", runs, files=tuple(files))]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        root = self.run_dir.parent
        if not root.is_dir():
            return
        runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in runs[KEEP_RUNS:]:
            shutil.rmtree(old, ignore_errors=True)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = []
        for run in self.runs:
            label = f"{run['runner']}[{run['cell']}]" if run["cell"] else run["runner"]
            if run["failure"]:
                lines.append(f"orchestra: runner {label}: {run['failure']['category']}: {run['failure']['message']}")
            for problem in run["problems"]:
                lines.append(f"orchestra: runner {label}: {problem}")
        for line in dict.fromkeys(lines):
            terminalreporter.write_line(line, yellow=True)


class XdistRunnerHooks:
    """Gives each xdist worker the run's shared folder (registered only with xdist)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_DIR_INPUT] = str(self.run_dir)


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
