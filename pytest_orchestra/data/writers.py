"""Output formats for chunks of rows: CSV, JSON Lines, Parquet, SQLite.

A writer takes chunks as :mod:`dataset_plan` makes them and appends them to one
file per table (one database file for SQLite). CSV is formatted column-wise
in bulk: the common case never looks at single values in Python loops beyond
one ``str`` per value. Nulls are empty unquoted fields; empty strings are ``""``.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from .chunks import EPOCH, Chunk, to_python
from .formats import arrow_type, check_format, data_file, pyarrow_parquet
from .schema import Column, Schema, Table
from .sql import create_table_sql, sqlite_rows

_SPECIAL = (",", '"', "\n", "\r")
_LOOKUPS: Dict[Any, np.ndarray] = {}


def _times() -> np.ndarray:
    """"HH:MM:SS" for every second of a day."""
    if "times" not in _LOOKUPS:
        _LOOKUPS["times"] = np.array(
            [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)], dtype=object
        )
    return _LOOKUPS["times"]


def _fractions(scale: int) -> np.ndarray:
    """".00" ... ".99" (for scale 2): the fractional parts of a decimal column."""
    if scale not in _LOOKUPS:
        _LOOKUPS[scale] = np.array([f".{i:0{scale}d}" for i in range(10 ** scale)], dtype=object)
    return _LOOKUPS[scale]


def _decimals(values: np.ndarray, scale: int) -> List[str]:
    unit = 10 ** scale
    if scale > 5:
        return [f"{'-' if v < 0 else ''}{abs(v) // unit}.{abs(v) % unit:0{scale}d}" for v in values.tolist()]
    magnitude = np.abs(values)
    whole, part = np.divmod(magnitude, unit)
    texts = list(map(operator.add, map(str, whole.tolist()), _fractions(scale)[part].tolist()))
    if (values < 0).any():
        for i in np.flatnonzero(values < 0).tolist():
            texts[i] = "-" + texts[i]
    return texts


def _dates(ordinals: np.ndarray) -> List[str]:
    if not len(ordinals):
        return []
    low, high = int(ordinals.min()), int(ordinals.max())
    table = np.array([dt.date.fromordinal(o).isoformat() for o in range(low, high + 1)], dtype=object)
    texts: List[str] = table[ordinals - low].tolist()
    return texts


def text_values(column: Column, chunk: Chunk) -> List[str]:
    """Values as text (CSV, COPY): ISO dates, ``true``/``false``, exact decimals."""
    values = chunk.values
    kind = column.type
    if kind == "int":
        return list(map(str, values.tolist()))
    if kind == "float":
        return list(map(repr, values.tolist()))
    if kind == "decimal":
        scale = column.scale
        if scale == 0:
            return list(map(str, values.tolist()))
        return _decimals(values, scale)
    if kind == "bool":
        texts: List[str] = np.where(values, "true", "false").tolist()
        return texts
    if kind == "date":
        return _dates(values)
    if kind == "datetime":
        days, seconds = np.divmod(values, 86400)
        dates = _dates(days + EPOCH.toordinal())
        times = _times()[seconds].tolist()
        return list(map(operator.add, dates, map("T".__add__, times)))
    if kind == "choices":
        return [v if isinstance(v, str) else str(v) for v in values]
    return values if isinstance(values, list) else list(values)


def csv_fields(column: Column, chunk: Chunk) -> List[str]:
    fields = text_values(column, chunk)
    if column.type not in ("int", "float", "decimal", "bool", "date", "datetime"):
        joined = "\x00".join(fields)
        if any(c in joined for c in _SPECIAL) or "\x00\x00" in f"\x00{joined}\x00":
            fields = [_quote(v) for v in fields]
    if chunk.nulls is not None:
        for i in np.flatnonzero(chunk.nulls).tolist():
            fields[i] = ""
    return fields


def _quote(value: str) -> str:
    if value == "" or any(c in value for c in _SPECIAL):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(table: Table, chunk: Dict[str, Chunk]) -> str:
    columns = [csv_fields(c, chunk[c.name]) for c in table.columns]
    if not columns or not columns[0]:
        return ""
    return "\n".join(map(",".join, zip(*columns))) + "\n"


def json_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.type in ("decimal", "date", "datetime", "uuid"):
        return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
    return value


def jsonl_text(table: Table, chunk: Dict[str, Chunk]) -> str:
    """JSON Lines of a chunk: one object per row, keys in column order."""
    lists = [[json_value(c, v) for v in to_python(c, chunk[c.name])] for c in table.columns]
    names = table.column_names
    dumps = json.dumps
    return "".join(dumps(dict(zip(names, row)), ensure_ascii=False) + "\n" for row in zip(*lists))


class Writer:
    """Appends chunks of each table to its file under ``out_dir``."""

    def __init__(self, schema: Schema, out_dir: Path, fmt: str) -> None:
        check_format(fmt)
        self.schema = schema
        self.out_dir = Path(out_dir)
        self.format = fmt
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._files: Dict[str, Any] = {}
        self._connection: Optional[sqlite3.Connection] = None
        self.bytes_written = 0

    def path(self, table: str) -> Path:
        return data_file(self.out_dir, self.schema.name, table, self.format)

    def begin(self, table: Table) -> None:
        path = self.path(table.name)
        if self.format == "csv":
            handle = open(path, "w", encoding="utf-8", newline="")
            header = ",".join(table.column_names) + "\n"
            handle.write(header)
            self.bytes_written += len(header)
            self._files[table.name] = handle
        elif self.format == "jsonl":
            self._files[table.name] = open(path, "w", encoding="utf-8", newline="")
        elif self.format == "parquet":
            pq = pyarrow_parquet()
            self._files[table.name] = pq.ParquetWriter(str(path), arrow_schema(table))
        else:
            if self._connection is None:
                path.unlink(missing_ok=True)
                self._connection = sqlite3.connect(path)
                self._connection.execute("PRAGMA foreign_keys=ON")
                self._connection.execute("PRAGMA journal_mode=OFF")
                self._connection.execute("PRAGMA synchronous=OFF")
            self._connection.execute(create_table_sql(table, "sqlite"))

    def write(self, table: Table, chunk: Dict[str, Chunk]) -> None:
        if self.format == "csv":
            text = csv_text(table, chunk)
            self._files[table.name].write(text)
            self.bytes_written += len(text)
        elif self.format == "jsonl":
            text = jsonl_text(table, chunk)
            self._files[table.name].write(text)
            self.bytes_written += len(text)
        elif self.format == "parquet":
            batch = arrow_table(table, chunk)
            self._files[table.name].write_table(batch)
            self.bytes_written += batch.nbytes
        else:
            assert self._connection is not None
            rows = sqlite_rows(table, {c.name: to_python(c, chunk[c.name]) for c in table.columns})
            marks = ",".join("?" * len(table.columns))
            self._connection.executemany(f'INSERT INTO "{table.name}" VALUES ({marks})', rows)
            self.bytes_written += sum(len(str(v)) for v in rows[0]) * len(rows) if rows else 0

    def end(self, table: Table) -> None:
        handle = self._files.pop(table.name, None)
        if handle is not None:
            handle.close()
        elif self._connection is not None:
            self._connection.commit()

    def close(self) -> None:
        for name in list(self._files):
            self._files.pop(name).close()
        if self._connection is not None:
            self._connection.commit()
            self._connection.close()
            self._connection = None


def arrow_schema(table: Table) -> Any:
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c), nullable=True) for c in table.columns])


def arrow_table(table: Table, chunk: Dict[str, Chunk]) -> Any:
    import pyarrow as pa

    arrays = []
    for column in table.columns:
        part = chunk[column.name]
        mask = part.nulls
        kind = column.type
        if kind == "decimal":
            array = pa.array(to_python(column, part), type=arrow_type(column))
        elif kind == "date":
            array = pa.array(part.values - EPOCH.toordinal(), type=pa.int32(), mask=mask).cast(pa.date32())
        elif kind in ("int", "float", "bool", "datetime"):
            array = pa.array(part.values, mask=mask).cast(arrow_type(column))
        else:
            array = pa.array([str(v) for v in part.values], type=pa.string(), mask=mask)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=arrow_schema(table))
