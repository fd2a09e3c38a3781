"""Planning a dataset: the row count of every table, and its rows chunk by chunk, parents first.

A :class:`DatasetPlan` fixes the row count of every table for a schema, seed
and profile; each :class:`TablePlan` yields chunks of rows (see ``chunks``)
from its columns' generators (see ``values``). Foreign keys are drawn as parent
row indices, or, for a column with ``children``, derived per parent row.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import numpy as np

from .chunks import CHUNK_ROWS, Chunk, to_python
from .edges import edge_values, referenced_columns
from .errors import DataError
from .schema import Column, Schema, Table
from .values import MASK64, UINT64, ColumnValues, crc, mix64


class TablePlan:
    """Row count, columns and chunking of one table."""

    def __init__(self, plan: "DatasetPlan", table: Table, rows: int) -> None:
        self.table = table
        self.plan = plan
        self.children_column: Optional[Column] = next((c for c in table.columns if c.children), None)
        self.block_offsets: Optional[np.ndarray] = None
        if self.children_column is not None:
            rows = self._children_rows()
        self.rows = rows
        referenced = plan.referenced
        self.columns: Dict[str, ColumnValues] = {
            c.name: ColumnValues(table, c, rows, plan.seed, edge=plan.edge, referenced=(table.name, c.name) in referenced)
            for c in table.columns
        }
        for column in table.foreign_keys:
            parent_table, _ = column.parent  # type: ignore[misc]
            if rows and plan.tables[parent_table].rows == 0 and not column.nullable:
                raise DataError(f"{table.name}.{column.name}: {rows} rows need parents but table {parent_table} has 0 rows")

    def _parent_counts(self, block: int) -> np.ndarray:
        column = self.children_column
        assert column is not None and column.children is not None
        parent = self.plan.tables[column.parent[0]]  # type: ignore[index]
        start = block * CHUNK_ROWS
        stop = min(parent.rows, start + CHUNK_ROWS)
        low, high = column.children
        index = np.arange(start, stop, dtype=np.int64).astype(UINT64)
        spread = UINT64(high - low + 1)
        key = UINT64((self.plan.seed ^ crc(self.table.name)) & MASK64)
        counts: np.ndarray = (low + (mix64(index ^ key) % spread)).astype(np.int64)
        return counts

    def _children_rows(self) -> int:
        column = self.children_column
        parent = self.plan.tables[column.parent[0]]  # type: ignore[index, union-attr]
        blocks = -(-parent.rows // CHUNK_ROWS)
        totals = [int(self._parent_counts(b).sum()) for b in range(blocks)]
        self.block_offsets = np.concatenate([[0], np.cumsum(totals, dtype=np.int64)]).astype(np.int64)
        return int(self.block_offsets[-1])

    def _children_parents(self, start: int, stop: int) -> np.ndarray:
        offsets = self.block_offsets
        assert offsets is not None
        first = int(np.searchsorted(offsets, start, side="right")) - 1
        last = int(np.searchsorted(offsets, stop, side="left"))
        parts = []
        for block in range(first, last):
            counts = self._parent_counts(block)
            parents = np.arange(block * CHUNK_ROWS, block * CHUNK_ROWS + len(counts), dtype=np.int64)
            parts.append(np.repeat(parents, counts))
        joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        base = int(offsets[first])
        return joined[start - base: stop - base]

    def ranges(self, chunk_rows: int = CHUNK_ROWS) -> Iterator[Tuple[int, int]]:
        for start in range(0, self.rows, chunk_rows):
            yield start, min(self.rows, start + chunk_rows)

    def chunk(self, start: int, stop: int) -> Dict[str, Chunk]:
        out: Dict[str, Chunk] = {}
        for column in self.table.columns:
            values = self.columns[column.name]
            parent = None
            if column.foreign_key:
                parent_table, parent_column = column.parent  # type: ignore[misc]
                source = self.plan.tables[parent_table]
                if column is self.children_column:
                    index = self._children_parents(start, stop)
                else:
                    rng = values.rng(start, 2)
                    index = rng.integers(0, max(source.rows, 1), size=stop - start)
                parent = (source.columns[parent_column], index)
            out[column.name] = values.chunk(start, stop, parent)
        return out


class DatasetPlan:
    """Row counts and generators of every table, parents first."""

    def __init__(
        self,
        schema: Schema,
        *,
        seed: int,
        rows: Union[int, Mapping[str, int], None] = None,
        profile: Optional[str] = None,
    ) -> None:
        self.schema = schema
        self.seed = int(seed) & MASK64
        self.profile = schema.profile(profile)
        self.edge = self.profile.edge
        self.referenced = referenced_columns(schema)
        counts = schema.row_counts(profile=profile, rows=rows)
        self.tables: Dict[str, TablePlan] = {}
        for table in schema.tables:
            count = counts[table.name]
            if self.edge:
                count = max(count, self._edge_rows(table))
            self.tables[table.name] = TablePlan(self, table, count)

    def _edge_rows(self, table: Table) -> int:
        need = 0
        for column in table.columns:
            pairs = edge_values(column, referenced=(table.name, column.name) in self.referenced)
            need = max(need, len(pairs) + 2)
        return need

    @property
    def row_counts(self) -> Dict[str, int]:
        return {name: plan.rows for name, plan in self.tables.items()}

    def rows(self, table: str, start: int = 0, stop: Optional[int] = None) -> List[Dict[str, Any]]:
        """Typed Python rows of one table (for in-memory datasets: keep them small)."""
        plan = self.tables[table]
        stop = plan.rows if stop is None else min(stop, plan.rows)
        columns = plan.table.columns
        out: List[Dict[str, Any]] = []
        for chunk_start in range(start, stop, CHUNK_ROWS):
            chunk_stop = min(stop, chunk_start + CHUNK_ROWS)
            chunk = plan.chunk(chunk_start, chunk_stop)
            lists = [to_python(c, chunk[c.name]) for c in columns]
            names = [c.name for c in columns]
            out.extend(dict(zip(names, row)) for row in zip(*lists))
        return out
