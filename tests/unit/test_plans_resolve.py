"""Choosing a plan (flag, rerun, CI event) and what it changes: pure logic."""

from __future__ import annotations

import pytest

from pytest_orchestra.plans.config import PlanSpec, PlansSpec, RequiredSpec
from pytest_orchestra.plans.resolve import (
    CiEvent,
    PlanError,
    cell_kept,
    choose_plan,
    detect_event,
    merged_gates,
    merged_retries,
)
from pytest_orchestra.workflow import GatesSpec

SPEC = PlansSpec(
    plans={name: PlanSpec(name=name) for name in ("pre-merge", "nightly", "release", "gitlab-mr")},
    on={"pull_request": "pre-merge", "schedule": "nightly", "merge_request_event": "gitlab-mr"},
)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request"}, ("github-actions", "pull_request", "pull_request")),
        ({"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch"}, ("github-actions", "workflow_dispatch", "manual")),
        ({"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "release"}, ("github-actions", "release", None)),
        ({"GITHUB_ACTIONS": "true"}, None),
        ({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event"}, ("gitlab-ci", "merge_request_event", "pull_request")),
        ({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "schedule"}, ("gitlab-ci", "schedule", "schedule")),
        ({"TF_BUILD": "True", "BUILD_REASON": "IndividualCI"}, ("azure-pipelines", "IndividualCI", "push")),
        ({"TF_BUILD": "True", "BUILD_REASON": "PullRequest"}, ("azure-pipelines", "PullRequest", "pull_request")),
        ({"JENKINS_URL": "http://ci", "CHANGE_ID": "12"}, ("jenkins", "change-request", "pull_request")),
        ({"JENKINS_URL": "http://ci", "BUILD_CAUSE": "TIMERTRIGGER"}, ("jenkins", "timer", "schedule")),
        ({"JENKINS_HOME": "/var/jenkins", "ROOT_BUILD_CAUSE": "MANUALTRIGGER"}, ("jenkins", "manual", "manual")),
        ({"JENKINS_URL": "http://ci"}, ("jenkins", "push", "push")),
    ],
)
def test_ci_events_are_read_from_each_systems_variables(environ: dict, expected: tuple) -> None:
    event = detect_event(environ)
    assert (None if event is None else (event.system, event.native, event.normalized)) == expected


def test_flag_wins_then_the_rerun_plan_then_the_ci_event() -> None:
    pull_request = CiEvent("github-actions", "pull_request", "pull_request")
    choice = choose_plan(SPEC, option="release", rerun=("r1", "nightly"), event=pull_request)
    assert choice is not None and (choice.plan.name, choice.source) == ("release", "--orchestra-plan")
    choice = choose_plan(SPEC, option=None, rerun=("r1", "nightly"), event=pull_request)
    assert choice is not None and choice.plan.name == "nightly" and "r1" in choice.source
    assert choose_plan(SPEC, option=None, rerun=("r1", None), event=pull_request) is None  # the rerun had none
    choice = choose_plan(SPEC, option=None, event=pull_request)
    assert choice is not None and choice.plan.name == "pre-merge"
    assert choice.source == "plans.on.pull_request, github-actions event pull_request"
    assert choose_plan(SPEC, option=None, event=None) is None
    assert choose_plan(SPEC, option=None, event=CiEvent("github-actions", "release", None)) is None


def test_the_native_event_name_wins_over_the_normalized_one() -> None:
    event = CiEvent("gitlab-ci", "merge_request_event", "pull_request")
    choice = choose_plan(SPEC, option=None, event=event)
    assert choice is not None and choice.plan.name == "gitlab-mr"
    assert event.describe() == "gitlab-ci event merge_request_event (pull_request)"
    assert CiEvent("gitlab-ci", "push", "push").describe() == "gitlab-ci event push"


def test_unknown_plans_name_the_available_ones() -> None:
    with pytest.raises(PlanError, match=r"unknown plan 'nighty'; did you mean 'nightly'\? \(plans: gitlab-mr, nightly, pre-merge, release\)"):
        choose_plan(SPEC, option="nighty")
    with pytest.raises(PlanError, match="unknown plan 'zzz' \\(plans:"):
        choose_plan(SPEC, option="zzz")
    with pytest.raises(PlanError, match="the workflow declares no plans"):
        choose_plan(PlansSpec(), option="nightly")
    with pytest.raises(PlanError, match="run r1 used plan 'gone', which the workflow no longer declares"):
        choose_plan(SPEC, option=None, rerun=("r1", "gone"))


def test_retries_of_the_plan_lie_over_the_workflows() -> None:
    workflow = {"max": 0, "categories": ("infrastructure",)}
    assert merged_retries(workflow, PlanSpec("p", retries={"max": 2})) == {"max": 2, "categories": ("infrastructure",)}
    assert merged_retries(None, PlanSpec("p", retries={"max": 1})) == {"max": 1}
    assert merged_retries(workflow, PlanSpec("p")) == workflow
    assert merged_retries(None, PlanSpec("p")) is None


def test_gates_of_the_plan_lie_over_the_workflows_and_turn_the_gate_on() -> None:
    workflow = GatesSpec(min_success_rate=0.9, max_failures=3)
    merged = merged_gates(workflow, PlanSpec("p", gates={"min_success_rate": 1.0}), GatesSpec)
    assert merged == GatesSpec(min_success_rate=1.0, max_failures=3)
    assert merged_gates(None, PlanSpec("p"), GatesSpec) is None
    assert merged_gates(workflow, PlanSpec("p"), GatesSpec) is workflow
    required = PlanSpec("p", required=RequiredSpec(must_pass=("t.py::t",)))
    assert merged_gates(None, required, GatesSpec) == GatesSpec()
    assert merged_gates(None, PlanSpec("p", required=required.required, required_coverage=False), GatesSpec) is None


def test_matrix_subsets_keep_tests_outside_them() -> None:
    subset = {"role": ("Admin",)}
    assert cell_kept({"role": "Admin", "edition": "pro"}, subset)
    assert not cell_kept({"role": "Guest", "edition": "pro"}, subset)
    assert cell_kept({}, subset) and cell_kept({"edition": "pro"}, subset)
    assert cell_kept({"role": "Guest"}, None) and cell_kept({"role": "Guest"}, {})
