"""Reading a dataset's files for validation: a folder, one file, or a SQLite database, batch by batch.

:func:`file_readers` finds the file of each table (see ``formats``) and yields
(table, reader); a reader streams its file in batches of :data:`BATCH_ROWS`
rows into ``batch_checks`` and records the rows read. CSV goes through
pyarrow when the vectorized path is on and the file parses cleanly, else
through the csv module, which finds and names a malformed row. A file that is
truncated or corrupt is a violation; a path that cannot be read is a DataError.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .batch_checks import check_arrow_batch, check_values
from .errors import DataError
from .formats import FORMATS, SQLITE_SUFFIXES, TABLE_FORMATS, format_of, pyarrow_parquet
from .key_checks import KeyCollector
from .schema import Schema, Table
from .validation_report import ValidationReport

BATCH_ROWS = 50_000
ARROW_BLOCK = 4 << 20


def file_readers(path: Path, schema: Schema, fmt: Optional[str], only: Optional[Sequence[str]], report: ValidationReport) -> Iterator[Tuple[Table, Any]]:
    """(table, reader) for each table found at ``path``; a missing table is a violation, no data at all a DataError."""
    if not path.exists():
        raise DataError(f"cannot read {path}: no such file or directory")
    suffix = format_of(path, fmt)
    if path.is_file() and suffix in SQLITE_SUFFIXES:
        yield from _sqlite_readers(path, schema, only, report)
        return
    if path.is_file():
        table = schema.table(path.stem)
        yield table, _reader_for(path, suffix)
        return
    found = False
    for table in schema.tables:
        if only is not None and table.name not in only:
            continue
        candidates = [path / f"{table.name}.{ext}" for ext in ((fmt,) if fmt else TABLE_FORMATS)]
        existing = [p for p in candidates if p.exists()]
        if not existing:
            sqlite_files = sorted(path.glob("*.sqlite"))
            if sqlite_files and fmt in (None, "sqlite"):
                found = True
                yield from _sqlite_readers(sqlite_files[0], schema, only, report)
                return
            report.add("missing_table", table.name, None, None, f"no file {table.name}.{fmt or '|'.join(TABLE_FORMATS)} in {path}")
            continue
        found = True
        yield table, _reader_for(existing[0], existing[0].suffix.lstrip("."))
    if not found:
        raise DataError(f"cannot read {path}: no data files for dataset {schema.name} (expected <table>.csv, .jsonl, .parquet or a .sqlite file)")


def _reader_for(path: Path, suffix: str) -> Any:
    def read(table: Table, report: ValidationReport, keys: KeyCollector) -> None:
        try:
            if suffix == "csv":
                _read_csv(path, table, report, keys)
            elif suffix == "jsonl":
                _read_jsonl(path, table, report, keys)
            elif suffix == "parquet":
                _read_parquet(path, table, report, keys)
            else:
                raise DataError(f"cannot read {path}: unknown format {suffix!r} ({', '.join(FORMATS)})")
        except PermissionError as error:
            raise DataError(f"cannot read {path}: {error.strerror}") from None
        except IsADirectoryError:
            raise DataError(f"cannot read {path}: is a directory") from None

    return read


def _check_header(path: Path, table: Table, header: Sequence[str], report: ValidationReport) -> bool:
    if list(header) == list(table.column_names):
        return True
    missing = [c for c in table.column_names if c not in header]
    extra = [c for c in header if c not in table.column_names]
    parts = [f"expected {','.join(table.column_names)}", f"got {','.join(header) or '(empty)'}"]
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected {', '.join(extra)}")
    report.add("wrong_header", table.name, None, None, f"{path.name}: " + "; ".join(parts))
    return False


def _ends_cleanly(path: Path) -> bool:
    size = path.stat().st_size
    if size == 0:
        return True
    with open(path, "rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) == b"\n"


def _read_csv(path: Path, table: Table, report: ValidationReport, keys: KeyCollector) -> None:
    with open(path, "r", encoding="utf-8", errors="replace", newline="") as handle:
        header = next(csv.reader([handle.readline()]), [])
    if not header:
        report.add("truncated", table.name, None, None, f"{path.name} is empty (no header)")
        report.rows[table.name] = 0
        keys.broken.add(table.name)
        return
    _check_header(path, table, header, report)
    if not _ends_cleanly(path):
        report.add("truncated", table.name, None, None, f"{path.name} does not end with a newline: the last row may be cut off")
    if keys.vectorized and _read_csv_arrow(path, table, header, report, keys):
        return
    _read_csv_python(path, table, header, report, keys)


class _Undecodable(Exception):
    def __init__(self, line: int, error: UnicodeDecodeError) -> None:
        super().__init__(f"line {line} is not UTF-8 ({error.reason} at byte {error.start})")
        self.line = line


def _decoded_lines(handle: Any) -> Iterator[str]:
    for number, raw in enumerate(handle, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Undecodable(number, error) from None


def _read_csv_python(path: Path, table: Table, header: Sequence[str], report: ValidationReport, keys: KeyCollector) -> None:
    positions = {name: header.index(name) for name in table.column_names if name in header}
    width = len(header)
    rows = 0
    try:
        with open(path, "rb") as handle:
            reader = csv.reader(_decoded_lines(handle), strict=True)
            next(reader, None)
            while True:
                batch: List[List[str]] = []
                try:
                    for line in reader:
                        rows += 1
                        if len(line) != width:
                            report.add("truncated", table.name, rows, None, f"expected {width} fields, got {len(line)}")
                            line = (line + [""] * width)[:width]
                        batch.append(line)
                        if len(batch) >= BATCH_ROWS:
                            break
                except (csv.Error, _Undecodable) as error:
                    report.add("corrupt", table.name, rows + 1, None, f"{path.name}: unreadable row: {error}")
                    _check_csv_batch(table, positions, batch, rows - len(batch), report, keys)
                    break
                if not batch:
                    break
                _check_csv_batch(table, positions, batch, rows - len(batch), report, keys)
    finally:
        report.rows[table.name] = rows


def _check_csv_batch(table: Table, positions: Mapping[str, int], batch: List[List[str]], offset: int, report: ValidationReport, keys: KeyCollector) -> None:
    for column in table.columns:
        index = positions.get(column.name)
        if index is None:
            continue
        # The csv module drops the quotes of "": an empty field is null, except in a
        # non-nullable text column, where it can only be an empty string.
        keep_empty = column.type in ("str", "text") and not column.nullable
        values = [row[index] if keep_empty or row[index] != "" else None for row in batch]
        check_values(table, column, values, offset, report, keys)


def _read_jsonl(path: Path, table: Table, report: ValidationReport, keys: KeyCollector) -> None:
    rows: List[Dict[str, Any]] = []
    number = 0
    names = set(table.column_names)
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
            except ValueError as error:
                kind = "truncated" if not line.endswith("\n") else "corrupt"
                report.add(kind, table.name, number, None, f"{path.name}: invalid JSON line: {error}")
                row = {}
            else:
                missing = [c for c in table.column_names if c not in row]
                extra = [c for c in row if c not in names]
                if missing or extra:
                    report.add("wrong_header", table.name, number, None,
                               "; ".join(p for p in (f"missing {', '.join(missing)}" if missing else "",
                                                     f"unexpected {', '.join(extra)}" if extra else "") if p))
            rows.append(row)
            if len(rows) >= BATCH_ROWS:
                _check_jsonl_batch(table, rows, number - len(rows), report, keys)
                rows = []
    _check_jsonl_batch(table, rows, number - len(rows), report, keys)
    report.rows[table.name] = number


def _check_jsonl_batch(table: Table, rows: List[Dict[str, Any]], offset: int, report: ValidationReport, keys: KeyCollector) -> None:
    for column in table.columns:
        check_values(table, column, [row.get(column.name) for row in rows], offset, report, keys)


def _read_parquet(path: Path, table: Table, report: ValidationReport, keys: KeyCollector) -> None:
    pq = pyarrow_parquet()
    import pyarrow as pa

    try:
        parquet = pq.ParquetFile(str(path))
        header = parquet.schema_arrow.names
    except (pa.ArrowException, OSError) as error:
        report.add("corrupt", table.name, None, None, f"{path.name} is not a readable Parquet file: {error}")
        report.rows[table.name] = 0
        keys.broken.add(table.name)
        return
    _check_header(path, table, header, report)
    rows = 0
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            check_arrow_batch(table, batch, rows, report, keys)
            rows += batch.num_rows
    except (pa.ArrowException, OSError) as error:
        report.add("corrupt", table.name, rows + 1, None, f"{path.name}: unreadable data after row {rows}: {error}")
    report.rows[table.name] = rows


def _sqlite_readers(path: Path, schema: Schema, only: Optional[Sequence[str]], report: ValidationReport) -> Iterator[Tuple[Table, Any]]:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        existing = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as error:
        if not _readable(path):
            raise DataError(f"cannot read {path}: permission denied") from None
        report.add("corrupt", None, None, None, f"{path.name} is not a readable SQLite database: {error}")
        return
    try:
        for table in schema.tables:
            if only is not None and table.name not in only:
                continue
            if table.name not in existing:
                report.add("missing_table", table.name, None, None, f"no table {table.name} in {path.name}")
                continue

            def read(table: Table, report: ValidationReport, keys: KeyCollector) -> None:
                header = [row[1] for row in connection.execute(f'PRAGMA table_info("{table.name}")')]
                _check_header(path, table, header, report)
                present = [c for c in table.column_names if c in header]
                columns = ", ".join(f'"{c}"' for c in present)
                rows = 0
                try:
                    cursor = connection.execute(f'SELECT {columns} FROM "{table.name}" ORDER BY rowid')
                    while True:
                        batch = cursor.fetchmany(BATCH_ROWS)
                        if not batch:
                            break
                        for index, name in enumerate(present):
                            check_values(table, table.column(name), [row[index] for row in batch], rows, report, keys)
                        rows += len(batch)
                except sqlite3.DatabaseError as error:
                    report.add("corrupt", table.name, rows + 1, None, f"{path.name}: unreadable rows: {error}")
                report.rows[table.name] = rows

            yield table, read
    finally:
        connection.close()


def _readable(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def _read_csv_arrow(path: Path, table: Table, header: Sequence[str], report: ValidationReport, keys: KeyCollector) -> bool:
    """Check a CSV file with pyarrow; False (nothing recorded) when the python reader must redo it."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    checkpoint = (len(report.violations), {k: len(v) for k, v in keys.parts.items()})
    rows = 0
    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(block_size=ARROW_BLOCK, use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
            ),
        )
        for batch in reader:
            check_arrow_batch(table, batch, rows, report, keys)
            rows += batch.num_rows
    except (pa.ArrowException, OSError, UnicodeDecodeError):
        # A malformed row: let the csv module find and name it.
        del report.violations[checkpoint[0]:]
        for key in list(keys.parts):
            keys.parts[key] = keys.parts[key][: checkpoint[1].get(key, 0)]
        return False
    report.rows[table.name] = rows
    return True

