"""Vectorized, deterministic column values: the generator behind samples and bulk files.

A :class:`DatasetPlan` fixes the row count of every table for a schema, seed
and profile. Each table yields chunks of rows as numpy arrays (ints, scaled
decimals, day ordinals and epoch seconds as int64) or lists (strings, choices).
Values depend only on (seed, table, column, chunk start), so a dataset is the
same for a seed however it is written. Unique columns are pure functions of
the row index, so a foreign key is an array of parent row indices mapped
through the parent column: no key array is kept, memory stays bounded.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import textgen
from .edges import edge_values, referenced_columns
from .errors import DataError
from .schema import Column, Schema, Table

#: Rows per chunk: values are drawn per chunk, so this is part of what a seed means.
CHUNK_ROWS = 65_536
EPOCH = dt.datetime(1970, 1, 1)
UINT64 = np.uint64
_MASK64 = (1 << 64) - 1
INT_TYPES = frozenset({"int", "decimal", "date", "datetime"})


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection on uint64, so distinct inputs stay distinct."""
    x = values.astype(UINT64, copy=True)
    x ^= x >> UINT64(30)
    x *= UINT64(0xBF58476D1CE4E5B9)
    x ^= x >> UINT64(27)
    x *= UINT64(0x94D049BB133111EB)
    x ^= x >> UINT64(31)
    return x


def crc(text: str) -> int:
    return zlib.crc32(text.encode())


@dataclass
class Chunk:
    """One column's values for rows [start, stop): an array or list, and a null mask."""

    values: Any
    nulls: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.values)


def to_internal(column: Column, value: Any) -> Any:
    """A typed Python value in the chunk representation of its column."""
    if value is None:
        return None
    if column.type == "decimal":
        return int(Decimal(value).scaleb(column.scale).to_integral_value())
    if column.type == "date":
        return value.toordinal()
    if column.type == "datetime":
        return int((value - EPOCH).total_seconds())
    return value


def to_python(column: Column, chunk: Chunk) -> List[Any]:
    """Chunk values as typed Python values (int, float, Decimal, date, datetime, str, dict...)."""
    raw = chunk.values.tolist() if isinstance(chunk.values, np.ndarray) else list(chunk.values)
    kind = column.type
    if kind == "decimal":
        scale = column.scale
        raw = [Decimal(v).scaleb(-scale) for v in raw]
    elif kind == "date":
        raw = [dt.date.fromordinal(v) for v in raw]
    elif kind == "datetime":
        raw = [EPOCH + dt.timedelta(seconds=v) for v in raw]
    elif kind == "json":
        import json

        raw = [json.loads(v) for v in raw]
    if chunk.nulls is not None and chunk.nulls.any():
        for i in np.flatnonzero(chunk.nulls).tolist():
            raw[i] = None
    return raw


