"""``.orchestra/map.db``: which lines of which file version each test executed.

Every hit names the content hash (git's blob id) of the file version its line
numbers describe, and the map keeps the source of each Python version it
describes. So a map recorded at several commits (a later partial run, xdist
workers, CI shards merged together) stays exact: a test's lines are compared
with the version *it* ran, and going back to an earlier version is not a change.

Tables: ``meta`` (schema, Python, root, commit), ``contexts`` (tests, fixture
contexts and imports), ``hits`` (context × file version → lines), ``sources``
(Python source and imports per version), ``files`` (the project's files when
last recorded, for the import graph and never-executed files).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

MAP_SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

KIND_TEST = "test"
KIND_FIXTURE = "fixture"
KIND_IMPORT = "import"
#: What ran while one test file was collected (its imports, data read at import time).
KIND_COLLECT = "collect"

_CREATE = (
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


class MapError(Exception):
    """The map cannot be used; the message says why, in one line."""


def _is_lock(error: sqlite3.OperationalError) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


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


class MapStore:
    """One connection to a map database, for reading or recording."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self.db = connection
        #: Sources already read back: a selection asks for one version once per change rule.
        self._sources: Dict[str, str] = {}

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open_for_reading(cls, path: Path) -> "MapStore":
        if not path.exists():
            raise MapError(f"no map at {path} (record one with --orchestra-record-map)")
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
            store = cls(path, connection)
            store._check()
        except sqlite3.Error as exc:
            raise MapError(f"the map {path} is unreadable ({exc})") from None
        return store

    @classmethod
    def open_for_recording(cls, path: Path) -> Tuple["MapStore", Optional[str]]:
        """The store, and a warning when an unusable map had to be moved aside."""
        path.parent.mkdir(parents=True, exist_ok=True)
        warning = None
        try:
            store = cls._create(path)
            if store.meta():
                store._check()
            return store, warning
        except (sqlite3.Error, MapError) as exc:
            if isinstance(exc, sqlite3.OperationalError) and _is_lock(exc):
                raise  # another process holds it (xdist workers saving at once): not unusable
            aside = path.with_name(f"{path.name}.unusable-{time.strftime('%Y%m%dT%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                source = Path(str(path) + suffix)
                if source.exists():
                    os.replace(source, Path(str(aside) + suffix))
            warning = f"orchestra: the map {path} was unusable ({exc}); moved it to {aside.name} and started a new one"
            return cls._create(path), warning

    @classmethod
    def _create(cls, path: Path) -> "MapStore":
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in _CREATE:
                connection.execute(statement)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return cls(path, connection)

    def _check(self) -> None:
        meta = self.meta()
        version = meta.get("schema")
        if version != str(MAP_SCHEMA_VERSION):
            raise MapError(f"the map {self.path} has schema {version or 'none'}, this pytest-orchestra uses "
                           f"{MAP_SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    # -- reading -------------------------------------------------------------------

    def meta(self) -> Dict[str, str]:
        return {str(k): str(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    def contexts(self) -> Dict[str, Tuple[str, Tuple[str, ...]]]:
        """name -> (kind, fixture names)"""
        return {
            str(name): (str(kind), tuple(json.loads(fixtures)))
            for name, kind, fixtures in self.db.execute("SELECT name, kind, fixtures FROM contexts")
        }

    def versions(self) -> Dict[str, Set[str]]:
        """path -> the content hashes some hit describes."""
        found: Dict[str, Set[str]] = {}
        for path, digest in self.db.execute("SELECT DISTINCT path, hash FROM hits"):
            found.setdefault(str(path), set()).add(str(digest))
        return found

    def hits_on(self, paths: Iterable[str]) -> Iterator[Hit]:
        wanted = sorted(set(paths))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            rows = self.db.execute(
                "SELECT contexts.name, hits.path, hits.hash, hits.lines FROM hits "
                f"JOIN contexts ON contexts.id = hits.context_id WHERE hits.path IN ({marks})",
                chunk,
            )
            for name, path, digest, lines in rows:
                yield Hit(str(name), str(path), str(digest), None if lines is None else decode_lines(lines))

    def hits_of(self, contexts: Iterable[str]) -> Iterator[Hit]:
        """The hits of the named contexts (a test, the fixtures it used, its file's collection)."""
        wanted = sorted(set(contexts))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            rows = self.db.execute(
                "SELECT contexts.name, hits.path, hits.hash, hits.lines FROM hits "
                f"JOIN contexts ON contexts.id = hits.context_id WHERE contexts.name IN ({marks})",
                chunk,
            )
            for name, path, digest, lines in rows:
                yield Hit(str(name), str(path), str(digest), None if lines is None else decode_lines(lines))

    def source(self, digest: str) -> Optional[str]:
        text = self._sources.get(digest)
        if text is not None:
            return text
        row = self.db.execute("SELECT content FROM sources WHERE hash = ?", (digest,)).fetchone()
        if row is None:
            return None
        # Content-addressed: a version's text never changes, so keeping it is always right.
        text = self._sources[digest] = zlib.decompress(row[0]).decode("utf-8", errors="replace")
        return text

    def files(self) -> Dict[str, Tuple[str, int, int]]:
        """path -> (hash, size, mtime_ns) of the project's files when last recorded."""
        return {
            str(path): (str(digest), int(size), int(mtime))
            for path, digest, size, mtime in self.db.execute("SELECT path, hash, size, mtime_ns FROM files")
        }

    def imports(self) -> Dict[str, Tuple[str, ...]]:
        """path -> modules imported, for the Python files of the last recording."""
        rows = self.db.execute(
            "SELECT files.path, sources.imports FROM files JOIN sources ON sources.hash = files.hash"
        )
        return {str(path): tuple(json.loads(imports)) for path, imports in rows}

    # -- recording -----------------------------------------------------------------

    def save(self, recording: Recording) -> None:
        """Merge one process's recording: its tests replace their old entries, the rest stay."""
        db = self.db
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            meta = {
                "schema": str(MAP_SCHEMA_VERSION),
                "python": recording.python,
                "root": recording.root,
                "updated": str(now),
            }
            if recording.commit:
                meta["commit"] = recording.commit
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
            for version in recording.files.values():
                if version.source is not None:
                    db.execute(
                        "INSERT OR IGNORE INTO sources (hash, content, imports) VALUES (?, ?, ?)",
                        (version.hash, zlib.compress(version.source, 1), json.dumps(list(version.imports or ()))),
                    )
            db.executemany(
                "INSERT OR IGNORE INTO sources (hash, content, imports) VALUES (?, ?, ?)",
                [(digest, zlib.compress(content, 1), json.dumps(list(imports)))
                 for digest, (content, imports) in recording.extra_sources.items()],
            )
            if recording.files:
                db.execute("DELETE FROM files")
                db.executemany(
                    "INSERT INTO files (path, hash, size, mtime_ns) VALUES (?, ?, ?, ?)",
                    [(v.path, v.hash, v.size, v.mtime_ns) for v in recording.files.values()],
                )
            known = {str(name): int(context_id) for name, context_id in db.execute("SELECT name, id FROM contexts")}
            for context, by_path in recording.hits.items():
                kind = recording.kinds.get(context, KIND_TEST)
                fixtures = json.dumps(sorted(recording.fixtures.get(context, ())))
                row = (known[context],) if context in known else None
                if row is None:
                    context_id = db.execute(
                        "INSERT INTO contexts (name, kind, fixtures, git_commit, recorded) VALUES (?, ?, ?, ?, ?)",
                        (context, kind, fixtures, recording.commit, now),
                    ).lastrowid
                else:
                    context_id = row[0]
                    db.execute(
                        "UPDATE contexts SET kind = ?, fixtures = ?, git_commit = ?, recorded = ? WHERE id = ?",
                        (kind, fixtures, recording.commit, now, context_id),
                    )
                self._save_hits(int(context_id), kind, by_path, recording.files,
                                recording.hit_hashes.get(context, {}))
            db.execute(
                "DELETE FROM sources WHERE hash NOT IN (SELECT hash FROM hits) AND hash NOT IN (SELECT hash FROM files)"
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _save_hits(self, context_id: int, kind: str, by_path: Mapping[str, Optional[Set[int]]],
                   files: Mapping[str, FileVersion], hashes: Mapping[str, str]) -> None:
        db = self.db
        if kind == KIND_TEST:
            # A test that ran again replaces everything it had.
            db.execute("DELETE FROM hits WHERE context_id = ?", (context_id,))
            old: Dict[str, Tuple[str, Optional[bytes]]] = {}
        else:
            old = {
                str(path): (str(digest), lines)
                for path, digest, lines in db.execute("SELECT path, hash, lines FROM hits WHERE context_id = ?",
                                                      (context_id,))
            }
        rows = []
        for path, lines in by_path.items():
            version = files.get(path)
            digest = hashes.get(path) or (version.hash if version is not None else None)
            if digest is None:
                continue
            blob: Optional[bytes] = None
            if lines is not None:
                merged = set(lines)
                previous = old.get(path)
                # Imports and shared fixtures run in several workers: union their lines.
                if previous is not None and previous[0] == digest and previous[1] is not None:
                    merged |= decode_lines(previous[1])
                blob = encode_lines(merged)
            rows.append((context_id, path, digest, blob))
        db.executemany("INSERT OR REPLACE INTO hits (context_id, path, hash, lines) VALUES (?, ?, ?, ?)", rows)


def merge_maps(target: Path, sources: Sequence[Path]) -> int:
    """Merge other map files (CI shards) into ``target``; returns the contexts merged."""
    store, _ = MapStore.open_for_recording(target)
    merged = 0
    try:
        for source in sources:
            other = MapStore.open_for_reading(source)
            try:
                recording = _as_recording(other)
            finally:
                other.close()
            store.save(recording)
            merged += len(recording.hits)
    finally:
        store.close()
    return merged


def _as_recording(store: MapStore) -> Recording:
    meta = store.meta()
    recording = Recording(root=meta.get("root", ""), python=meta.get("python", ""), commit=meta.get("commit"))
    db = store.db
    sources = {
        str(digest): (bytes(zlib.decompress(content)), tuple(json.loads(imports)))
        for digest, content, imports in db.execute("SELECT hash, content, imports FROM sources")
    }
    for path, (digest, size, mtime) in store.files().items():
        content, imports = sources.get(digest, (None, None))  # type: ignore[assignment]
        recording.files[path] = FileVersion(path, digest, size, mtime, content, imports)
    rows = db.execute(
        "SELECT contexts.name, contexts.kind, contexts.fixtures, hits.path, hits.hash, hits.lines "
        "FROM hits JOIN contexts ON contexts.id = hits.context_id"
    )
    for name, kind, fixtures, path, digest, lines in rows:
        context, path, digest = str(name), str(path), str(digest)
        recording.kinds[context] = str(kind)
        recording.fixtures[context] = tuple(json.loads(fixtures))
        recording.hits.setdefault(context, {})[path] = None if lines is None else set(decode_lines(lines))
        recording.hit_hashes.setdefault(context, {})[path] = digest
        if digest in sources:
            recording.extra_sources[digest] = sources[digest]
    return recording
