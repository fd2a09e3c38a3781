"""Loading datasets into databases with foreign keys enforced: SQLite, and PostgreSQL via COPY.

``load(data, target)`` takes an in-memory dataset (or table -> rows with a
schema) or a folder of CSV files written by ``generate``, and a target: a
``sqlite3.Connection``, a SQLite file path (or ``sqlite:///path``), a
PostgreSQL DSN, or an environment as ``orchestra_env[name]`` gives it (its
``.dsn``: PostgreSQL, or ``sqlite:///...`` from the sqlite provider; an object
with only ``.path`` is read as a SQLite file). Tables are
created parents first with ``REFERENCES`` clauses, so the database itself
rejects an orphan.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .errors import DataError
from .formats import data_file, read_manifest
from .schema import Column, Schema, Table
from .schema_sources import SchemaSource, resolve
from .sql import create_table_sql, sqlite_rows, sqlite_value


def _text(column: Column, value: Any) -> str:
    """One CSV field for COPY: unquoted empty for null, everything else quoted if text."""
    if value is None:
        return ""
    kind = column.type
    if kind == "bool":
        return "true" if value else "false"
    if kind in ("date", "datetime"):
        iso: str = value.isoformat()
        return iso
    if kind in ("int", "float", "decimal"):
        return str(value)
    text: str = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False) if kind == "json" else str(value)
    return '"' + text.replace('"', '""') + '"'


def _dataset_rows(data: Any, schema: Optional[SchemaSource]) -> Tuple[Schema, Mapping[str, Sequence[Mapping[str, Any]]]]:
    if schema is None:
        schema = getattr(data, "schema", None)
        if schema is None:
            raise DataError("load: pass schema=... with a plain mapping of table -> rows")
    return resolve(schema), data


def load(
    data: Any,
    target: Any,
    *,
    schema: Optional[SchemaSource] = None,
) -> Dict[str, int]:
    """Create the tables (parents first, foreign keys declared) and load the rows; returns rows per table."""
    if isinstance(data, (str, Path)):
        return _load_csv_folder(Path(data), target, schema)
    resolved, tables = _dataset_rows(data, schema)
    counts: Dict[str, int] = {}
    with _transaction(target, resolved.name) as (dialect, connection):
        for table in resolved.tables:
            rows = tables.get(table.name, ())
            if dialect == "sqlite":
                connection.execute(create_table_sql(table, "sqlite"))
                columns = {c.name: [row.get(c.name) for row in rows] for c in table.columns}
                marks = ",".join("?" * len(table.columns))
                connection.executemany(f'INSERT INTO "{table.name}" VALUES ({marks})', sqlite_rows(table, columns))
            else:
                with connection.cursor() as cursor:
                    cursor.execute(create_table_sql(table, "postgres"))
                    text = "".join(",".join(_text(c, row.get(c.name)) for c in table.columns) + "\n" for row in rows)
                    _copy(cursor, table, text, header=False)
            counts[table.name] = len(rows)
    return counts


@contextmanager
def _transaction(target: Any, dataset: str) -> Iterator[Tuple[str, Any]]:
    """Connect, yield (dialect, connection), commit; integrity errors become one DataError."""
    dialect, connection, close = _connect(target)
    try:
        yield dialect, connection
        connection.commit()
    except sqlite3.IntegrityError as error:
        connection.rollback()
        raise DataError(f"{dataset}: loading into SQLite failed: {error}") from None
    except Exception as error:
        _raise_postgres(error, connection, dataset)
    finally:
        if close:
            connection.close()


def _raise_postgres(error: Exception, connection: Any, dataset: str) -> None:
    """A PostgreSQL error while loading as DataError (constraint names and all); others re-raised."""
    if type(error).__module__.startswith("psycopg"):
        connection.rollback()
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"{dataset}: loading into PostgreSQL failed: {first}") from None
    raise error


def _load_csv_folder(folder: Path, target: Any, schema: Optional[SchemaSource]) -> Dict[str, int]:
    if schema is None:
        schema = read_manifest(folder).schema
    resolved = resolve(schema)
    counts: Dict[str, int] = {}
    with _transaction(target, resolved.name) as (dialect, connection):
        for table in resolved.tables:
            path = data_file(folder, resolved.name, table.name, "csv")
            if not path.is_file():
                raise DataError(f"{resolved.name}.{table.name}: no file {path}")
            if dialect == "sqlite":
                import csv

                connection.execute(create_table_sql(table, "sqlite"))
                marks = ",".join("?" * len(table.columns))
                with open(path, newline="", encoding="utf-8") as handle:
                    reader = csv.reader(handle)
                    next(reader, None)
                    count = 0
                    for batch in _batches(reader, 10_000):
                        rows = [_typed_row(table, row, count + i + 1) for i, row in enumerate(batch)]
                        connection.executemany(f'INSERT INTO "{table.name}" VALUES ({marks})', rows)
                        count += len(rows)
                counts[table.name] = count
            else:
                with connection.cursor() as cursor:
                    cursor.execute(create_table_sql(table, "postgres"))
                    with open(path, "rb") as handle:
                        counts[table.name] = _copy(cursor, table, handle, header=True)
    return counts


def _typed_row(table: Table, fields: Sequence[str], number: int) -> Tuple[Any, ...]:
    """One CSV row as SQLite values; an empty field is null except in a non-nullable text column."""
    from .checks import BadValue, parse

    values: List[Any] = []
    for column, field in zip(table.columns, fields):
        if field == "" and not (column.type in ("str", "text") and not column.nullable):
            values.append(None)
            continue
        try:
            values.append(sqlite_value(column, parse(column, field)))
        except BadValue as bad:
            raise DataError(f"{table.name}, row {number}, column {column.name}: {bad.message}") from None
    return tuple(values)


def _batches(reader: Any, size: int) -> Any:
    batch: List[Any] = []
    for row in reader:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _copy(cursor: Any, table: Table, source: Any, *, header: bool) -> int:
    columns = ", ".join(f'"{c}"' for c in table.column_names)
    options = "FORMAT csv, HEADER true" if header else "FORMAT csv"
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN WITH ({options})') as copy:
        if isinstance(source, str):
            copy.write(source.encode("utf-8"))
        else:
            while True:
                block = source.read(1 << 20)
                if not block:
                    break
                copy.write(block)
    count: int = cursor.rowcount
    return count


def _connect(target: Any) -> Tuple[str, Any, bool]:
    """(dialect, connection, whether we opened it) for any accepted target."""
    if isinstance(target, sqlite3.Connection):
        target.execute("PRAGMA foreign_keys=ON")
        return "sqlite", target, False
    dsn = getattr(target, "dsn", None)
    path = getattr(target, "path", None)
    if isinstance(target, str) and (target.startswith(("postgres://", "postgresql://")) or "dbname=" in target or "host=" in target):
        dsn = target
    elif isinstance(target, (str, Path)):
        path = target
    if isinstance(dsn, str) and dsn.startswith("sqlite:"):
        # The environments' sqlite provider: dsn sqlite:///<file>, the file also in info["database"].
        info = getattr(target, "info", None) or {}
        path = info.get("database") or dsn[len("sqlite:///"):] if dsn.startswith("sqlite:///") else dsn[len("sqlite:"):]
        dsn = None
    if isinstance(path, str) and path.startswith("sqlite:"):
        path = path[len("sqlite:///"):] if path.startswith("sqlite:///") else path[len("sqlite:"):]
    if dsn:
        try:
            import psycopg
        except ImportError:
            raise DataError("loading into PostgreSQL needs psycopg: pip install 'psycopg[binary]'") from None
        try:
            return "postgres", psycopg.connect(dsn), True
        except psycopg.Error as error:
            raise DataError(f"cannot connect to PostgreSQL: {str(error).strip()}") from None
    if path is None:
        raise DataError(f"load: expected a sqlite3 connection, a SQLite path, a PostgreSQL DSN or an environment resource, got {type(target).__name__}")
    try:
        connection = sqlite3.connect(str(path))
    except sqlite3.Error as error:
        raise DataError(f"cannot open SQLite database {path}: {error}") from None
    connection.execute("PRAGMA foreign_keys=ON")
    return "sqlite", connection, True