class ColumnValues:
    """Draws one column's values for a table of ``rows`` rows."""

    def __init__(self, table: Table, column: Column, rows: int, seed: int, *, edge: bool, referenced: bool) -> None:
        self.table = table
        self.column = column
        self.rows = rows
        self.where = f"{table.name}.{column.name}"
        self.key = [seed & _MASK64, crc(table.name), crc(column.name)]
        self.referenced = referenced
        self.nullable = column.nullable and not referenced
        self.rnd = random.Random(f"{seed}:{table.name}:{column.name}")
        self.pool: Optional[np.ndarray] = None
        self.edges = self._place_edges(edge_values(column, referenced=referenced) if edge else [])
        if not column.foreign_key:
            self._prepare()

    # -- setup -------------------------------------------------------------

    def _place_edges(self, pairs: Sequence[Tuple[str, Any]]) -> Dict[int, Any]:
        """Row index -> edge value; unique numbers keep min at row 0 and put max last."""
        placed: Dict[int, Any] = {}
        ordered_unique = self.column.unique and self.column.type in INT_TYPES
        row = 1 if ordered_unique else 0
        for name, value in pairs:
            if ordered_unique and name == "boundary":
                placed[self.rows - 1] = to_internal(self.column, value)
            else:
                placed[row] = to_internal(self.column, value)
                row += 1
        return {r: v for r, v in placed.items() if 0 <= r < self.rows}

    def _prepare(self) -> None:
        column, rnd = self.column, self.rnd
        kind = column.type
        low_len, high_len = column.lengths
        if kind == "int" or kind == "decimal" or kind in ("date", "datetime"):
            low, high = column.bounds
            self.low = to_internal(column, low)
            self.high = to_internal(column, high)
            if column.unique and column.max is not None and self.rows and self.low + self.rows - 1 > self.high:
                raise DataError(f"{self.where}: {self.rows} unique values do not fit between {low} and {high}")
        elif kind == "float":
            self.low, self.high = (float(b) for b in column.bounds)
        elif kind in ("str", "text", "name", "email"):
            if column.regex is not None:
                pool = textgen.regex_pool(column.regex, rnd, self.where, length=column.length)
                if column.unique and len(pool) < self.rows:
                    raise DataError(f"{self.where}: regex {column.regex!r} gave {len(pool)} distinct values, {self.rows} unique rows needed")
            elif kind == "text":
                pool = textgen.sentence_pool(rnd, low_len, high_len)
            elif kind == "name":
                pool = textgen.name_pool(rnd, low_len, high_len)
            elif kind == "email":
                pool = textgen.email_locals(rnd) if column.unique else textgen.email_pool(rnd, low_len, high_len)
            else:
                pool = textgen.word_pool(rnd, low_len, high_len)
            self.pool = np.array(pool, dtype=object)
            if column.unique and column.regex is None:
                width = len(str(max(self.rows - 1, 0))) + 1
                if kind == "email":
                    width += len("@example.com") + 1
                if width > high_len:
                    raise DataError(f"{self.where}: length {high_len} is too short for {self.rows} unique values")
        elif kind == "json":
            self.pool = np.array(textgen.json_pool(rnd), dtype=object)
        elif kind == "choices":
            self.pool = np.empty(len(column.choices), dtype=object)
            self.pool[:] = list(column.choices)
            if column.unique and self.rows > len(column.choices):
                raise DataError(f"{self.where}: {self.rows} unique rows but only {len(column.choices)} choices")
        elif kind == "bool":
            if column.unique and self.rows > 2:
                raise DataError(f"{self.where}: a unique bool column holds at most 2 rows, not {self.rows}")

    # -- values ------------------------------------------------------------

    def rng(self, start: int, stream: int = 0) -> np.random.Generator:
        return np.random.default_rng([*self.key, start, stream])

    def at(self, index: np.ndarray) -> Any:
        """Values of a unique column at row indices (a pure function of the index)."""
        column = self.column
        kind = column.type
        index = np.asarray(index, dtype=np.int64)
        if kind in INT_TYPES:
            values: Any = self.low + index
        elif kind == "float":
            step = (self.high - self.low) / max(self.rows, 1)
            values = self.low + index * step
        elif kind == "uuid":
            values = _uuids(mix64(index.astype(UINT64) ^ UINT64(self.key[0])), mix64(index.astype(UINT64) + UINT64(self.key[1])))
        elif kind == "bool":
            values = index.astype(bool)
        elif kind == "choices":
            values = self.pool[index].tolist()  # type: ignore[index]
        elif kind == "json":
            values = [f'{{"id": {i}}}' for i in index.tolist()]
        elif column.regex is not None:
            values = self.pool[index].tolist()  # type: ignore[index]
        else:
            values = self._unique_strings(index)
        if self.edges:
            values = self._apply_edges(values, index)
        return values

    def _unique_strings(self, index: np.ndarray) -> List[str]:
        pool = self.pool
        assert pool is not None
        low, high = self.column.lengths
        picks = pool[(mix64(index.astype(UINT64)) % UINT64(len(pool))).astype(np.int64)].tolist()
        ids = list(map(str, index.tolist()))
        if self.column.type == "email":
            domains = textgen.DOMAINS
            out = []
            for local, suffix, i in zip(picks, ids, index.tolist()):
                tail = f".{suffix}@{domains[i % len(domains)]}"
                out.append(local[: max(1, high - len(tail))] + tail)
            return out
        out = []
        for prefix, suffix in zip(picks, ids):
            text = prefix[: max(0, high - len(suffix) - 1)] + "_" + suffix
            out.append(text if len(text) >= low else text.rjust(low, "a"))
        return out

    def _apply_edges(self, values: Any, index: np.ndarray) -> Any:
        for row, value in self.edges.items():
            hits = np.flatnonzero(index == row)
            if not len(hits) or value is None:
                continue
            if isinstance(values, np.ndarray):
                values[hits] = value
            else:
                for hit in hits.tolist():
                    values[hit] = value
        return values

    def chunk(self, start: int, stop: int, parent: Optional[Tuple["ColumnValues", np.ndarray]] = None) -> Chunk:
        n = stop - start
        column = self.column
        rng = self.rng(start)
        if parent is not None:
            source, index = parent
            values: Any = source.at(index)
            if isinstance(values, np.ndarray):
                values = values.copy()
        elif column.unique:
            values = self.at(np.arange(start, stop, dtype=np.int64))
        else:
            values = self._random(rng, n)
        nulls = None
        if self.nullable:
            nulls = self.rng(start, 1).random(n) < column.null_rate
        if self.edges and not column.unique:
            for row, value in self.edges.items():
                if start <= row < stop:
                    if value is None:
                        if nulls is None:
                            nulls = np.zeros(n, dtype=bool)
                        nulls[row - start] = True
                    else:
                        values[row - start] = value
                        if nulls is not None:
                            nulls[row - start] = False
        elif self.edges:
            for row, value in self.edges.items():
                if start <= row < stop and value is None:
                    if nulls is None:
                        nulls = np.zeros(n, dtype=bool)
                    nulls[row - start] = True
            if nulls is not None:
                for row, value in self.edges.items():
                    if start <= row < stop and value is not None:
                        nulls[row - start] = False
        return Chunk(values, nulls)

    def _random(self, rng: np.random.Generator, n: int) -> Any:
        kind = self.column.type
        if kind in INT_TYPES:
            return rng.integers(self.low, self.high, size=n, endpoint=True)
        if kind == "float":
            return np.clip(np.round(rng.uniform(self.low, self.high, n), 2), self.low, self.high)
        if kind == "bool":
            return rng.random(n) < 0.5
        if kind == "uuid":
            words = rng.integers(0, np.iinfo(np.int64).max, size=(2, n), dtype=np.int64, endpoint=True)
            return _uuids(words[0].astype(UINT64), words[1].astype(UINT64))
        assert self.pool is not None
        return self.pool[rng.integers(0, len(self.pool), size=n)].tolist()


def _uuids(high: np.ndarray, low: np.ndarray) -> List[str]:
    """Version-4-shaped UUID strings from two uint64 arrays."""
    high = (high & UINT64(0xFFFFFFFFFFFF0FFF)) | UINT64(0x4000)
    low = (low & UINT64(0x3FFFFFFFFFFFFFFF)) | UINT64(0x8000000000000000)
    out = []
    for h, l in zip(high.tolist(), low.tolist()):
        a = f"{h:016x}{l:016x}"
        out.append(f"{a[:8]}-{a[8:12]}-{a[12:16]}-{a[16:20]}-{a[20:]}")
    return out


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
        key = UINT64((self.plan.seed ^ crc(self.table.name)) & _MASK64)
        return (low + (mix64(index ^ key) % spread)).astype(np.int64)

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
        self.seed = int(seed) & _MASK64
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
