"""Facts about the run that do not come from tests: its id, git state and trigger."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Mapping, Optional, Tuple

from pytest_orchestra.core.plainclass import plainclass

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


def host_name() -> str:
    """This machine's name, as ``socket.gethostname()`` gives it, without importing socket."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import platform  # pragma: no cover - Windows

    return platform.node()  # pragma: no cover


def git_state(directory: Path, environ: Mapping[str, str] = os.environ) -> GitState:
    """The commit and branch of the repository holding ``directory``.

    Outside a repository (or without git) both are ``None``. On a detached HEAD,
    CI variables name the branch (GitHub's ``GITHUB_HEAD_REF``/``GITHUB_REF_NAME``,
    GitLab's ``CI_COMMIT_REF_NAME``), since CI checkouts are usually detached.

    The common layouts (a ``.git`` folder or a worktree's ``.git`` file, loose
    or packed refs) are read from the files, as every run does this once and
    starting git costs more than the rest of a small run's bookkeeping;
    anything else (``GIT_DIR`` and friends, other ref storage) asks git.
    """
    found = _read_git_files(directory, environ)
    if found is None:
        found = _ask_git(directory, environ)
    commit, branch = found
    if commit is not None and branch == "HEAD":
        branch = (
            environ.get("GITHUB_HEAD_REF")
            or environ.get("GITHUB_REF_NAME")
            or environ.get("CI_COMMIT_REF_NAME")
            or None
        )
    return GitState(commit=commit, branch=branch)


_GIT_ENVIRONMENT = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")
_HEX = frozenset("0123456789abcdef")


def _is_object_id(text: str) -> bool:
    return len(text) in (40, 64) and _HEX.issuperset(text)


def _read_git_files(directory: Path, environ: Mapping[str, str]) -> Optional[Tuple[Optional[str], Optional[str]]]:
    """(commit, branch or "HEAD") read from the repository's files; ``(None, None)`` outside
    a repository; ``None`` when only git can tell."""
    if any(name in environ for name in _GIT_ENVIRONMENT):
        return None
    try:
        here = directory.resolve()
        for folder in (here, *here.parents):
            dot_git = folder / ".git"
            if dot_git.is_dir():
                git_dir = dot_git
                break
            if dot_git.is_file():
                text = dot_git.read_text(encoding="utf-8").strip()
                if not text.startswith("gitdir:"):
                    return None
                git_dir = (folder / text[len("gitdir:"):].strip()).resolve()
                break
        else:
            return (None, None)
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if _is_object_id(head):
            return (head, "HEAD")
        if not head.startswith("ref: refs/heads/"):
            return None
        ref = head[len("ref: "):]
        common = git_dir
        if (git_dir / "commondir").is_file():  # a linked worktree: refs live in the main repository
            common = (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
        commit = _ref_value(common, ref)  # branches are shared by every worktree
        if commit is None:
            return None  # an unborn branch, or refs kept elsewhere: git knows
        return (commit, ref[len("refs/heads/"):])
    except (OSError, UnicodeDecodeError):
        return None


def _ref_value(git_dir: Path, ref: str) -> Optional[str]:
    loose = git_dir / ref
    if loose.is_file():
        value = loose.read_text(encoding="utf-8").strip()
        return value if _is_object_id(value) else None
    packed = git_dir / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            value, _, name = line.partition(" ")
            if name == ref and _is_object_id(value):
                return value
    return None


def _ask_git(directory: Path, environ: Mapping[str, str]) -> Tuple[Optional[str], Optional[str]]:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD"],
            cwd=directory,
            env={**os.environ, **environ},
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return (None, None)
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2:
        return (None, None)
    return (lines[0], lines[1])
