"""Edge-case classes: which apply to a column, which values carry them, and coverage.

Classes: ``empty`` (empty string or object), ``max_length`` (as long as the
column allows), ``non_ascii``, ``boundary`` (the min or max of a number or date
column) and ``null``. The ``edge`` profile places one value of each applicable
class in every column (see :func:`edge_values`); :func:`edge_coverage` reports
which classes a dataset holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Sequence, Set, Tuple

from .schema import NUMERIC_TYPES, STRING_TYPES, TEMPORAL_TYPES, Column, Schema

EDGE_CLASSES: Tuple[str, ...] = ("empty", "max_length", "non_ascii", "boundary", "null")

NON_ASCII_SAMPLE = "Zoë Łódź 東京 ß"


def applicable_classes(column: Column, *, referenced: bool = False) -> Tuple[str, ...]:
    """The edge classes a column can hold under its constraints."""
    classes: List[str] = []
    if column.foreign_key:
        return ("null",) if column.nullable else ()
    low, high = column.lengths
    free_text = column.type in STRING_TYPES and column.regex is None
    if free_text and column.type in ("str", "text") and low == 0:
        classes.append("empty")
    if column.type == "json":
        classes.append("empty")
    if free_text and column.type != "name":
        classes.append("max_length")
    if free_text and high >= 1 or column.type == "json":
        classes.append("non_ascii")
    if column.type in NUMERIC_TYPES or column.type in TEMPORAL_TYPES:
        classes.append("boundary")
    if column.nullable and not referenced:
        classes.append("null")
    return tuple(classes)


def edge_values(column: Column, *, referenced: bool = False) -> List[Tuple[str, Any]]:
    """(class, value) pairs the edge profile places in a column; None stands for null.

    Values of unique columns are chosen so they cannot collide with generated
    ones (generated unique strings are lowercase ASCII ending in ``_<row>``).
    """
    pairs: List[Tuple[str, Any]] = []
    low, high = column.lengths
    for name in applicable_classes(column, referenced=referenced):
        if name == "null":
            pairs.append(("null", None))
        elif name == "empty":
            pairs.append(("empty", "{}" if column.type == "json" else ""))
        elif name == "max_length":
            if column.type == "email":
                local = "Z" * max(1, min(64, high - len("@example.com")))
                pairs.append(("max_length", f"{local}@example.com"[:high]))
            else:
                pairs.append(("max_length", "Z" * high))
        elif name == "non_ascii":
            if column.type == "json":
                pairs.append(("non_ascii", '{"name": "Zoë 東京"}'))
            elif column.type == "email":
                pairs.append(("non_ascii", "zoë.łódź@exämple.org"))
            else:
                size = max(low, min(high, len(NON_ASCII_SAMPLE)))
                pairs.append(("non_ascii", (NON_ASCII_SAMPLE * (size // len(NON_ASCII_SAMPLE) + 1))[:size]))
        elif name == "boundary":
            lower, upper = column.bounds
            if column.unique and column.type in ("int", "decimal", "date", "datetime"):
                # Unique values count up from min (row 0 holds it); max only when declared.
                if column.max is not None:
                    pairs.append(("boundary", upper))
            else:
                pairs.extend((("boundary", lower), ("boundary", upper)))
    return pairs


def classes_of(column: Column, value: Any) -> Tuple[str, ...]:
    """The edge classes one (typed) value belongs to."""
    if value is None:
        return ("null",)
    found: List[str] = []
    if column.type in STRING_TYPES or column.type in ("uuid", "choices"):
        text = str(value)
        if text == "":
            found.append("empty")
        if column.type in STRING_TYPES and len(text) >= column.lengths[1] > 0:
            found.append("max_length")
        if not text.isascii():
            found.append("non_ascii")
    elif column.type == "json":
        if value in ({}, [], "", "{}", "[]"):
            found.append("empty")
        text = value if isinstance(value, str) else repr(value)
        if not text.isascii():
            found.append("non_ascii")
    elif column.type in NUMERIC_TYPES or column.type in TEMPORAL_TYPES:
        low, high = column.bounds
        try:
            if value == low or value == high:
                found.append("boundary")
        except TypeError:
            pass
    return tuple(found)


@dataclass
class EdgeCoverage:
    """Per table and column: the applicable classes and the ones present."""

    columns: Dict[Tuple[str, str], Dict[str, bool]] = field(default_factory=dict)

    @property
    def missing(self) -> List[Tuple[str, str, str]]:
        return [(t, c, k) for (t, c), classes in self.columns.items() for k, ok in classes.items() if not ok]

    @property
    def complete(self) -> bool:
        return not self.missing

    def as_dict(self) -> Dict[str, Dict[str, Dict[str, bool]]]:
        out: Dict[str, Dict[str, Dict[str, bool]]] = {}
        for (table, column), classes in self.columns.items():
            out.setdefault(table, {})[column] = dict(classes)
        return out

    def format(self) -> str:
        lines = []
        for (table, column), classes in self.columns.items():
            held = [k for k, ok in classes.items() if ok]
            lacking = [k for k, ok in classes.items() if not ok]
            text = ", ".join(held) or "-"
            if lacking:
                text += f"  (missing: {', '.join(lacking)})"
            lines.append(f"{table}.{column}: {text}")
        return "\n".join(lines)


def referenced_columns(schema: Schema) -> Set[Tuple[str, str]]:
    return {c.parent for t in schema.tables for c in t.columns if c.parent}


def edge_coverage(dataset: Mapping[str, Sequence[Mapping[str, Any]]], schema: Schema) -> EdgeCoverage:
    """Which applicable edge classes each column of an in-memory dataset holds."""
    referenced = referenced_columns(schema)
    coverage = EdgeCoverage()
    for table in schema.tables:
        rows = dataset.get(table.name, ())
        for column in table.columns:
            wanted = applicable_classes(column, referenced=(table.name, column.name) in referenced)
            seen: Set[str] = set()
            for row in rows:
                seen.update(classes_of(column, row.get(column.name)))
            coverage.columns[(table.name, column.name)] = {k: k in seen for k in wanted}
    return coverage
