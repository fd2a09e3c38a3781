"""The plans capability's command-line options: imported on every start, so nothing else here."""

from __future__ import annotations

from typing import Any

#: ``--orchestra-rerun`` without a value: the last finished run.
LAST_RUN = "last"


def addoption(group: Any, parser: Any) -> None:
    group.addoption(
        "--orchestra-plan",
        metavar="NAME",
        default=None,
        help="Run the workflow's plan NAME (plans.NAME): its selection, retries, gates and required "
        "coverage. Default: the plan plans.on maps the CI event to (pull_request, push, schedule, "
        "manual, or the CI system's own event name).",
    )
    group.addoption(
        "--orchestra-rerun",
        metavar="RUN",
        nargs="?",
        const=LAST_RUN,
        default=None,
        help="Rerun the failed and errored tests of a past run in .orchestra/history.db (RUN: a run "
        "id or a unique prefix of one; default: the last finished run), in the same matrix cells "
        "and with that run's plan unless --orchestra-plan is given.",
    )
    group.addoption(
        "--orchestra-rerun-filter",
        metavar="FILTER",
        default=None,
        help="Rerun only failures matching every KEY=VALUE of FILTER, e.g. "
        "'category=product,app=billing,role=Guest,nodeid=tests/billing/*'. Keys: category, app, "
        "outcome, nodeid (a glob), or a matrix dimension; VALUE may list alternatives with '|'.",
    )
