"""Turn what the recorders saw into a :class:`~pytest_orchestra.selection.mapstore.Recording`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Set

from pytest_orchestra.selection.changes import list_project_files
from pytest_orchestra.selection.imports import imported_names
from pytest_orchestra.selection.mapstore import KIND_IMPORT, FileVersion, Recording, blob_hash
from pytest_orchestra.selection.recorder import IMPORT_CONTEXT, LineData, OpenData, ProjectFiles


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
    for context in set(line_data) | set(open_data):
        if context != IMPORT_CONTEXT and context not in kinds:
            continue
        by_path: Dict[str, Optional[Set[int]]] = {}
        for filename, lines in line_data.get(context, {}).items():
            if files(filename) and lines:
                by_path[files.relative(filename)] = set(lines)
        for filename in open_data.get(context, ()):
            if files(filename):
                by_path.setdefault(files.relative(filename), None)
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
