"""Pytest wiring of plans and reruns from history.

* :func:`apply_plan` (every process, from ``pytest_configure``): chooses the
  plan, reads the run to rerun (the controller only; xdist workers get it
  through ``workerinput``), sets the plan's ``-m``/``-k``/change-based
  selection where the command line left them unset, and returns settings whose
  retries and gates are the plan's.
* :class:`PlanSelector` (where tests are collected): deselects tests of other
  apps and matrix cells, or everything a rerun does not run.
* :class:`PlanRecorder` (the controller): names the plan on the run, compares
  required coverage (a gate rule) with what ran and with the last run of the
  plan, and shows a rerun's tests before and after.
* :class:`XdistHooks` (the xdist controller): hands the plan and the rerun to
  the workers and gathers what they could not find.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import pytest

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.plans.config import PlanSpec, check_references, plans_spec
from pytest_orchestra.plans.options import LAST_RUN
from pytest_orchestra.plans.rerun import RerunChain, RerunError, RerunRequest
from pytest_orchestra.plans.resolve import (
    PlanChoice,
    choose_plan,
    detect_event,
)
from pytest_orchestra.workflow.schema import SchemaViolation

if TYPE_CHECKING:
    from pytest_orchestra.core.records import (
        GateCheck,
        RunRecord,
        RunResult,
        TestRecord,
    )
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.plans.coverage import Coverage, Delta
    from pytest_orchestra.settings import OrchestraSettings

PLAN_INPUT = "orchestra_plan"
RERUN_INPUT = "orchestra_rerun"
VANISHED_OUTPUT = "orchestra_rerun_vanished"


@dataclass
class PlanState:
    """What :func:`apply_plan` decided, for :func:`register_plans`."""

    choice: Optional[PlanChoice] = None
    rerun: Optional[RerunRequest] = None
    #: The rerun's ancestry (controller only).
    chain: Optional[RerunChain] = None
    notes: List[str] = field(default_factory=list)

    @property
    def plan(self) -> Optional[PlanSpec]:
        return self.choice.plan if self.choice is not None else None


STATE_KEY = pytest.StashKey[PlanState]()


# --- configure ------------------------------------------------------------------------


def apply_plan(config: pytest.Config, settings: "OrchestraSettings") -> "OrchestraSettings":
    """Choose the plan (and the rerun) and return the settings the run uses; bad input raises an OrchestraError."""
    workflow = settings.workflow
    spec = plans_spec(workflow.sections.get("plans"))
    source = workflow.source or "orchestra.yaml"
    try:
        check_references(spec, apps=list(workflow.apps), dimensions=workflow.matrix.dimensions)
    except SchemaViolation as violation:
        raise OrchestraError(str(violation.at(source))) from None
    state = PlanState()
    workerinput = getattr(config, "workerinput", None)
    rerun_option = config.getoption("orchestra_rerun")
    if rerun_option is None and config.getoption("orchestra_rerun_filter"):
        raise OrchestraError("--orchestra-rerun-filter filters --orchestra-rerun: give both")
    if workerinput is not None:
        if workerinput.get(RERUN_INPUT):
            state.rerun = RerunRequest.from_json(workerinput[RERUN_INPUT])
        name = workerinput.get(PLAN_INPUT) or None
        state.choice = choose_plan(spec, option=name) if name else None
        if state.choice is not None:
            state.choice = PlanChoice(state.choice.plan, workerinput.get(PLAN_INPUT + "_source", ""))
    else:
        if rerun_option is not None:
            state.rerun, state.chain = _read_rerun(config, settings, rerun_option)
        state.choice = choose_plan(
            spec,
            option=config.getoption("orchestra_plan"),
            rerun=(state.rerun.run_id, state.rerun.plan) if state.rerun is not None else None,
            event=detect_event(os.environ),
        )
    config.stash[STATE_KEY] = state
    plan = state.plan
    if plan is None:
        return settings
    settings = _with_plan(config, settings, plan)
    if state.rerun is None:
        settings = _with_selection(config, settings, plan, state)
    return settings


def _with_plan(config: pytest.Config, settings: "OrchestraSettings", plan: PlanSpec) -> "OrchestraSettings":
    from pytest_orchestra.plans.resolve import merged_gates, merged_retries
    from pytest_orchestra.workflow import GatesSpec

    workflow = settings.workflow
    sections = dict(workflow.sections)
    retries = merged_retries(sections.get("retries"), plan)
    if plan.retries and retries is not None:
        # Both halves went through the retries schema when the workflow was loaded (the plan's
        # under plans.<name>.retries), so the merge is valid as it stands.
        sections["retries"] = retries
    workflow_gates = merged_gates(workflow.gates, plan, GatesSpec)
    gates = workflow_gates
    gate_option = config.getoption("orchestra_gate")
    if gate_option is not None:
        gates = GatesSpec.from_overrides(gate_option, workflow_gates)
    return replace(settings, workflow=replace(workflow, sections=sections, gates=workflow_gates), gates=gates)


def _with_selection(config: pytest.Config, settings: "OrchestraSettings", plan: PlanSpec,
                    state: PlanState) -> "OrchestraSettings":
    """The plan's -m, -k and change-based selection, where the command line gave none."""
    asked = list(settings.pytest_options)
    for attribute, value, flag in (("markexpr", plan.markers, "-m"), ("keyword", plan.keyword, "-k")):
        if not value:
            continue
        if getattr(config.option, attribute, ""):
            state.notes.append(
                f"orchestra: plan {plan.name}: {flag} from the command line replaces the plan's {value!r}"
            )
        else:
            asked.append((attribute, value))
    changed = settings.changed if settings.changed is not None else plan.changed
    return replace(settings, pytest_options=tuple(asked), changed=changed)


