"""Generated datasets cached under ``.orchestra/data/`` by (schema hash, seed, size).

An entry is a folder named after the dataset, schema fingerprint, seed, size
or rows, format and profile, holding the generated files and the manifest. A
schema change changes the fingerprint, so the old entries of that dataset are
stale and removed when a new one is made. A size cap evicts least recently
used entries. Entries are written to a temporary folder and renamed, so a
crash never leaves a half-written entry that looks complete.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Mapping, Optional, Union

from .bulk import GenerateResult, generate, parse_size
from .formats import MANIFEST, data_file, read_manifest
from .schema_sources import SchemaSource, resolve

DEFAULT_CAP = "2GB"


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    dataset: str
    fingerprint: str
    bytes: int
    used: float


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", str(value)).strip("-") or "none"


class DataCache:
    """Generated datasets in ``root`` (normally ``<rootdir>/.orchestra/data``)."""

    def __init__(self, root: Union[str, Path], *, max_bytes: Union[str, int, None] = DEFAULT_CAP) -> None:
        self.root = Path(root)
        self.max_bytes = parse_size(max_bytes) if max_bytes is not None else None

    def key(self, schema: SchemaSource, *, seed: int, size: Union[str, int, None], rows: Any, format: str, profile: Optional[str]) -> str:
        resolved = resolve(schema)
        amount = f"size{parse_size(size)}" if size is not None else f"rows{_slug(rows if not isinstance(rows, Mapping) else sorted(rows.items()))}"
        return "__".join([_slug(resolved.name), resolved.fingerprint, f"seed{seed}", amount, format, _slug(profile or "default")])

    def get(
        self,
        schema: SchemaSource,
        *,
        seed: int = 0,
        size: Union[str, int, None] = None,
        rows: Any = None,
        format: str = "csv",
        profile: Optional[str] = None,
    ) -> GenerateResult:
        """The cached entry, generated first when missing; marks it as just used."""
        resolved = resolve(schema)
        key = self.key(resolved, seed=seed, size=size, rows=rows, format=format, profile=profile)
        path = self.root / key
        if (path / MANIFEST).is_file():
            manifest = read_manifest(path)
            os.utime(path / MANIFEST)
            files = {name: data_file(path, resolved.name, name, format) for name in manifest.rows}
            return GenerateResult(path, format, manifest.rows, manifest.bytes, 0.0, seed, files)
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".tmp-{key}-{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        result = generate(resolved, temporary, size=size, rows=rows, format=format, seed=seed, profile=profile, progress=False)
        try:
            temporary.rename(path)
        except OSError:  # another process made it first: use theirs
            shutil.rmtree(temporary, ignore_errors=True)
            return self.get(resolved, seed=seed, size=size, rows=rows, format=format, profile=profile)
        result.out_dir = path
        result.files = {name: path / p.name for name, p in result.files.items()}
        self.remove_stale(resolved.name, resolved.fingerprint)
        self.prune(keep=path)
        return result

    def entries(self) -> List[CacheEntry]:
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            manifest = path / MANIFEST
            if path.name.startswith(".tmp-") or not manifest.is_file():
                continue
            parts = path.name.split("__")
            found.append(CacheEntry(path, parts[0], parts[1] if len(parts) > 1 else "", _folder_bytes(path), manifest.stat().st_mtime))
        return found

    def remove_stale(self, dataset: str, fingerprint: str) -> List[Path]:
        """Remove entries of ``dataset`` made from another version of its schema."""
        removed = []
        for entry in self.entries():
            if entry.dataset == _slug(dataset) and entry.fingerprint != fingerprint:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
        return removed

    def prune(self, max_bytes: Union[str, int, None] = None, *, keep: Optional[Path] = None, older_than_days: Optional[float] = None) -> List[Path]:
        """Evict least recently used entries above the cap (and, if given, unused for N days)."""
        cap = parse_size(max_bytes) if max_bytes is not None else self.max_bytes
        entries = sorted(self.entries(), key=lambda e: e.used)
        removed = []
        if older_than_days is not None:
            limit = time.time() - older_than_days * 86400
            for entry in [e for e in entries if e.used < limit and e.path != keep]:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
                entries.remove(entry)
        if cap is not None:
            total = sum(e.bytes for e in entries)
            for entry in entries:
                if total <= cap:
                    break
                if entry.path == keep:
                    continue
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
                total -= entry.bytes
        for stray in self.root.glob(".tmp-*") if self.root.is_dir() else ():
            if time.time() - stray.stat().st_mtime > 3600:
                shutil.rmtree(stray, ignore_errors=True)
        return removed

    def clear(self) -> int:
        count = len(self.entries())
        if self.root.is_dir():
            shutil.rmtree(self.root)
        return count
