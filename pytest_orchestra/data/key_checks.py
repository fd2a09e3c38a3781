"""Key columns across batches: orphan foreign keys as their batches arrive, duplicate unique values at the end.

Keys are kept in the cheapest form that answers membership and duplicates:
ascending runs of integer ids as ranges, pyarrow arrays when the vectorized
path is on (``vectorized``), Python values otherwise.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, cast

from .checks import KeyIndex, hashable
from .schema import Column, Schema
from .validation_report import ValidationReport


class KeyCollector:
    """Key columns, batch by batch; foreign keys are checked as their batches arrive.

    Tables are read parents first, so a child batch meets complete parent keys:
    its foreign keys are checked at once and never kept. Ascending runs of a
    unique integer column (the usual ids) are kept as ranges, so validating
    gigabytes holds little more than the non-integer unique values.
    """

    def __init__(self, schema: Schema, report: ValidationReport, *, vectorized: bool, every_column: bool = False) -> None:
        self.report = report
        #: Whether pyarrow may be used (the vectorized path): validation's HAVE_ARROW, for the run.
        self.vectorized = vectorized
        self.every_column = every_column
        self.columns = {(t.name, c.name): c for t in schema.tables for c in t.columns}
        self.wanted = set()
        for table in schema.tables:
            for column in table.columns:
                if column.unique or every_column:
                    self.wanted.add((table.name, column.name))
                if column.parent:
                    self.wanted.add(column.parent)
        self.parts: Dict[Tuple[str, str], List[Tuple[str, Any]]] = {}
        #: Tables read completely; and those whose file could not be read (children not judged).
        self.done: Set[str] = set()
        self.broken: Set[str] = set()
        self._parents: Dict[Tuple[str, str], Any] = {}

    def add(self, table: str, column: str, kind: str, values: Any, offset: int) -> None:
        spec = self.columns[(table, column)]
        if spec.parent and spec.parent[0] in self.done and spec.parent[0] not in self.broken:
            self._check_orphans(table, spec, kind, values, offset)
        if (table, column) not in self.wanted:
            return
        parts = self.parts.setdefault((table, column), [])
        if kind == "arrow" and spec.type == "int" and not self.every_column:
            bounds = _ascending_run(values)
            if bounds is not None:
                if parts and parts[-1][0] == "range" and parts[-1][1][1] + 1 == bounds[0]:
                    parts[-1] = ("range", (parts[-1][1][0], bounds[1]))
                else:
                    parts.append(("range", bounds))
                return
        parts.append((kind, values))

    def _check_orphans(self, table: str, column: Column, kind: str, values: Any, offset: int) -> None:
        key = cast(Tuple[str, str], column.parent)
        parent = self._parents.get(key)
        if parent is None:
            parent = self._parents[key] = _ParentKeys(self.parts.get(key, []), vectorized=self.vectorized)
        for position, value in parent.orphans(kind, values):
            self.report.add("orphan_foreign_key", table, offset + position + 1, column.name,
                            f"{value!r} has no parent row in {column.foreign_key}")


def _ascending_run(values: Any) -> Optional[Tuple[int, int]]:
    """(first, last) when an int array is exactly first, first+1, ..., last (no nulls)."""
    import numpy as np

    if len(values) == 0 or values.null_count:
        return None
    array = values.to_numpy(zero_copy_only=False)
    first, last = int(array[0]), int(array[-1])
    if last - first + 1 != len(array) or (len(array) > 1 and not bool(np.all(np.diff(array) == 1))):
        return None
    return first, last


class _ParentKeys:
    """The keys a foreign key may point at, in the cheapest form that answers membership."""

    def __init__(self, parts: List[Tuple[str, Any]], *, vectorized: bool) -> None:
        self.vectorized = vectorized
        self.ranges = [values for kind, values in parts if kind == "range"]
        self.arrow = [values for kind, values in parts if kind == "arrow"]
        rest = [values for kind, values in parts if kind == "py"]
        self.python = {hashable(v) for values in rest for v in values if v is not None}
        self._python_set: Optional[Set[Any]] = None
        self._arrow_set: Any = None

    def orphans(self, kind: str, values: Any) -> List[Tuple[int, Any]]:
        if kind == "arrow" and not self.python and self.vectorized:
            return self._arrow_orphans(values)
        items = values.to_pylist() if kind == "arrow" else values
        found = []
        for position, value in enumerate(items):
            if value is None:
                continue
            if any(isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi for lo, hi in self.ranges):
                continue
            if hashable(value) in self.python or self._in_arrow(value):
                continue
            found.append((position, value))
        return found

    def _in_arrow(self, value: Any) -> bool:
        if not self.arrow:
            return False
        if self._python_set is None:
            self._python_set = {hashable(v) for array in self.arrow for v in array.to_pylist() if v is not None}
        return hashable(value) in self._python_set

    def _arrow_orphans(self, values: Any) -> List[Tuple[int, Any]]:
        import pyarrow as pa
        import pyarrow.compute as pc

        missing = pc.is_valid(values)
        for lo, hi in self.ranges:
            inside = pc.and_(pc.greater_equal(values, lo), pc.less_equal(values, hi))
            missing = pc.and_(missing, pc.invert(inside))
        if self.arrow:
            if self._arrow_set is None:
                self._arrow_set = pa.chunked_array(self.arrow, type=values.type).combine_chunks()
            missing = pc.and_(missing, pc.invert(pc.is_in(values, value_set=self._arrow_set)))
        if not pc.any(missing).as_py():
            return []
        positions = pc.indices_nonzero(missing).to_pylist()
        return [(i, values[i].as_py()) for i in positions]


def key_index(parts: List[Tuple[str, Any]]) -> KeyIndex:
    index = KeyIndex()
    for kind, values in parts:
        if kind == "range":
            index.extend(range(values[0], values[1] + 1))
        else:
            index.extend(values.to_pylist() if kind == "arrow" else values)
    return index


def check_duplicates(schema: Schema, present: Sequence[str], keys: KeyCollector, report: ValidationReport) -> None:
    """Duplicates of unique columns (foreign keys were checked batch by batch)."""
    for table in schema.tables:
        if table.name not in present:
            continue
        for column in table.columns:
            parts = keys.parts.get((table.name, column.name), [])
            if column.unique and parts and _may_have_duplicates(parts, vectorized=keys.vectorized):
                for row, value, first in key_index(parts).duplicates():
                    report.add("duplicate", table.name, row, column.name, f"duplicate value {value!r} (first in row {first})")


def _may_have_duplicates(parts: List[Tuple[str, Any]], *, vectorized: bool) -> bool:
    """False when cheap checks prove all values distinct; True sends the column to the exact check."""
    if any(kind == "py" for kind, _ in parts) or not vectorized:
        return True
    ranges = sorted(values for kind, values in parts if kind == "range")
    if any(later[0] <= earlier[1] for earlier, later in zip(ranges, ranges[1:])):
        return True
    arrays = [values for kind, values in parts if kind == "arrow"]
    if not arrays:
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    chunked = pa.chunked_array(arrays).drop_null()
    if len(pc.unique(chunked)) != len(chunked):
        return True
    if ranges:
        inside = [pc.any(pc.and_(pc.greater_equal(chunked, lo), pc.less_equal(chunked, hi))).as_py() for lo, hi in ranges]
        return any(inside)
    return False
