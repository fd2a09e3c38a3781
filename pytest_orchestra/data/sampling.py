"""Deterministic in-memory datasets: ``sample(schema, seed=...)`` -> table -> rows."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, Optional, Union

from .dataset_plan import DatasetPlan
from .schema import Schema
from .schema_sources import SchemaSource, resolve

#: In-memory datasets are for tests; bigger ones belong in files (``generate``).
MAX_SAMPLE_ROWS = 1_000_000


class Dataset(Mapping[str, List[Dict[str, Any]]]):
    """Rows by table (parents first), with the schema, seed and profile that made them."""

    def __init__(self, schema: Schema, tables: Dict[str, List[Dict[str, Any]]], *, seed: Optional[int] = None, profile: str = "default") -> None:
        self.schema = schema
        self.tables = tables
        self.seed = seed
        self.profile = profile

    def __getitem__(self, name: str) -> List[Dict[str, Any]]:
        return self.tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={len(rows)}" for name, rows in self.tables.items())
        return f"<Dataset {self.schema.name} seed={self.seed} profile={self.profile} {counts}>"

    def keys_of(self, table: str, column: str) -> List[Any]:
        return [row[column] for row in self.tables[table]]


def sample(
    schema: SchemaSource,
    *,
    seed: int = 0,
    rows: Union[int, Mapping[str, int], None] = None,
    profile: Optional[str] = None,
) -> Dataset:
    """A deterministic dataset held in memory; the same seed gives the same rows."""
    resolved = resolve(schema)
    plan = DatasetPlan(resolved, seed=seed, rows=rows, profile=profile)
    total = sum(plan.row_counts.values())
    if total > MAX_SAMPLE_ROWS:
        from .errors import DataError

        raise DataError(f"{resolved.name}: {total} rows is too many to hold in memory; use generate() to write files")
    tables = {name: plan.rows(name) for name in plan.tables}
    return Dataset(resolved, tables, seed=seed, profile=plan.profile.name)
