"""Pytest wiring of plans and reruns from history, by process role.

* :func:`apply_plan` (here; every process, from ``pytest_configure``): chooses
  the plan, reads the run to rerun (the controller only; xdist workers get it
  through ``workerinput``), sets the plan's ``-m``/``-k``/change-based
  selection where the command line left them unset, and returns settings whose
  retries and gates are the plan's; :func:`register` then registers:
* :class:`~pytest_orchestra.plans.selector.PlanSelector` (where tests are
  collected): deselects tests of other apps and matrix cells, or everything a
  rerun does not run.
* :class:`~pytest_orchestra.plans.recorder.PlanRecorder` (the controller):
  names the plan on the run, compares required coverage (a gate rule) with
  what ran and with the last run of the plan, and shows a rerun's tests before
  and after; :class:`~pytest_orchestra.plans.recorder.XdistHooks` (the xdist
  controller) hands the plan and the rerun to the workers and gathers what
  they could not find.

The decisions are pure functions: ``resolve`` (which plan, merged retries and
gates, which cells), ``rerun`` (which failures, the rerun chain), ``coverage``
(required coverage, its gaps and its gate check).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.plans.config import PlanSpec, check_references, plans_spec
from pytest_orchestra.plans.options import LAST_RUN
from pytest_orchestra.plans.recorder import PlanRecorder, XdistHooks
from pytest_orchestra.plans.rerun import RerunError, RerunRequest
from pytest_orchestra.plans.resolve import (
    PlanChoice,
    choose_plan,
    detect_event,
)
from pytest_orchestra.plans.selector import PlanSelector
from pytest_orchestra.plans.state import PLAN_INPUT, RERUN_INPUT, STATE_KEY, PlanState
from pytest_orchestra.workflow.schema import SchemaViolation

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.settings import OrchestraSettings

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
    from pytest_orchestra.settings import gates_in_force
    from pytest_orchestra.workflow import GatesSpec

    workflow = settings.workflow
    sections = dict(workflow.sections)
    retries = merged_retries(sections.get("retries"), plan)
    if plan.retries and retries is not None:
        # Both halves went through the retries schema when the workflow was loaded (the plan's
        # under plans.<name>.retries), so the merge is valid as it stands.
        sections["retries"] = retries
    workflow_gates = merged_gates(workflow.gates, plan, GatesSpec)
    return replace(settings, workflow=replace(workflow, sections=sections, gates=workflow_gates),
                   gates=gates_in_force(config, workflow_gates))


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
