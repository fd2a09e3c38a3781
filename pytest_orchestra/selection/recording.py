"""Turn what the recorders saw into a :class:`~pytest_orchestra.selection.mapformat.Recording`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Set

from pytest_orchestra.selection.changes import list_project_files
from pytest_orchestra.selection.imports import imported_names
from pytest_orchestra.selection.mapformat import (
    KIND_IMPORT,
    FileVersion,
    Recording,
    blob_hash,
)
from pytest_orchestra.selection.recorder import (
    IMPORT_CONTEXT,
    LineData,
    OpenData,
    ProjectFiles,
)


def python_tag() -> str:
    """The interpreter a map is valid for: line numbers of compiled code differ between them."""
    return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"


def build_recording(
    root: Path,
    files: ProjectFiles,
    line_data: LineData,
    open_data: OpenData,
    kinds: Mapping[str, str],
    fixtures: Mapping[str, Sequence[str]],
    *,
    commit: Optional[str],
) -> Recording:
    recording = Recording(root=str(root.resolve()), python=python_tag(), commit=commit)
    hits: Dict[str, Dict[str, Optional[Set[int]]]] = {}
    # One relative name per file, not one per test and file (a Path each: a third of the write).
    relative: Dict[str, str] = {}

    def project_path(filename: str) -> str:
        found = relative.get(filename)
        if found is None:
            found = relative[filename] = files.relative(filename) if files(filename) else ""
        return found

    for context in set(line_data) | set(open_data):
        if context != IMPORT_CONTEXT and context not in kinds:
            continue
        by_path: Dict[str, Optional[Set[int]]] = {}
        for filename, lines in line_data.get(context, {}).items():
            path = project_path(filename)
            if path and lines:
                by_path[path] = lines  # the recorder is done with them: no copy
        for filename in open_data.get(context, ()):
            path = project_path(filename)
            if path:
                by_path.setdefault(path, None)
        if by_path or context in kinds:
            hits[context] = by_path
    recording.hits = hits
    recording.kinds = dict(kinds)
    recording.kinds[IMPORT_CONTEXT] = KIND_IMPORT
    recording.fixtures = dict(fixtures)
    paths = set(list_project_files(root))
    for by_path in hits.values():
        paths.update(by_path)
    recording.files = {path: version for path in sorted(paths) if (version := file_version(root, path))}
    return recording


def file_version(root: Path, path: str) -> Optional[FileVersion]:
    full = root / path
    try:
        stat = full.stat()
        content = full.read_bytes()
    except OSError:
        return None
    if path.endswith(".py"):
        text = content.decode("utf-8", errors="replace")
        return FileVersion(path, blob_hash(content), stat.st_size, stat.st_mtime_ns, content, imported_names(text))
    return FileVersion(path, blob_hash(content), stat.st_size, stat.st_mtime_ns)
