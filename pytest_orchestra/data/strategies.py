"""``strategy(schema)``: a Hypothesis strategy of whole datasets with referential integrity.

Parents are drawn first (``st.lists(..., unique_by=...)`` keeps unique columns
unique); a child's foreign key is ``st.sampled_from`` the parent keys drawn,
so every key points at an existing row, and shrinking removes rows and
simplifies values while those properties hold. Sizes stay small by default
(at most 20 rows a table): Hypothesis holds about a hundred rows per example.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Mapping, Optional, Set, Tuple

from hypothesis import strategies as st

from .checks import hashable
from .errors import DataError
from .sampling import Dataset
from .schema import Column, Table
from .schema_sources import SchemaSource, resolve

DEFAULT_MAX_ROWS = 20
INT64 = (-(2**63), 2**63 - 1)
#: Unicode categories left out of generated text: surrogates (Cs) cannot be encoded as UTF-8.
EXCLUDED_CATEGORIES: Tuple[Literal["Cs"]] = ("Cs",)
TEXT_ALPHABET = st.characters(blacklist_categories=EXCLUDED_CATEGORIES, blacklist_characters="\x00")


def column_strategy(column: Column) -> st.SearchStrategy[Any]:
    """Values of one column as its constraints allow (without nulls or keys)."""
    kind = column.type
    low, high = column.min, column.max
    if kind == "int":
        return st.integers(INT64[0] if low is None else low, INT64[1] if high is None else high)
    if kind == "float":
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kind == "decimal":
        return st.decimals(low, high, places=column.scale, allow_nan=False, allow_infinity=False)
    if kind == "bool":
        return st.booleans()
    if kind in ("date", "datetime"):
        bound_low, bound_high = column.bounds
        return st.dates(bound_low, bound_high) if kind == "date" else st.datetimes(bound_low, bound_high)
    if kind == "uuid":
        return st.uuids().map(str)
    if kind == "choices":
        return st.sampled_from(column.choices)
    if kind == "json":
        leaves = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(TEXT_ALPHABET, max_size=8)
        return st.dictionaries(st.text(TEXT_ALPHABET, max_size=6), leaves, max_size=3)
    min_len, max_len = column.lengths
    if column.regex is not None:
        base = st.from_regex(column.regex, fullmatch=True)
        return base.filter(lambda v: min_len <= len(v) <= max_len) if column.length else base
    if kind == "email":
        # Built from parts rather than st.emails(): it shrinks in a fraction of the time.
        domain = st.sampled_from(("example.com", "example.org", "mail.test", "xn--bcher-kva.example"))
        local_chars = st.characters(whitelist_categories=("Ll", "Lu", "Nd")) | st.sampled_from("._+-")
        local = st.text(local_chars, min_size=1, max_size=max(1, min(40, max_len - 22)))
        return st.builds("{}@{}".format, local, domain).filter(lambda v: min_len <= len(v) <= max_len)
    if kind == "name":
        letters = st.characters(whitelist_categories=("Lu", "Ll"))
        return st.text(letters | st.just(" "), min_size=max(1, min_len), max_size=min(max_len, 40))
    return st.text(TEXT_ALPHABET, min_size=min_len, max_size=min(max_len, 200))


def strategy(
    schema: SchemaSource,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    min_rows: int = 0,
    overrides: Optional[Mapping[str, st.SearchStrategy[Any]]] = None,
) -> st.SearchStrategy[Dataset]:
    """Datasets (table -> rows) of ``schema``; ``overrides`` maps ``"table.column"`` to a strategy."""
    resolved = resolve(schema)
    if max_rows < min_rows or min_rows < 0:
        raise DataError(f"{resolved.name}: expected 0 <= min_rows <= max_rows, got {min_rows}, {max_rows}")
    overrides = dict(overrides or {})
    for key, value in overrides.items():
        table, _, column = key.partition(".")
        resolved.table(table).column(column)
        if not isinstance(value, st.SearchStrategy):
            raise DataError(f"{resolved.name}.{key}: override must be a Hypothesis strategy, got {type(value).__name__}")
    referenced = {c.parent for t in resolved.tables for c in t.columns if c.parent}

    def value_strategy(table: Table, column: Column) -> st.SearchStrategy[Any]:
        key = f"{table.name}.{column.name}"
        base = overrides[key] if key in overrides else column_strategy(column)
        if column.nullable and (table.name, column.name) not in referenced:
            return st.none() | base
        return base

    @st.composite
    def datasets(draw: Any) -> Dataset:
        tables: Dict[str, List[Dict[str, Any]]] = {}
        for table in resolved.tables:
            tables[table.name] = draw(_table_rows(table, tables, value_strategy, min_rows, max_rows))
        return Dataset(resolved, tables, profile="hypothesis")

    return datasets()


def _table_rows(table: Table, drawn: Mapping[str, List[Dict[str, Any]]], value_strategy: Any, min_rows: int, max_rows: int) -> st.SearchStrategy[List[Dict[str, Any]]]:
    columns: Dict[str, st.SearchStrategy[Any]] = {}
    for column in table.columns:
        if column.foreign_key:
            parent_table, parent_column = column.parent  # type: ignore[misc]
            keys = [row[parent_column] for row in drawn[parent_table] if row[parent_column] is not None]
            if keys:
                fk = st.sampled_from(keys)
                columns[column.name] = (st.none() | fk) if column.nullable else fk
            elif column.nullable:
                columns[column.name] = st.none()
            else:
                return st.just([])  # no parent rows: no child can exist
        else:
            columns[column.name] = value_strategy(table, column)
    unique = [c.name for c in table.columns if c.unique]
    row = st.fixed_dictionaries(columns)
    size = table.rows if table.rows is not None else max_rows
    upper = min(max_rows, size)
    children = next((c for c in table.columns if c.children), None)
    if children is not None:
        return _children_rows(table, children, drawn, columns, unique)
    keyed = [_unique_key(name) for name in unique]
    return st.lists(row, min_size=min(min_rows, upper), max_size=upper, unique_by=tuple(keyed) if keyed else None)


def _unique_key(name: str) -> Any:
    # Nulls never collide (as in SQL): each gets a key of its own.
    return lambda row: (hashable(row[name]),) if row[name] is not None else (object(),)


def _children_rows(table: Table, column: Column, drawn: Mapping[str, List[Dict[str, Any]]], columns: Dict[str, Any], unique: List[str]) -> st.SearchStrategy[List[Dict[str, Any]]]:
    """Each parent gets between children[0] and children[1] rows (capped to stay small)."""
    parent_table, parent_column = column.parent  # type: ignore[misc]
    keys = [row[parent_column] for row in drawn[parent_table]]
    low, high = column.children  # type: ignore[misc]
    high = min(high, max(low, 5))
    others = {name: s for name, s in columns.items() if name != column.name}

    @st.composite
    def rows(draw: Any) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []
        seen: Dict[str, Set[Any]] = {name: set() for name in unique}
        for key in keys:
            for _ in range(draw(st.integers(low, high))):
                values = {}
                for name, strat in others.items():
                    if name in seen:
                        taken = seen[name]
                        value = draw(strat.filter(lambda v, taken=taken: v is None or hashable(v) not in taken))
                        if value is not None:
                            taken.add(hashable(value))
                    else:
                        value = draw(strat)
                    values[name] = value
                out.append({name: (key if name == column.name else values[name]) for name in [c.name for c in table.columns]})
        return out

    return rows()
