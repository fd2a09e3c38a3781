"""Which plan a run uses, and what it changes: pure logic, no pytest.

A plan is chosen, first match wins, by ``--orchestra-plan NAME``, by the plan
of the run being rerun (``--orchestra-rerun``), or by ``plans.on`` from the CI
event. CI events are read from each system's documented variables and named
twice: natively (``merge_request_event``) and normalized (``pull_request``);
``plans.on`` may use either, the native name winning.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.plans.config import PlanSpec, PlansSpec

#: The normalized events.
PULL_REQUEST = "pull_request"
PUSH = "push"
SCHEDULE = "schedule"
MANUAL = "manual"

#: Native event -> normalized event, per CI system.
GITHUB_EVENTS: Dict[str, str] = {
    "pull_request": PULL_REQUEST,
    "pull_request_target": PULL_REQUEST,
    "merge_group": PULL_REQUEST,
    "push": PUSH,
    "schedule": SCHEDULE,
    "workflow_dispatch": MANUAL,
    "repository_dispatch": MANUAL,
}
GITLAB_EVENTS: Dict[str, str] = {
    "merge_request_event": PULL_REQUEST,
    "external_pull_request_event": PULL_REQUEST,
    "push": PUSH,
    "schedule": SCHEDULE,
    "web": MANUAL,
    "api": MANUAL,
    "trigger": MANUAL,
    "chat": MANUAL,
}
AZURE_EVENTS: Dict[str, str] = {
    "PullRequest": PULL_REQUEST,
    "IndividualCI": PUSH,
    "BatchedCI": PUSH,
    "Schedule": SCHEDULE,
    "Manual": MANUAL,
}


class PlanError(OrchestraError, ValueError):
    """A plan that cannot be used; the message is the one line the user sees."""


@dataclass(frozen=True)
class CiEvent:
    system: str
    #: The CI system's own name (``GITHUB_EVENT_NAME``, ``CI_PIPELINE_SOURCE``, ``BUILD_REASON``...).
    native: str
    #: ``pull_request``, ``push``, ``schedule``, ``manual``, or None for other events.
    normalized: Optional[str]

    def describe(self) -> str:
        if self.normalized and self.normalized != self.native:
            return f"{self.system} event {self.native} ({self.normalized})"
        return f"{self.system} event {self.native}"


def detect_event(environ: Mapping[str, str]) -> Optional[CiEvent]:
    """The event that started this CI job, or None outside CI (or when the CI does not say)."""
    if environ.get("GITHUB_ACTIONS", "").lower() == "true":
        native = environ.get("GITHUB_EVENT_NAME", "")
        return CiEvent("github-actions", native, GITHUB_EVENTS.get(native)) if native else None
    if environ.get("GITLAB_CI"):
        native = environ.get("CI_PIPELINE_SOURCE", "")
        return CiEvent("gitlab-ci", native, GITLAB_EVENTS.get(native)) if native else None
    if environ.get("TF_BUILD", "").lower() == "true":
        native = environ.get("BUILD_REASON", "")
        return CiEvent("azure-pipelines", native, AZURE_EVENTS.get(native)) if native else None
    if environ.get("JENKINS_URL") or environ.get("JENKINS_HOME"):
        return _jenkins_event(environ)
    return None


def _jenkins_event(environ: Mapping[str, str]) -> CiEvent:
    # Multibranch pipelines set CHANGE_ID for pull/merge requests; the build-cause
    # variables (BUILD_CAUSE, ROOT_BUILD_CAUSE) say timer or manual when present.
    if environ.get("CHANGE_ID"):
        return CiEvent("jenkins", "change-request", PULL_REQUEST)
    cause = (environ.get("BUILD_CAUSE") or environ.get("ROOT_BUILD_CAUSE") or "").upper()
    if "TIMERTRIGGER" in cause:
        return CiEvent("jenkins", "timer", SCHEDULE)
    if "MANUALTRIGGER" in cause or "USERIDCAUSE" in cause:
        return CiEvent("jenkins", "manual", MANUAL)
    return CiEvent("jenkins", "push", PUSH)


@dataclass(frozen=True)
class PlanChoice:
    plan: PlanSpec
    #: Why this plan: ``--orchestra-plan``, ``plans.on: schedule (github-actions event schedule)``...
    source: str


def choose_plan(
    spec: PlansSpec,
    *,
    option: Optional[str],
    rerun: Optional[Tuple[str, Optional[str]]] = None,
    event: Optional[CiEvent] = None,
) -> Optional[PlanChoice]:
    """The plan of this run, or None.

    ``rerun`` is ``(run_id, plan)`` of the run being rerun: its plan (or its
    lack of one) is kept unless ``option`` names another.
    """
    if option is not None:
        return PlanChoice(_named(spec, option, "--orchestra-plan"), "--orchestra-plan")
    if rerun is not None:
        run_id, name = rerun
        if name is None:
            return None
        if name not in spec.plans:
            raise PlanError(
                f"--orchestra-rerun: run {run_id} used plan {name!r}, which the workflow no longer declares"
                f" (plans: {_names(spec)}); choose one with --orchestra-plan NAME"
            )
        return PlanChoice(spec.plans[name], f"--orchestra-rerun (the plan of run {run_id})")
    if event is None:
        return None
    for key in (event.native, event.normalized):
        if key and key in spec.on:
            return PlanChoice(spec.plans[spec.on[key]], f"plans.on.{key}, {event.describe()}")
    return None


def _names(spec: PlansSpec) -> str:
    return ", ".join(sorted(spec.plans)) or "none"


def _named(spec: PlansSpec, name: str, where: str) -> PlanSpec:
    if not spec.plans:
        raise PlanError(f"{where} {name}: the workflow declares no plans (add a plans: section)")
    if name not in spec.plans:
        import difflib

        close = difflib.get_close_matches(name, list(spec.plans), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PlanError(f"{where}: unknown plan {name!r}{hint} (plans: {_names(spec)})")
    return spec.plans[name]


def merged_retries(workflow_retries: Optional[Mapping[str, Any]], plan: PlanSpec) -> Optional[Dict[str, Any]]:
    """The ``retries`` section the run uses: the plan's keys over the workflow's (None: no section)."""
    if not plan.retries:
        return None if workflow_retries is None else dict(workflow_retries)
    return {**(workflow_retries or {}), **plan.retries}


def merged_gates(workflow_gates: Any, plan: PlanSpec, gates_type: Any) -> Any:
    """The plan's gates over the workflow's (a ``GatesSpec``, or None when neither asks for a gate).

    A plan with gate rules, or with required coverage that counts for the gate,
    turns the gate on (the workflow's rules, else the defaults).
    """
    wants_gate = bool(plan.gates) or (plan.required is not None and plan.required_coverage)
    if not wants_gate:
        return workflow_gates
    base = workflow_gates if workflow_gates is not None else gates_type()
    return replace(base, **plan.gates) if plan.gates else base


def cell_kept(cell: Mapping[str, str], subset: Optional[Mapping[str, Tuple[str, ...]]]) -> bool:
    """Whether a test in ``cell`` runs under the plan's matrix subset.

    Only the dimensions the test has are compared: a test outside the matrix,
    or without one of the subset's dimensions, is kept.
    """
    if not subset:
        return True
    return all(cell[name] in values for name, values in subset.items() if name in cell)