def _read_rerun(config: pytest.Config, settings: "OrchestraSettings", value: str) -> tuple:
    """The controller's reading of history: the run, its picked failures, and its rerun chain."""
    from pytest_orchestra.core.categories import CATEGORIES
    from pytest_orchestra.core.records import FAILING_OUTCOMES
    from pytest_orchestra.history import NullHistoryStore, open_history
    from pytest_orchestra.plans.rerun import (
        find_run,
        follow_chain,
        parse_filter,
        pick,
        request_for,
    )

    shown = _shown(settings.history_path, settings.rootdir)
    with open_history(settings) as store:
        if isinstance(store, NullHistoryStore):
            raise RerunError(f"--orchestra-rerun: there is no run history ({shown} does not exist)")
        shown = store.location if settings.history.url is not None else shown
        # A run group's id names the whole pipeline: its shards' failures are rerun together.
        run = (store.get_run(value) if value != LAST_RUN else None) or find_run(
            store.runs(), None if value == LAST_RUN else value, where=shown)
        tests = store.tests(run.run_id)
        dimensions = list(settings.workflow.matrix.dimensions)
        for test in tests:
            dimensions.extend(test.matrix)
        rerun_filter = parse_filter(
            config.getoption("orchestra_rerun_filter"), dimensions=dimensions, categories=CATEGORIES
        )
        failed = [test for test in tests if test.outcome in FAILING_OUTCOMES]
        picked = pick(tests, rerun_filter)
        if not failed:
            pytest.exit(f"orchestra: --orchestra-rerun: run {run.run_id} had no failed tests: nothing to rerun", 0)
        if not picked:
            pytest.exit(
                f"orchestra: --orchestra-rerun: none of the {len(failed)} failed tests of run {run.run_id}"
                f" matches --orchestra-rerun-filter {rerun_filter.text!r}: nothing to rerun",
                0,
            )
        request = request_for(run, picked, rerun_filter)
        chain = follow_chain(run, store.get_run, store.tests, list(request.nodeids) + list(request.collectors))
    return request, chain


def _shown(path: Path, rootdir: Path) -> str:
    try:
        return path.relative_to(rootdir).as_posix()
    except ValueError:  # pragma: no cover - reports.dir outside the rootdir
        return str(path)


def register(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    runs_tests, is_controller = role.runs_tests, role.records
    state = config.stash.get(STATE_KEY, None)
    if state is None or (state.choice is None and state.rerun is None):
        return
    plan = state.plan
    if runs_tests and (state.rerun is not None or (plan is not None and plan.selects)):
        config.pluginmanager.register(PlanSelector(config, settings, state), "orchestra-plan-selector")
    if is_controller:
        recorder = PlanRecorder(config, settings, state)
        config.pluginmanager.register(recorder, "orchestra-plans")
        if not runs_tests and config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistHooks(state, recorder), "orchestra-plans-xdist")


# --- collection -----------------------------------------------------------------------


