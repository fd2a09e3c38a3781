"""The collection tree of foreign suites: the workflow file, a runner's suite, and each case as an item.

Items hang under the workflow file: ``orchestra.yaml::web-e2e::group.adds``
(``[Guest-pro]`` appended in a matrix cell). A case's item runs its suite
once (shared by the suite's cases through ``SuiteRuns``) and passes, fails or
errors as the foreign case did.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple

import pytest

from pytest_orchestra.runners.config import RunnerSpec

if TYPE_CHECKING:
    from pytest_orchestra.matrix.cells import MatrixCell
    from pytest_orchestra.runners.cases import CaseResult
    from pytest_orchestra.runners.execution import SuiteResult, SuiteRuns
    from pytest_orchestra.runners.listing import ResultsCache

#: The name :class:`~pytest_orchestra.runners.plugin.RunnersPlugin` registers under.
PLUGIN_NAME = "orchestra-runners"
#: The item standing for a whole suite whose cases are not known yet.
SUITE_ITEM = "suite"


class RunnerProblem(Exception):
    """The runner failed, or the case is missing: the item errors in setup."""


class CaseFailed(AssertionError):
    """The foreign case failed."""


class CaseErrored(Exception):
    """The foreign case errored (JUnit ``<error>``, a Go test that never finished)."""


# --- collection ---------------------------------------------------------------------


class RunnersState(Protocol):
    """What the collection tree reads from the runners plugin (:class:`~pytest_orchestra.runners.plugin.RunnersPlugin`)."""

    rootdir: Path
    specs: Dict[str, RunnerSpec]
    cells: Dict[str, List[Optional["MatrixCell"]]]
    cache: "ResultsCache"
    runs: "SuiteRuns"
    chosen: Optional[Sequence[str]]
    collected: bool


def runners_plugin(config: pytest.Config) -> RunnersState:
    plugin: Optional[RunnersState] = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert plugin is not None, "the items of foreign suites are collected by the runners plugin"
    return plugin


class WorkflowFile(pytest.File):
    """The workflow file as a collector of its runners."""

    def collect(self) -> Iterator[pytest.Collector]:
        plugin = runners_plugin(self.config)
        plugin.collected = True
        for spec in plugin.specs.values():
            if plugin.chosen is None or spec.name in plugin.chosen:
                yield RunnerSuite.from_parent(self, name=spec.name, spec=spec, plugin=plugin)


class RunnerSuite(pytest.Collector):
    def __init__(self, *, spec: RunnerSpec, plugin: RunnersState, **kwargs: Any) -> None:
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
        runs: "SuiteRuns" = runners_plugin(self.config).runs
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
