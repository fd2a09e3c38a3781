"""The controller's side of plans: the plan on the run, required coverage, a rerun's before and after.

* :class:`PlanRecorder` (the process that records): names the plan on the
  run, compares required coverage (a gate rule) with what ran and with the
  last run of the plan, and shows a rerun's tests before and after.
* :class:`XdistHooks` (only the xdist controller): hands the plan and the
  rerun to the workers and gathers the failed tests they could not find.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import pytest

from pytest_orchestra.plans.coverage import coverage_gaps, required_check
from pytest_orchestra.plans.rerun import RerunChain
from pytest_orchestra.plans.selector import vanished_line
from pytest_orchestra.plans.state import PLAN_INPUT, RERUN_INPUT, VANISHED_OUTPUT, PlanState

if TYPE_CHECKING:
    from pytest_orchestra.core.records import GateCheck, RunRecord, RunResult, TestRecord
    from pytest_orchestra.plans.coverage import Coverage, Delta
    from pytest_orchestra.settings import OrchestraSettings


class PlanRecorder:
    def __init__(self, config: pytest.Config, settings: "OrchestraSettings", state: PlanState) -> None:
        self.config = config
        self.settings = settings
        self.state = state
        self.vanished: Optional[List[str]] = None
        self.coverage: Optional["Coverage"] = None
        self.previous: Optional["Delta"] = None
        self.lines: List[str] = []
        self._computed = False
        #: summary.json's ``plan`` and ``rerun``, once the run is over.
        self.sections: Dict[str, Any] = {}

    def pytest_report_header(self, config: pytest.Config) -> List[str]:
        lines = []
        choice = self.state.choice
        if choice is not None:
            lines.append(f"orchestra: plan {choice.plan.name} ({choice.source})")
        rerun = self.state.rerun
        if rerun is not None:
            count = len(rerun.nodeids) + len(rerun.collectors)
            shown = f", filter {rerun.filter_text!r}" if rerun.filter_text else ""
            lines.append(f"orchestra: rerun of run {rerun.run_id}: {count} failed tests{shown}")
        return lines + self.state.notes

    def pytest_orchestra_run_started(self, config: pytest.Config, run: "RunRecord") -> None:
        if self.state.choice is not None:
            run.plan = self.state.choice.plan.name
        if self.state.rerun is not None:
            run.rerun_of = self.state.rerun.run_id

    def _vanished(self) -> List[str]:
        if self.vanished is not None:
            return self.vanished
        selector = self.config.pluginmanager.get_plugin("orchestra-plan-selector")
        return list(getattr(selector, "vanished", None) or [])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.state.rerun is not None and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            # Every failed test is gone: the rerun has nothing left to do, which the notes say.
            session.exitstatus = pytest.ExitCode.OK

    def _compute(self, result: "RunResult") -> None:
        if self._computed:
            return
        self._computed = True
        plan = self.state.plan
        if plan is None or plan.required is None:
            return
        from pytest_orchestra.plans.coverage import compare

        tests: Sequence["TestRecord"] = result.tests
        exclude = self.settings.workflow.matrix.exclude
        with self._history() as store:
            if self.state.rerun is not None and store is not None:
                from pytest_orchestra.plans.coverage import overlay

                original = self.state.rerun.run_id
                tests = overlay(_effective_tests(store, store.get_run(original)), result.tests)
            self.coverage = compare(plan.required, tests, exclude)
            if store is not None:
                previous = store.last_run(branch=None, plan=plan.name, exclude=result.run.run_id)
                if previous is not None:
                    from pytest_orchestra.plans.coverage import delta

                    before = compare(plan.required, _effective_tests(store, previous), exclude)
                    self.previous = delta(before, self.coverage, previous.run_id)

    def _history(self) -> Any:
        import contextlib

        from pytest_orchestra.history import NullHistoryStore, open_history

        store = open_history(self.settings)
        return contextlib.nullcontext(None) if isinstance(store, NullHistoryStore) else store

    def pytest_orchestra_gate_checks(self, config: pytest.Config, result: "RunResult", gates: Any) -> List["GateCheck"]:
        plan = self.state.plan
        if plan is None or plan.required is None or not plan.required_coverage:
            return []
        self._compute(result)
        return [required_check(self.coverage)] if self.coverage is not None else []

    def pytest_orchestra_run_finished(self, config: pytest.Config, result: "RunResult") -> None:
        self._compute(result)
        choice = self.state.choice
        if choice is not None:
            from pytest_orchestra.plans.coverage import coverage_section

            plan = choice.plan
            self.sections["plan"] = coverage_section(
                plan.name,
                choice.source,
                plan.required,
                self.coverage,
                self.previous,
                description=plan.description,
            )
            if self.coverage is not None and not self.coverage.complete:
                self.lines.append(f"orchestra: plan {plan.name}: {coverage_gaps(self.coverage)}")
        rerun = self.state.rerun
        if rerun is not None:
            from pytest_orchestra.plans.rerun import rerun_section

            vanished = self._vanished()
            section = rerun_section(rerun, self.state.chain or RerunChain(), result.tests, vanished)
            self.sections["rerun"] = section
            self.lines.append(
                f"orchestra: rerun of run {rerun.run_id}: {section['fixed']} now pass,"
                f" {section['still_failing']} still fail"
            )
            if vanished and self.vanished is not None:  # xdist: the workers could not say it
                self.lines.insert(0, vanished_line(rerun, vanished, section["requested"]))  # type: ignore[arg-type]

    def pytest_orchestra_report_sections(self, config: pytest.Config, result: "RunResult") -> List[Any]:
        """summary.json's ``plan`` and ``rerun``, and report.md's plan and rerun sections."""
        from pytest_orchestra.plans.markdown import report_sections

        return report_sections(self.sections)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in self.lines:
            terminalreporter.write_line(line)


def _effective_tests(store: Any, run: Optional["RunRecord"]) -> List["TestRecord"]:
    """A run's tests, with reruns laid over the runs they reran (oldest first)."""
    from pytest_orchestra.plans.coverage import overlay
    from pytest_orchestra.plans.rerun import MAX_CHAIN

    runs: List["RunRecord"] = []
    seen: set = set()
    while run is not None and run.run_id not in seen and len(runs) < MAX_CHAIN:
        seen.add(run.run_id)
        runs.append(run)
        run = store.get_run(run.rerun_of) if run.rerun_of else None
    tests: List["TestRecord"] = []
    for past in reversed(runs):
        tests = overlay(tests, store.tests(past.run_id))
    return tests


class XdistHooks:
    """Only on the xdist controller: the workers select what the controller decided."""

    def __init__(self, state: PlanState, recorder: PlanRecorder) -> None:
        self.state = state
        self.recorder = recorder

    def pytest_configure_node(self, node: Any) -> None:
        choice = self.state.choice
        node.workerinput[PLAN_INPUT] = choice.plan.name if choice is not None else ""
        node.workerinput[PLAN_INPUT + "_source"] = choice.source if choice is not None else ""
        if self.state.rerun is not None:
            node.workerinput[RERUN_INPUT] = self.state.rerun.to_json()

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        vanished = (getattr(node, "workeroutput", None) or {}).get(VANISHED_OUTPUT)
        if vanished is not None and self.recorder.vanished is None:
            self.recorder.vanished = list(vanished)
