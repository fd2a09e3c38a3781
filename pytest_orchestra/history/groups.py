"""Run groups: the shards and jobs of one CI pipeline recorded as one logical run.

Each shard records its own run, tagged with the pipeline's group id and its
shard; the group is the union of its runs, where a later run of the same
shard (a retried job) replaces the earlier one, so each shard's tests count
exactly once. The earlier attempt stays in history as a run of its own:
flakiness learns from it. Pure logic: no I/O, no pytest.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from pytest_orchestra.core.records import RunRecord
from pytest_orchestra.history.summary import RunSummary

#: Where each CI keeps the id of the pipeline a job belongs to, checked in order.
#: Each entry: (prefix of the group id, variable holding the pipeline id, variable that must be set).
CI_PIPELINES: tuple[tuple[str, str, str], ...] = (
    ("github-", "GITHUB_RUN_ID", "GITHUB_ACTIONS"),
    ("gitlab-", "CI_PIPELINE_ID", "GITLAB_CI"),
    ("azure-", "BUILD_BUILDID", "TF_BUILD"),
    ("", "BUILD_TAG", "JENKINS_URL"),  # Jenkins' tag is already "jenkins-<job>-<number>"
)

GROUP_VARIABLE = "ORCHESTRA_RUN_GROUP"


def detect_group(option: Optional[str], environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """``--orchestra-run-group``, else ``ORCHESTRA_RUN_GROUP``, else the CI pipeline's id."""
    for explicit in (option, environ.get(GROUP_VARIABLE)):
        if explicit and explicit.strip():
            return explicit.strip()
    for prefix, variable, marker in CI_PIPELINES:
        if environ.get(marker) and environ.get(variable):
            return f"{prefix}{environ[variable]}"
    return None


def detect_shard(option: Optional[str], environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """The shard this run is of its group: ``K/N`` (``--orchestra-shard``, else
    ``CI_NODE_INDEX``/``CI_NODE_TOTAL``), named by the CI job where the CI gives a name
    that tells its jobs apart (GitLab's ``CI_JOB_NAME``; GitHub's ``GITHUB_JOB`` with K/N)."""
    text = (option or "").strip()
    if not text and environ.get("CI_NODE_INDEX") and environ.get("CI_NODE_TOTAL"):
        text = f"{environ['CI_NODE_INDEX'].strip()}/{environ['CI_NODE_TOTAL'].strip()}"
    gitlab_job = environ.get("CI_JOB_NAME") if environ.get("GITLAB_CI") else None
    if gitlab_job:
        return gitlab_job  # unique per job of a pipeline, parallel and matrix jobs included
    if not text:
        return None
    github_job = environ.get("GITHUB_JOB") if environ.get("GITHUB_ACTIONS") else None
    return f"{github_job} {text}" if github_job else text


def latest_attempts(runs: Iterable[RunRecord]) -> List[RunRecord]:
    """The runs that make up a group, oldest first: per shard, only its latest run."""
    ordered = sorted(runs, key=lambda run: (run.started, run.run_id))
    latest: Dict[str, RunRecord] = {}
    for run in ordered:
        if run.shard is not None:
            latest[run.shard] = run
    kept = {id(run) for run in latest.values()}
    return [run for run in ordered if run.shard is None or id(run) in kept]


_STATUS_RANK = {"running": 0, "interrupted": 1, "incomplete": 2, "complete": 3}


def group_record(group: str, runs: Sequence[RunRecord], summary: Optional[RunSummary] = None) -> RunRecord:
    """One :class:`RunRecord` standing for the group's runs (their latest attempts)."""
    members = latest_attempts(runs)
    assert members, "a group has at least one run"
    ends = [run.ended for run in members]
    failing = [run.exit_status for run in members if run.exit_status not in (0, None)]
    gates = [run.gate_passed for run in members if run.gate_passed is not None]
    rate = summary.success_rate if summary is not None and summary.total else _mean_rate(members)
    return RunRecord(
        run_id=group,
        started=min(run.started for run in members),
        ended=None if None in ends else max(e for e in ends if e is not None),
        status=min((run.status for run in members), key=lambda status: _STATUS_RANK.get(status, 2)),
        commit=_common(run.commit for run in members),
        branch=_common(run.branch for run in members),
        trigger=members[0].trigger,
        exit_status=failing[0] if failing else (0 if all(run.exit_status == 0 for run in members) else None),
        workers=sum(run.workers for run in members),
        success_rate=rate,
        gate_passed=all(gates) if gates else None,
        host=_common(run.host for run in members) or "",
        plan=_common(run.plan for run in members),
        rerun_of=_common(run.rerun_of for run in members),
        code_state=_common(run.code_state for run in members),
        run_group=group,
    )


def _mean_rate(runs: Sequence[RunRecord]) -> Optional[float]:
    rates = [run.success_rate for run in runs if run.success_rate is not None]
    return sum(rates) / len(rates) if rates else None


def _common(values: Iterable[Optional[str]]) -> Optional[str]:
    distinct = {value for value in values if value}
    return distinct.pop() if len(distinct) == 1 else None
