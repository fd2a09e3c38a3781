"""The history's command-line option and the session's history settings, read from pytest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.history.config import HistorySettings, history_settings
from pytest_orchestra.history.groups import detect_group, detect_shard
from pytest_orchestra.history.location import HistoryUrlError


def addoption(group: Any, parser: Any) -> None:
    group.addoption(
        "--orchestra-run-group",
        metavar="ID",
        default=None,
        help="Record this run as part of the logical run ID (a CI pipeline whose shards and jobs are one "
        "run; default ORCHESTRA_RUN_GROUP, else the CI's pipeline id).",
    )


def session_history_settings(config: pytest.Config, workflow: Any, base_dir: Path, redactor: Any) -> HistorySettings:
    """Read once per session; a bad URL is a usage error naming ``history.url`` or ``ORCHESTRA_HISTORY_URL``."""
    option = getattr(config.option, "orchestra_run_group", None)
    try:
        settings = history_settings(
            workflow.sections.get("history"),
            base_dir=base_dir,
            local_keep_runs=workflow.reports.history_runs,
            environ=os.environ,
            group=detect_group(option, os.environ),
            shard=detect_shard(getattr(config.option, "orchestra_shard", None), os.environ),
        )
    except HistoryUrlError as error:
        where = f"{workflow.source}: " if workflow.source and "ORCHESTRA_HISTORY_URL" not in str(error) else ""
        raise OrchestraError(f"{where}{error}") from None
    if settings.url is not None and settings.url.password:
        redactor.add([settings.url.password])
    return settings
