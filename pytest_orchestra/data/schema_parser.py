"""Parsing a schema: the YAML/dict shape (or model objects) into a checked :class:`Schema`.

``{"tables": {name: {"rows": n, "columns": {name: {...}}}}, "profiles": {...}}``:
every key, type, bound, length, regex and foreign key is checked here, with the
key path of a mistake in its :class:`DataError`; tables come out parents first.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, List, Mapping, Sequence, Set, Tuple, Union

from .errors import DataError
from .schema import TYPES, Column, Profile, Schema, Table, non_negative

COLUMN_KEYS = (
    "type", "nullable", "null_rate", "unique", "min", "max", "length", "regex",
    "foreign_key", "children", "choices", "scale",
)

ColumnLike = Union[Column, Mapping[str, Any], str]


def parse_column(raw: ColumnLike, where: str, name: str = "") -> Column:
    """A column from a dict (``{type: int, unique: true}``), a bare type name, or a Column."""
    if isinstance(raw, Column):
        column = replace(raw, name=name or raw.name)
        raw = column.to_dict()
    elif isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, Mapping):
        raise DataError(f"{where}: expected a column mapping like {{type: int}}, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - set(COLUMN_KEYS))
    if unknown:
        raise DataError(f"{where}: unknown column key {unknown[0]!r} (allowed: {', '.join(COLUMN_KEYS)})")
    kind = raw.get("type")
    if kind not in TYPES:
        raise DataError(f"{where}: type must be one of {', '.join(TYPES)}, got {kind!r}")
    values: Dict[str, Any] = {"type": kind, "name": name}
    for key in ("nullable", "unique"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise DataError(f"{where}.{key}: expected true or false, got {raw[key]!r}")
            values[key] = raw[key]
    if "null_rate" in raw:
        rate = raw["null_rate"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise DataError(f"{where}.null_rate: expected a number between 0 and 1, got {rate!r}")
        values["null_rate"] = float(rate)
    for key in ("min", "max"):
        if raw.get(key) is not None:
            values[key] = _bound(kind, raw[key], f"{where}.{key}")
    if "min" in values and "max" in values and values["min"] > values["max"]:
        raise DataError(f"{where}: min {raw['min']!r} is greater than max {raw['max']!r}")
    if raw.get("length") is not None:
        values["length"] = _length(raw["length"], f"{where}.length")
    if raw.get("regex") is not None:
        values["regex"] = _regex(raw["regex"], f"{where}.regex")
    if raw.get("foreign_key") is not None:
        fk = raw["foreign_key"]
        if not isinstance(fk, str) or not re.fullmatch(r"[A-Za-z_][\w]*\.[A-Za-z_][\w]*", fk):
            raise DataError(f"{where}.foreign_key: expected 'table.column', got {fk!r}")
        values["foreign_key"] = fk
    if raw.get("children") is not None:
        if "foreign_key" not in values:
            raise DataError(f"{where}.children: only a foreign key column can set children per parent")
        values["children"] = _length(raw["children"], f"{where}.children")
    if kind == "choices":
        choices = raw.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            raise DataError(f"{where}.choices: a choices column needs a non-empty list of choices")
        if len(set(map(str, choices))) != len(choices):
            raise DataError(f"{where}.choices: choices must be distinct")
        values["choices"] = tuple(choices)
    elif raw.get("choices") is not None:
        raise DataError(f"{where}.choices: only a column of type choices takes choices")
    if raw.get("scale") is not None:
        scale = raw["scale"]
        if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 9:
            raise DataError(f"{where}.scale: expected an integer between 0 and 9, got {scale!r}")
        values["scale"] = scale
    return Column(**values)


def _bound(kind: str, value: Any, where: str) -> Any:
    try:
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError
            return float(value)
        if kind == "decimal":
            if isinstance(value, bool):
                raise ValueError
            return Decimal(str(value))
        if kind == "date":
            return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value))
        if kind == "datetime":
            if isinstance(value, dt.datetime):
                return value
            if isinstance(value, dt.date):
                return dt.datetime(value.year, value.month, value.day)
            return dt.datetime.fromisoformat(str(value))
    except (ValueError, TypeError, InvalidOperation):
        raise DataError(f"{where}: expected a {kind} value as bound, got {value!r}") from None
    raise DataError(f"{where}: a {kind} column takes no min/max")


def _length(value: Any, where: str) -> Tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        pair: Sequence[Any] = (0, value) if where.endswith("length") else (value, value)
    elif isinstance(value, Mapping):
        pair = (value.get("min", 0), value.get("max"))
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        pair = value
    else:
        raise DataError(f"{where}: expected an integer, [min, max] or {{min, max}}, got {value!r}")
    low, high = pair
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in (low, high)) or low > high:
        raise DataError(f"{where}: expected 0 <= min <= max integers, got {value!r}")
    return int(low), int(high)


def _regex(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"{where}: expected a regular expression, got {value!r}")
    try:
        re.compile(value)
    except re.error as error:
        raise DataError(f"{where}: invalid regular expression: {error}") from None
    return value


def parse_schema(raw: Union["Schema", Mapping[str, Any]], name: str = "dataset") -> Schema:
    """A checked schema from a dict (the YAML shape) or a Schema; raises DataError."""
    if isinstance(raw, Schema):
        raw_tables: Any = {t.name: t for t in raw.tables}
        profiles_raw: Any = raw.profiles
        name = raw.name if name == "dataset" else name
    elif isinstance(raw, Mapping):
        unknown = sorted(set(map(str, raw)) - {"tables", "profiles", "seed", "description"})
        if unknown:
            raise DataError(f"{name}: unknown key {unknown[0]!r} (allowed: tables, profiles, seed, description)")
        raw_tables = raw.get("tables")
        profiles_raw = raw.get("profiles") or {}
    else:
        raise DataError(f"{name}: expected a schema mapping, a Schema or a dataset name, got {type(raw).__name__}")
    if not isinstance(raw_tables, Mapping) or not raw_tables:
        raise DataError(f"{name}.tables: a dataset needs at least one table")
    tables: Dict[str, Table] = {}
    for table_name, table_raw in raw_tables.items():
        tables[str(table_name)] = _parse_table(table_raw, f"{name}.{table_name}", str(table_name))
    _check_references(tables, name)
    profiles = {str(k): _parse_profile(v, f"{name}.profiles.{k}", str(k), tables) for k, v in profiles_raw.items()}
    return Schema(tables=tuple(_parents_first(tables, name)), name=name, profiles=profiles)


def _parse_table(raw: Any, where: str, name: str) -> Table:
    if isinstance(raw, Table):
        return Table(columns=tuple(parse_column(c, f"{where}.{c.name}", c.name) for c in raw.columns), rows=raw.rows, name=name)
    if not isinstance(raw, Mapping):
        raise DataError(f"{where}: expected a table mapping with columns, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - {"rows", "columns"})
    if unknown:
        raise DataError(f"{where}: unknown table key {unknown[0]!r} (allowed: rows, columns)")
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, Mapping) or not columns_raw:
        raise DataError(f"{where}.columns: a table needs at least one column")
    rows = raw.get("rows")
    if rows is not None:
        rows = non_negative(rows, f"{where}.rows")
    columns = tuple(parse_column(c, f"{where}.{n}", str(n)) for n, c in columns_raw.items())
    return Table(columns=columns, rows=rows, name=name)


def _parse_profile(raw: Any, where: str, name: str, tables: Mapping[str, Table]) -> Profile:
    if isinstance(raw, Profile):
        return replace(raw, name=name)
    if not isinstance(raw, Mapping):
        raise DataError(f"{where}: expected a mapping with rows, scale or edge, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - {"rows", "scale", "edge"})
    if unknown:
        raise DataError(f"{where}: unknown profile key {unknown[0]!r} (allowed: edge, rows, scale)")
    rows = dict(raw.get("rows") or {})
    for table, count in rows.items():
        if table not in tables:
            raise DataError(f"{where}.rows: unknown table {table!r} (tables: {', '.join(tables)})")
        non_negative(count, f"{where}.rows.{table}")
    scale = raw.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 0:
        raise DataError(f"{where}.scale: expected a number >= 0, got {scale!r}")
    edge = raw.get("edge", name == "edge")
    if not isinstance(edge, bool):
        raise DataError(f"{where}.edge: expected true or false, got {edge!r}")
    return Profile(name=name, rows=rows, scale=float(scale), edge=edge)


def _check_references(tables: Mapping[str, Table], name: str) -> None:
    for table in tables.values():
        for column in table.foreign_keys:
            where = f"{name}.{table.name}.{column.name}"
            parent_table, parent_column = column.parent  # type: ignore[misc]
            if parent_table not in tables:
                raise DataError(f"{where}: foreign key {column.foreign_key!r} names an unknown table (tables: {', '.join(tables)})")
            if parent_table == table.name:
                raise DataError(f"{where}: foreign key {column.foreign_key!r} points at its own table (not supported)")
            parent = tables[parent_table]
            if parent_column not in parent.column_names:
                raise DataError(f"{where}: foreign key {column.foreign_key!r} names an unknown column (columns of {parent_table}: {', '.join(parent.column_names)})")
            target = parent.column(parent_column)
            if not target.unique:
                raise DataError(f"{where}: foreign key {column.foreign_key!r} must point at a unique column")
            if target.type != column.type:
                raise DataError(f"{where}: type {column.type} differs from {column.foreign_key} ({target.type})")
            if column.unique:
                raise DataError(f"{where}: a foreign key column cannot also be unique (one-to-one is not supported)")
        if sum(1 for c in table.columns if c.children) > 1:
            raise DataError(f"{name}.{table.name}: only one foreign key per table can set children")


def _parents_first(tables: Mapping[str, Table], name: str) -> List[Table]:
    """Tables in dependency order, keeping the declared order where free (stable)."""
    ordered: List[Table] = []
    placed: Set[str] = set()
    pending = list(tables.values())
    while pending:
        for table in pending:
            needs = {c.parent[0] for c in table.foreign_keys if c.parent}
            if needs <= placed:
                ordered.append(table)
                placed.add(table.name)
                pending.remove(table)
                break
        else:
            cycle = ", ".join(t.name for t in pending)
            raise DataError(f"{name}: foreign keys form a cycle between tables {cycle}")
    return ordered
