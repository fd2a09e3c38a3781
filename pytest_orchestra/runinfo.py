"""Facts about the run that do not come from tests: its id, git state and trigger."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Mapping, Optional

from pytest_orchestra.plainclass import plainclass

#: CI systems recognised from their environment variables, checked in order.
#: Each entry: (trigger name, variable, required value or None for "set and non-empty").
CI_TRIGGERS: tuple[tuple[str, str, Optional[str]], ...] = (
    ("github-actions", "GITHUB_ACTIONS", "true"),
    ("gitlab-ci", "GITLAB_CI", None),
    ("azure-pipelines", "TF_BUILD", "True"),
    ("jenkins", "JENKINS_URL", None),
    ("jenkins", "JENKINS_HOME", None),
)


def new_run_id(now: Optional[float] = None) -> str:
    """A sortable, unique run id: ``20261122T031500Z-a1b2c3``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{os.urandom(3).hex()}"


def detect_trigger(environ: Mapping[str, str] = os.environ) -> str:
    """The CI system running us, from its documented variables, else ``local``."""
    for name, variable, expected in CI_TRIGGERS:
        value = environ.get(variable)
        if value and (expected is None or value.lower() == expected.lower()):
            return name
    return "local"


@plainclass(frozen=True)
class GitState:
    commit: Optional[str] = None
    branch: Optional[str] = None


def git_state(directory: Path, environ: Mapping[str, str] = os.environ) -> GitState:
    """The commit and branch of the repository holding ``directory``.

    Outside a repository (or without git) both are ``None``. On a detached HEAD,
    CI variables name the branch (GitHub's ``GITHUB_HEAD_REF``/``GITHUB_REF_NAME``,
    GitLab's ``CI_COMMIT_REF_NAME``), since CI checkouts are usually detached.
    """
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return GitState()
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2:
        return GitState()
    commit, branch = lines
    if branch == "HEAD":
        branch = (
            environ.get("GITHUB_HEAD_REF")
            or environ.get("GITHUB_REF_NAME")
            or environ.get("CI_COMMIT_REF_NAME")
            or None
        )
    return GitState(commit=commit, branch=branch)
