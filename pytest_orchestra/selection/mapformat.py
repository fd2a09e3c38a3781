"""What ``.orchestra/map.db`` holds: its tables, its contexts' kinds and names, its encodings and records.

Every hit names the content hash (git's blob id) of the file version its line
numbers describe, and the map keeps the source of each Python version it
describes. So a map recorded at several commits (a later partial run, xdist
workers, CI shards merged together) stays exact: a test's lines are compared
with the version *it* ran, and going back to an earlier version is not a change.

Tables: ``meta`` (schema, Python, root, commit), ``contexts`` (tests, fixture
contexts and imports), ``hits`` (context × file version → lines), ``sources``
(Python source and imports per version), ``files`` (the project's files when
last recorded, for the import graph and never-executed files).

No database access here (:mod:`~pytest_orchestra.selection.mapstore` opens,
reads and writes the file): the recorders, the selector and the plugin's hooks
speak this vocabulary without importing ``sqlite3``.
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from typing import (
    Dict,
    FrozenSet,
    Iterable,
    Optional,
    Sequence,
    Set,
    Tuple,
)

MAP_SCHEMA_VERSION = 1

KIND_TEST = "test"
KIND_FIXTURE = "fixture"
KIND_IMPORT = "import"
#: What ran while one test file was collected (its imports, data read at import time).
KIND_COLLECT = "collect"

CREATE_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS contexts (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
        fixtures TEXT NOT NULL, git_commit TEXT, recorded REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS hits (
        context_id INTEGER NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, lines BLOB,
        PRIMARY KEY (context_id, path))""",
    "CREATE INDEX IF NOT EXISTS hits_path ON hits(path, hash)",
    "CREATE TABLE IF NOT EXISTS sources (hash TEXT PRIMARY KEY, content BLOB NOT NULL, imports TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS files (
        path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL)""",
)


def fixture_context(argname: str, baseid: str) -> str:
    """The map's name for a higher-scoped fixture's own lines."""
    return f"fixture {argname} @ {baseid}"


def collect_context(path: str) -> str:
    """The map's name for what ran while the test file ``path`` was collected."""
    return f"collect {path}"


def parse_fixture_context(name: str) -> Tuple[str, str]:
    argname, _, baseid = name[len("fixture "):].partition(" @ ")
    return argname, baseid


def blob_hash(content: bytes) -> str:
    """Git's blob id of ``content``: the same as ``git hash-object``."""
    digest = hashlib.sha1(b"blob %d\0" % len(content))
    digest.update(content)
    return digest.hexdigest()


def encode_lines(lines: Iterable[int]) -> bytes:
    return array("I", sorted(lines)).tobytes()


def decode_lines(blob: Optional[bytes]) -> FrozenSet[int]:
    if not blob:
        return frozenset()
    values = array("I")
    values.frombytes(blob)
    return frozenset(values)


@dataclass(frozen=True)
class FileVersion:
    """One project file as a recording saw it."""

    path: str
    hash: str
    size: int
    mtime_ns: int
    #: Python source (``None`` for other files).
    source: Optional[bytes] = None
    #: Modules it imports, as written (``None`` for other files).
    imports: Optional[Tuple[str, ...]] = None


@dataclass
class Recording:
    """What one process recorded, in project-relative paths."""

    root: str
    python: str
    commit: Optional[str]
    #: context -> path -> lines (``None`` lines: a file read, not executed)
    hits: Dict[str, Dict[str, Optional[Set[int]]]] = field(default_factory=dict)
    kinds: Dict[str, str] = field(default_factory=dict)
    #: test node id -> fixture names it uses
    fixtures: Dict[str, Sequence[str]] = field(default_factory=dict)
    files: Dict[str, FileVersion] = field(default_factory=dict)
    #: context -> path -> the version a hit describes, when not ``files[path]`` (merged maps)
    hit_hashes: Dict[str, Dict[str, str]] = field(default_factory=dict)
    #: hash -> (source, imports) of versions named only by ``hit_hashes``
    extra_sources: Dict[str, Tuple[bytes, Tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    context: str
    path: str
    hash: str
    lines: Optional[FrozenSet[int]]
