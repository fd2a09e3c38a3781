"""Which project files differ from the versions the map describes.

Content, not history, decides: every file a hit names is hashed (git's blob id;
size and mtime skip the hash when both match the recording, as git's index
does) and compared with each version the map holds. So committed, staged,
unstaged and untracked changes, renames (a deletion plus a new file) and
deletions are all seen, a stale map is never unsafe, and a shallow clone does
not matter. ``REF`` adds the files ``git diff REF`` names.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from pytest_orchestra.selection.mapformat import blob_hash
from pytest_orchestra.selection.recorder import EXCLUDED_PARTS

MODIFIED = "modified"
ADDED = "added"
DELETED = "deleted"
#: Named by ``git diff REF`` though its content matches the map.
REF_CHANGED = "changed since REF"


@dataclass(frozen=True)
class FileDelta:
    path: str
    status: str
    #: Versions the map describes that differ from the current file.
    old_hashes: Tuple[str, ...] = ()
    new_hash: Optional[str] = None


@dataclass
class ChangeSet:
    deltas: Dict[str, FileDelta] = field(default_factory=dict)
    #: Set when the changes cannot be known: the one line that says why.
    unknown: Optional[str] = None

    @property
    def empty(self) -> bool:
        return not self.deltas and self.unknown is None


class GitError(Exception):
    pass


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        raise GitError(str(exc)) from None
    if done.returncode != 0:
        raise GitError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed")
    return done.stdout


def git_toplevel(root: Path) -> Optional[Path]:
    try:
        return Path(_git(root, "rev-parse", "--show-toplevel").strip())
    except GitError:
        return None


def list_project_files(root: Path) -> List[str]:
    """Tracked and untracked (not ignored) files under ``root``, relative, posix."""
    try:
        out = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    except GitError:
        return _walk(root)
    found = []
    for name in out.split("\0"):
        if name and not EXCLUDED_PARTS.intersection(name.split("/")[:-1]):
            found.append(name)
    return sorted(set(found))


def _walk(root: Path) -> List[str]:
    found: List[str] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_PARTS and not d.startswith("."))
        base = Path(directory).relative_to(root)
        found.extend((base / name).as_posix() for name in files)
    return sorted(found)


def current_hash(root: Path, path: str, recorded: Optional[Tuple[str, int, int]] = None) -> Optional[str]:
    """The blob id of ``root/path`` now, or None when it is gone."""
    full = root / path
    try:
        stat = full.stat()
    except OSError:
        return None
    if recorded is not None and recorded[1] == stat.st_size and recorded[2] == stat.st_mtime_ns:
        return recorded[0]
    try:
        return blob_hash(full.read_bytes())
    except OSError:
        return None


def compute_changes(
    root: Path,
    *,
    versions: Mapping[str, Set[str]],
    recorded_files: Mapping[str, Tuple[str, int, int]],
    listing: Sequence[str],
    ref: Optional[str] = None,
) -> ChangeSet:
    """Every file whose content differs from a version the map holds, plus new files."""
    changes = ChangeSet()
    for path in sorted(set(versions) | set(recorded_files) | set(listing)):
        recorded = recorded_files.get(path)
        now = current_hash(root, path, recorded)
        known = set(versions.get(path, ()))
        if recorded is not None:
            known.add(recorded[0])
        if not known:
            if now is not None:
                changes.deltas[path] = FileDelta(path, ADDED, (), now)
            continue
        differing = tuple(sorted(h for h in known if h != now))
        if now is None:
            changes.deltas[path] = FileDelta(path, DELETED, differing, None)
        elif differing and path in versions and versions[path] - {now}:
            changes.deltas[path] = FileDelta(path, MODIFIED, tuple(sorted(versions[path] - {now})), now)
        elif differing and recorded is not None and recorded[0] != now:
            changes.deltas[path] = FileDelta(path, MODIFIED, (recorded[0],), now)
    if ref:
        _add_ref_changes(root, ref, changes)
    return changes


def _add_ref_changes(root: Path, ref: str, changes: ChangeSet) -> None:
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        shallow = _is_shallow(root)
        hint = " in this shallow clone (fetch more history: git fetch --unshallow)" if shallow else ""
        changes.unknown = f"unknown git ref {ref!r}{hint}"
        return
    try:
        out = _git(root, "diff", "--name-only", "-z", "--no-renames", ref, "--", ".")
        prefix = _git(root, "rev-parse", "--show-prefix").strip()
    except GitError as exc:
        changes.unknown = f"git diff {ref} failed: {exc}"
        return
    for name in out.split("\0"):
        if not name:
            continue
        path = name[len(prefix):] if prefix and name.startswith(prefix) else name
        if path not in changes.deltas:
            changes.deltas[path] = FileDelta(path, REF_CHANGED, (), current_hash(root, path))


def _is_shallow(root: Path) -> bool:
    try:
        return _git(root, "rev-parse", "--is-shallow-repository").strip() == "true"
    except GitError:
        return False


def read_text(root: Path, path: str) -> Optional[str]:
    try:
        return (root / path).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def python_files(paths: Iterable[str]) -> List[str]:
    return [p for p in paths if p.endswith(".py")]
