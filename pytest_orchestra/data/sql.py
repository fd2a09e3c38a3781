"""SQL of a dataset's tables: ``CREATE TABLE`` per dialect, and values as SQLite stores them.

Shared by the SQLite output format (``writers``) and loading into SQLite or
PostgreSQL (``loading``): tables declare ``NOT NULL``, ``UNIQUE`` and
``REFERENCES`` clauses, so the database itself rejects an orphan.
"""

from __future__ import annotations

import json
from typing import Any, List, Mapping, Sequence, Tuple

from .schema import Column, Table

SQL_TYPES = {
    "sqlite": {"int": "INTEGER", "float": "REAL", "bool": "INTEGER"},
    "postgres": {
        "int": "BIGINT", "float": "DOUBLE PRECISION", "bool": "BOOLEAN", "date": "DATE",
        "datetime": "TIMESTAMP", "uuid": "UUID", "json": "JSONB",
    },
}


def _sql_type(column: Column, dialect: str) -> str:
    if column.type == "decimal" and dialect == "postgres":
        return f"NUMERIC(38, {column.scale})"
    return SQL_TYPES[dialect].get(column.type, "TEXT")


def create_table_sql(table: Table, dialect: str) -> str:
    parts = []
    for column in table.columns:
        text = f'"{column.name}" {_sql_type(column, dialect)}'
        if not column.nullable:
            text += " NOT NULL"
        if column.unique:
            text += " UNIQUE"
        if column.foreign_key:
            parent, key = column.parent  # type: ignore[misc]
            text += f' REFERENCES "{parent}" ("{key}")'
        parts.append(text)
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" ({", ".join(parts)})'


def sqlite_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if kind == "bool":
        return int(value)
    if kind in ("decimal", "uuid"):
        return str(value)
    if kind in ("date", "datetime"):
        return value.isoformat()
    if kind == "json":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return value


def sqlite_rows(table: Table, columns: Mapping[str, Sequence[Any]]) -> List[Tuple[Any, ...]]:
    converted = [[sqlite_value(c, v) for v in columns[c.name]] for c in table.columns]
    return list(zip(*converted))
