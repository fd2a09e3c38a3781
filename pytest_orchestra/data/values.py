"""One column's vectorized, deterministic values: the generator behind samples and bulk files.

A :class:`ColumnValues` draws the values of one column chunk by chunk. Values
depend only on (seed, table, column, chunk start), so a dataset is the same for
a seed however it is written. Unique columns are pure functions of the row
index (:meth:`ColumnValues.at`), so a foreign key is an array of parent row
indices mapped through the parent column: no key array is kept.
"""

from __future__ import annotations

import random
import zlib
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import textgen
from .chunks import Chunk, to_internal
from .edges import edge_values
from .errors import DataError
from .schema import Column, Table

UINT64 = np.uint64
MASK64 = (1 << 64) - 1
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


class ColumnValues:
    """Draws one column's values for a table of ``rows`` rows."""

    def __init__(self, table: Table, column: Column, rows: int, seed: int, *, edge: bool, referenced: bool) -> None:
        self.table = table
        self.column = column
        self.rows = rows
        self.where = f"{table.name}.{column.name}"
        self.key = [seed & MASK64, crc(table.name), crc(column.name)]
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
    for upper, lower in zip(high.tolist(), low.tolist()):
        a = f"{upper:016x}{lower:016x}"
        out.append(f"{a[:8]}-{a[8:12]}-{a[12:16]}-{a[16:20]}-{a[20:]}")
    return out
