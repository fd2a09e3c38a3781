"""The code a run tested: its commit plus the content of every file that differs from it.

Flakiness compares runs of the *same code*, and a commit alone is not that:
developers run tests on a dirty tree between commits, so "break a function,
run, restore it, run" happens at one commit with two different programs. A
:class:`CodeState` names the commit and, for every tracked file that differs
from it and every untracked file that is not ignored, git's blob id of its
content now (``""`` for a deleted file). Two runs tested the same code when
their :attr:`CodeState.key` is equal; two runs tested the same version of one
file when :meth:`CodeState.version_of` gives the same answer for both.

Tool output that lives in the tree (``.orchestra/``, caches, bytecode,
coverage data, the JUnit XML or JSON report a run leaves behind) is not code
and is left out, or every run would differ from the one before. Reading the state costs one ``git status``; the recorder runs it
beside the tests, not in front of them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from pytest_orchestra.core.plainclass import plainclass

#: Folders that hold tool output, never code, wherever they appear.
TOOL_FOLDERS = frozenset({
    ".git", ".orchestra", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache",
    ".ruff_cache", ".tox", ".nox", ".venv", "venv", "node_modules", ".eggs", "htmlcov",
})
#: Files that hold tool output, by name prefix or suffix.
TOOL_FILE_PREFIXES = (".coverage",)
TOOL_FILE_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp", ".log")
#: Untracked files that test runs write as reports (JUnit XML, pytest-json-report, coverage):
#: a run's report left in the tree must not make the next run look like other code.
REPORT_FILE_PATTERNS = ("junit*.xml", "*junit.xml", "*-results.xml", "coverage.xml", "coverage.json",
                        ".report.json", "pytest_results.json", "report.html", "*.trx")

#: Changed files hashed by content at most; beyond, size and mtime stand in (never equal
#: across edits, so the state can only look *different*, which is the safe side).
MAX_HASHED_FILES = 5_000
MAX_HASHED_BYTES = 256 * 1024 * 1024

#: Marks a file deleted in the working tree.
DELETED = ""
#: ``version_of`` answer for a file as the commit has it.
AT_COMMIT = "commit"


@plainclass(frozen=True)
class CodeState:
    """A commit and the working tree's differences from it (repository-relative posix paths)."""

    commit: str
    changes: Tuple[Tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """``<commit>`` for a clean tree, ``<commit>+<digest of the changes>`` otherwise."""
        if not self.changes:
            return self.commit
        digest = hashlib.sha1()
        for path, blob in self.changes:
            digest.update(f"{path}\0{blob}\n".encode("utf-8", "surrogateescape"))
        return f"{self.commit}+{digest.hexdigest()[:16]}"

    @property
    def clean(self) -> bool:
        return not self.changes

    def version_of(self, path: str) -> Tuple[str, str]:
        """Which version of ``path`` this state holds: ``("commit", sha)`` or ``("blob", id)``."""
        blob = dict(self.changes).get(path)
        if blob is None:
            return (AT_COMMIT, self.commit)
        return ("blob", blob)

    def changes_json(self) -> Optional[str]:
        """The changes as stored in history (``None`` for a clean tree)."""
        if not self.changes:
            return None
        return json.dumps(dict(self.changes), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_stored(cls, commit: Optional[str], changes: Optional[str]) -> Optional["CodeState"]:
        """The state a history row describes; ``None`` when the row has no commit or bad JSON."""
        if not commit:
            return None
        if not changes:
            return cls(commit)
        try:
            loaded = json.loads(changes)
        except ValueError:
            return None
        if not isinstance(loaded, dict):
            return None
        return cls(commit, tuple(sorted((str(p), str(b)) for p, b in loaded.items())))


def repository_root(directory: Path, environ: Mapping[str, str] = os.environ) -> Optional[Path]:
    """The work tree holding ``directory`` (where ``.git`` is), or None outside a repository."""
    if any(name.startswith("GIT_") and name.endswith(("_DIR", "WORK_TREE")) for name in environ):
        out = _git(directory, ("rev-parse", "--show-toplevel"), environ)
        return Path(out.strip()) if out else None
    try:
        here = directory.resolve()
    except OSError:
        return None
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def is_tool_output(path: str, extra_folders: Iterable[str] = ()) -> bool:
    """Whether a repository-relative path is tool output rather than code or data."""
    parts = path.split("/")
    if TOOL_FOLDERS.intersection(parts[:-1]):
        return True
    name = parts[-1]
    if name.startswith(TOOL_FILE_PREFIXES) or name.endswith(TOOL_FILE_SUFFIXES):
        return True
    if any(fnmatch.fnmatch(name, pattern) for pattern in REPORT_FILE_PATTERNS):
        return True
    return any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in extra_folders)


def read_code_state(
    directory: Path,
    commit: Optional[str],
    *,
    exclude: Iterable[Path] = (),
    environ: Mapping[str, str] = os.environ,
) -> Optional[CodeState]:
    """The state of the repository holding ``directory`` at ``commit`` (its HEAD).

    ``exclude`` names more folders of tool output (the plugin's own base folder
    when it is configured elsewhere). None outside a repository or when git fails:
    such a run is compared with no other.
    """
    if not commit:
        return None
    root = repository_root(directory, environ)
    if root is None:
        return None
    out = _git(root, ("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"), environ)
    if out is None:
        return None
    extra = []
    for folder in exclude:
        try:
            extra.append(Path(folder).resolve().relative_to(root.resolve()).as_posix())
        except (OSError, ValueError):
            continue
    changes: Dict[str, str] = {}
    hashed_files = hashed_bytes = 0
    for entry in out.split("\0"):
        if len(entry) < 4:
            continue
        path = entry[3:]
        if path.endswith("/") or is_tool_output(path, extra):
            continue
        full = root / path
        try:
            stat = full.stat()
        except OSError:
            changes[path] = DELETED
            continue
        if hashed_files < MAX_HASHED_FILES and hashed_bytes + stat.st_size <= MAX_HASHED_BYTES:
            try:
                changes[path] = blob_id(full.read_bytes())
            except OSError:
                changes[path] = DELETED
                continue
            hashed_files += 1
            hashed_bytes += stat.st_size
        else:
            changes[path] = f"stat:{stat.st_size}:{stat.st_mtime_ns}"
    return CodeState(commit, tuple(sorted(changes.items())))


def blob_id(content: bytes) -> str:
    """Git's blob id of ``content`` (what ``git hash-object`` prints)."""
    digest = hashlib.sha1(b"blob %d\0" % len(content))
    digest.update(content)
    return digest.hexdigest()


def _git(root: Path, args: Tuple[str, ...], environ: Mapping[str, str]) -> Optional[str]:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            env={**os.environ, **environ},
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def state_of_run(commit: Optional[str], key: Optional[str], changes: Optional[str]) -> Optional[CodeState]:
    """The :class:`CodeState` a history run stored, or None when it stored none (or a damaged one)."""
    if not key or not commit:
        return None
    state = CodeState.from_stored(commit, changes)
    return state if state is not None and state.key == key else None


class CodeStateReader:
    """Reads a :class:`CodeState` in a background thread, so the tests need not wait for git."""

    #: How long the end of a run waits for git, at most (a huge tree: the state stays unknown).
    WAIT_SECONDS = 60.0

    def __init__(self, directory: Path, commit: Optional[str], *, exclude: Iterable[Path] = ()) -> None:
        import threading

        self._state: Optional[CodeState] = None
        self._thread = threading.Thread(
            target=self._read, args=(directory, commit, tuple(exclude)), name="orchestra-code-state", daemon=True
        )
        self._thread.start()

    def _read(self, directory: Path, commit: Optional[str], exclude: Tuple[Path, ...]) -> None:
        try:
            self._state = read_code_state(directory, commit, exclude=exclude)
        except Exception:  # noqa: BLE001 - an unknown state is safe: such a run is compared with none
            self._state = None

    def result(self, timeout: Optional[float] = None) -> Optional[CodeState]:
        self._thread.join(self.WAIT_SECONDS if timeout is None else timeout)
        return None if self._thread.is_alive() else self._state


_READER_KEY: "Any" = None


def session_code_state(
    stash: "Any", directory: Path, commit: Optional[str], *, exclude: Iterable[Path] = ()
) -> CodeStateReader:
    """The session's one reader of the code state (``config.stash``): the run record and
    triage's retry evidence read the same state, with the same exclusions, once."""
    global _READER_KEY
    if _READER_KEY is None:
        import pytest

        _READER_KEY = pytest.StashKey[CodeStateReader]()
    reader: Optional[CodeStateReader] = stash.get(_READER_KEY, None)
    if reader is None:
        reader = stash[_READER_KEY] = CodeStateReader(directory, commit, exclude=exclude)
    return reader