class PlanSelector:
    """Deselects what the plan (apps, matrix subset) or the rerun does not run."""

    def __init__(self, config: pytest.Config, settings: "OrchestraSettings", state: PlanState) -> None:
        self.config = config
        self.settings = settings
        self.state = state
        self.vanished: Optional[List[str]] = None
        self.total = 0

    def pytest_collection_modifyitems(self, config: pytest.Config, items: List[pytest.Item]) -> None:
        rerun = self.state.rerun
        if rerun is not None:
            from pytest_orchestra.plans.rerun import split_collected

            kept_ids, self.vanished = split_collected([item.nodeid for item in items], rerun)
            self.total = len(rerun.nodeids) + len(rerun.collectors)
            keep = set(kept_ids)
            selected = [item for item in items if item.nodeid in keep]
            workeroutput = getattr(config, "workeroutput", None)
            if workeroutput is not None:
                workeroutput[VANISHED_OUTPUT] = list(self.vanished)
        else:
            selected = self._by_plan(items)
        if len(selected) != len(items):
            kept = {id(item) for item in selected}
            config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
            items[:] = selected

    def _by_plan(self, items: Sequence[pytest.Item]) -> List[pytest.Item]:
        from pytest_orchestra.matrix.plugin import cell_of
        from pytest_orchestra.plans.resolve import cell_kept
        from pytest_orchestra.tagging import AppResolver

        plan = self.state.plan
        assert plan is not None
        apps = set(plan.apps)
        resolver = AppResolver(self.settings.workflow.apps)
        selected = []
        for item in items:
            if apps and _app_of(item, resolver, self.settings.rootdir) not in apps:
                continue
            if plan.matrix is not None and not cell_kept(cell_of(item), plan.matrix):
                continue
            selected.append(item)
        return selected

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.vanished and not hasattr(self.config, "workerinput"):
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(vanished_line(self.state.rerun, self.vanished, self.total), yellow=True)


def _app_of(item: pytest.Item, resolver: Any, rootdir: Path) -> Optional[str]:
    marker = item.get_closest_marker("app")
    if marker is not None and marker.args:
        return str(marker.args[0])
    try:
        relpath = item.path.relative_to(rootdir).as_posix()
    except ValueError:
        relpath = item.path.as_posix()
    return resolver.by_path(relpath)


def vanished_line(rerun: Optional[RerunRequest], vanished: Sequence[str], total: int) -> str:
    run_id = rerun.run_id if rerun is not None else "?"
    rest = total - len(vanished)
    then = f"the other {rest} run" if rest else "nothing else to run"
    return (
        f"orchestra: --orchestra-rerun: {len(vanished)} of {total} failed tests of run {run_id} are not collected"
        f" (removed, renamed, or outside the paths given); {then}: {', '.join(vanished)}"
    )


# --- the controller -------------------------------------------------------------------


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


def coverage_gaps(coverage: "Coverage") -> str:
    parts = []
    if coverage.missing_cells:
        parts.append(
            f"{len(coverage.missing_cells)} of {len(coverage.required_cells)} required cells not covered"
            f" ({'; '.join(coverage.missing_cells)})"
        )
    if coverage.failed_cells:
        parts.append(f"{len(coverage.failed_cells)} failing ({'; '.join(coverage.failed_cells)})")
    if coverage.must_pass_missing:
        parts.append(f"must-pass not run: {', '.join(coverage.must_pass_missing)}")
    if coverage.must_pass_failed:
        parts.append(
            "must-pass failed: " + ", ".join(f"{nodeid} ({outcome})" for nodeid, outcome in coverage.must_pass_failed)
        )
    return "; ".join(parts) or "required coverage complete"


def required_check(coverage: "Coverage") -> "GateCheck":
    from pytest_orchestra.core.records import GateCheck
    from pytest_orchestra.plans.coverage import passing_must_pass

    must = len(coverage.must_pass)
    actual = []
    if coverage.required_cells:
        actual.append(
            f"{len(coverage.covered)}/{len(coverage.required_cells)} cells covered, {len(coverage.failed_cells)} failing"
        )
    if must:
        actual.append(f"{len(passing_must_pass(coverage))}/{must} must-pass passed")
    return GateCheck(
        rule="required_coverage",
        passed=coverage.complete,
        expected="every required cell covered and passing, every must-pass test passed",
        actual=", ".join(actual) or "nothing required",
        detail="" if coverage.complete else coverage_gaps(coverage),
    )


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
