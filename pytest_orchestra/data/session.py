"""The ``orchestra_data`` fixture's helpers: schemas, ``sample``, ``strategy``, ``validate``, ``load`` into a session SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pytest

if TYPE_CHECKING:
    from .sampling import Dataset


class DataSession:
    """The session's data helpers (fixture ``orchestra_data``)."""

    def __init__(self, config: pytest.Config, run_seed: int, rootdir: Path, cache_size: str, cache_dir: Optional[Path] = None) -> None:
        self.config = config
        self.seed = run_seed
        self.rootdir = rootdir
        self.cache_dir = cache_dir or rootdir / ".orchestra" / "data"
        self.cache_size = cache_size
        self._sqlite: Optional[sqlite3.Connection] = None

    @property
    def cache(self) -> Any:
        from .cache import DataCache

        return DataCache(self.cache_dir, max_bytes=self.cache_size)

    def schema(self, source: Any) -> Any:
        from .schema_sources import resolve

        return resolve(source)

    def sample(self, source: Any, **kwargs: Any) -> "Dataset":
        from .sampling import sample

        kwargs.setdefault("seed", self.seed)
        return sample(source, **kwargs)

    def strategy(self, source: Any, **kwargs: Any) -> Any:
        from .strategies import strategy

        return strategy(source, **kwargs)

    def validate(self, source: Any, schema: Any = None, **kwargs: Any) -> Any:
        from .validation import validate

        return validate(source, schema, **kwargs)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """One in-memory SQLite database for the session (foreign keys on)."""
        if self._sqlite is None:
            self._sqlite = sqlite3.connect(":memory:")
            self._sqlite.execute("PRAGMA foreign_keys=ON")
        return self._sqlite

    def load(self, dataset: Any, target: Any = None, *, schema: Any = None) -> Any:
        """Load into ``target``, or reset the session database and load there; returns the connection/target."""
        from .loading import load

        if target is None:
            target = self.sqlite
            resolved = self.schema(schema if schema is not None else dataset.schema)
            for table in reversed(resolved.tables):
                target.execute(f'DROP TABLE IF EXISTS "{table.name}"')
        load(dataset, target, schema=schema)
        return target

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
