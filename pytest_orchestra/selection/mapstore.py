"""``.orchestra/map.db`` on disk: opening it, reading it, recording into it, merging shards.

One :class:`MapStore` is one SQLite connection, for reading (a selection, the
triage, ``python -m pytest_orchestra map show``) or for recording (every
process that traced tests saves its :class:`~pytest_orchestra.selection.mapformat.Recording`,
xdist workers at once). What the file holds, and how, is
:mod:`~pytest_orchestra.selection.mapformat`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import (
    Dict,
    Iterable,
    Iterator,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from pytest_orchestra.selection.mapformat import (
    CREATE_TABLES,
    KIND_TEST,
    MAP_SCHEMA_VERSION,
    FileVersion,
    Hit,
    Recording,
    decode_lines,
    encode_lines,
)

BUSY_TIMEOUT_MS = 30_000


class MapError(Exception):
    """The map cannot be used; the message says why, in one line."""


def _is_lock(error: sqlite3.OperationalError) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


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
            for statement in CREATE_TABLES:
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
                    inserted = db.execute(
                        "INSERT INTO contexts (name, kind, fixtures, git_commit, recorded) VALUES (?, ?, ?, ?, ?)",
                        (context, kind, fixtures, recording.commit, now),
                    ).lastrowid
                    # sqlite3 sets lastrowid after every INSERT into a rowid table.
                    assert inserted is not None
                    context_id = inserted
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
        found = sources.get(digest)
        content, imports = found if found is not None else (None, None)
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
