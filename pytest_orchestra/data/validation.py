"""``validate(path_or_dataset, schema)``: every violation, with table, row and column.

Sources: an in-memory dataset (table -> rows), a folder of ``<table>.csv`` /
``.jsonl`` / ``.parquet`` files, one such file, or a SQLite database. Values
are checked column by column in batches: with pyarrow installed, a batch is
converted and range-checked vectorized, and only a batch with a problem is
re-checked value by value (``checks``) to name the rows; without pyarrow every
value goes through ``checks``. Foreign keys are checked batch by batch against
the parent's keys (tables are read parents first); unique columns are checked
over the whole column at the end. A path that cannot be read raises one :class:`DataError`;
a file that is truncated or corrupt is a violation like any other.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from .checks import BadValue, KeyIndex, Violation, check_value, hashable
from .errors import DataError
from .sampling import Dataset
from .schema import Column, Schema, SchemaSource, Table, resolve

BATCH_ROWS = 50_000
ARROW_BLOCK = 4 << 20

try:  # pragma: no cover - the import itself
    import pyarrow as _pa  # noqa: F401

    HAVE_ARROW = True
except ImportError:  # pragma: no cover - exercised on installs without pyarrow
    HAVE_ARROW = False


@dataclass
class ValidationReport:
    """Every violation found (up to ``limit``), and rows read per table."""

    dataset: str
    violations: List[Violation] = field(default_factory=list)
    rows: Dict[str, int] = field(default_factory=dict)
    limit: Optional[int] = None
    dropped: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations and not self.dropped

    def add(self, kind: str, table: Optional[str], row: Optional[int], column: Optional[str], message: str) -> None:
        if self.limit is not None and len(self.violations) >= self.limit:
            self.dropped += 1
            return
        self.violations.append(Violation(kind, table, row, column, message))

    def by_kind(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for violation in self.violations:
            counts[violation.kind] = counts.get(violation.kind, 0) + 1
        return counts

    def summary(self) -> str:
        total = sum(self.rows.values())
        if self.ok:
            return f"{self.dataset}: {total} rows in {len(self.rows)} tables, no violations"
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.by_kind().items()))
        more = f" (+{self.dropped} not kept)" if self.dropped else ""
        return f"{self.dataset}: {len(self.violations)} violation(s){more}: {kinds}"

    def first(self) -> str:
        """A one-line message naming the first violation (for failing a test in setup)."""
        if not self.violations:
            return self.summary()
        return f"dataset {self.dataset}: {self.violations[0]}"

    def as_dict(self) -> Dict[str, Any]:
        return {
            "dataset": self.dataset, "ok": self.ok, "rows": dict(self.rows),
            "violations": [v.as_dict() for v in self.violations], "dropped": self.dropped,
        }


class _Collector:
    """Key columns, batch by batch; foreign keys are checked as their batches arrive.

    Tables are read parents first, so a child batch meets complete parent keys:
    its foreign keys are checked at once and never kept. Ascending runs of a
    unique integer column (the usual ids) are kept as ranges, so validating
    gigabytes holds little more than the non-integer unique values.
    """

    def __init__(self, schema: Schema, report: "ValidationReport", *, every_column: bool = False) -> None:
        self.report = report
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
        self.done: set = set()
        self.broken: set = set()
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
        parent = self._parents.get(column.parent)  # type: ignore[arg-type]
        if parent is None:
            parent = self._parents[column.parent] = _ParentKeys(self.parts.get(column.parent, []))  # type: ignore[index]
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

    def __init__(self, parts: List[Tuple[str, Any]]) -> None:
        self.ranges = [values for kind, values in parts if kind == "range"]
        self.arrow = [values for kind, values in parts if kind == "arrow"]
        rest = [values for kind, values in parts if kind == "py"]
        self.python = {hashable(v) for values in rest for v in values if v is not None}
        self._python_set: Optional[set] = None
        self._arrow_set: Any = None

    def orphans(self, kind: str, values: Any) -> List[Tuple[int, Any]]:
        if kind == "arrow" and not self.python and HAVE_ARROW:
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


def validate(
    source: Any,
    schema: Optional[SchemaSource] = None,
    *,
    format: Optional[str] = None,
    limit: Optional[int] = None,
    tables: Optional[Sequence[str]] = None,
) -> ValidationReport:
    """Check data against a schema; ``schema`` defaults to a Dataset's own or a folder's manifest."""
    _must_exist(source)
    if schema is None:
        schema = getattr(source, "schema", None)
        if schema is None and isinstance(source, (str, Path)):
            from .bulk import read_manifest

            schema = read_manifest(Path(source) if Path(source).is_dir() else Path(source).parent).schema
        if schema is None:
            raise DataError("validate: pass the schema (a dataset name, dict or Schema)")
    resolved = resolve(schema)
    report, _ = _run(source, resolved, format=format, limit=limit, tables=tables, every_column=False)
    return report


def read(source: Union[str, Path], schema: Optional[SchemaSource] = None, *, format: Optional[str] = None, check: bool = True) -> Dataset:
    """Files (as ``validate`` takes them) as an in-memory Dataset of typed rows.

    With ``check`` (the default) data with any violation raises DataError
    naming the first one, so a test never runs on corrupt data.
    """
    _must_exist(source)
    if schema is None:
        from .bulk import read_manifest

        path = Path(source)
        schema = read_manifest(path if path.is_dir() else path.parent).schema
    resolved = resolve(schema)
    report, keys = _run(source, resolved, format=format, limit=None, tables=None, every_column=True)
    if check and not report.ok:
        raise DataError(report.first())
    tables: Dict[str, List[Dict[str, Any]]] = {}
    for table in resolved.tables:
        if table.name not in report.rows:
            continue
        columns = {c.name: _key_index(keys.parts.get((table.name, c.name), [])).values for c in table.columns}
        count = report.rows[table.name]
        names = table.column_names
        lists = [columns[n] if len(columns[n]) == count else [None] * count for n in names]
        tables[table.name] = [dict(zip(names, row)) for row in zip(*lists)]
    dataset = Dataset(resolved, tables)
    dataset.report = report  # type: ignore[attr-defined]
    return dataset


def _must_exist(source: Any) -> None:
    if isinstance(source, (str, Path)) and not Path(source).exists():
        raise DataError(f"cannot read {source}: no such file or directory")


def _run(source: Any, resolved: Schema, *, format: Optional[str], limit: Optional[int], tables: Optional[Sequence[str]], every_column: bool) -> Tuple[ValidationReport, _Collector]:
    report = ValidationReport(resolved.name, limit=limit)
    keys = _Collector(resolved, report, every_column=every_column)
    present: List[str] = []
    if isinstance(source, (str, Path)):
        for table, reader in _file_readers(Path(source), resolved, format, tables, report):
            present.append(table.name)
            reader(table, report, keys)
            keys.done.add(table.name)
    elif isinstance(source, Mapping):
        for table in resolved.tables:
            if tables is not None and table.name not in tables:
                continue
            rows = source.get(table.name)
            if rows is None:
                report.add("missing_table", table.name, None, None, "table is missing from the dataset")
                continue
            present.append(table.name)
            _check_rows(table, rows, report, keys)
            keys.done.add(table.name)
    else:
        raise DataError(f"validate: expected a path or a dataset mapping, got {type(source).__name__}")
    _check_keys(resolved, present, keys, report)
    return report, keys


# --- row sources ------------------------------------------------------------------


def _check_rows(table: Table, rows: Sequence[Mapping[str, Any]], report: ValidationReport, keys: _Collector) -> None:
    names = set(table.column_names)
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            report.add("wrong_type", table.name, number, None, f"expected a row mapping, got {type(row).__name__}")
            continue
        missing = [c for c in table.column_names if c not in row]
        extra = [str(c) for c in row if c not in names]
        if missing or extra:
            text = "; ".join(part for part in (
                f"missing {', '.join(missing)}" if missing else "", f"unexpected {', '.join(extra)}" if extra else "") if part)
            report.add("wrong_header", table.name, number, None, text)
    columns = {c.name: [row.get(c.name) if isinstance(row, Mapping) else None for row in rows] for c in table.columns}
    for column in table.columns:
        _check_python(table, column, columns[column.name], 0, report, keys)
    report.rows[table.name] = len(rows)


def _check_python(table: Table, column: Column, values: Sequence[Any], offset: int, report: ValidationReport, keys: _Collector) -> None:
    typed: List[Any] = []
    append = typed.append
    for number, value in enumerate(values, offset + 1):
        try:
            append(check_value(column, value))
        except BadValue as bad:
            report.add(bad.kind, table.name, number, column.name, bad.message)
            append(None)
    keys.add(table.name, column.name, "py", typed, offset)


def _file_readers(path: Path, schema: Schema, fmt: Optional[str], only: Optional[Sequence[str]], report: ValidationReport) -> Iterator[Tuple[Table, Any]]:
    if not path.exists():
        raise DataError(f"cannot read {path}: no such file or directory")
    suffix = (fmt or "").lower() or path.suffix.lower().lstrip(".")
    if path.is_file() and suffix in ("sqlite", "db", "sqlite3"):
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
        candidates = [path / f"{table.name}.{ext}" for ext in ((fmt,) if fmt else ("csv", "jsonl", "parquet"))]
        existing = [p for p in candidates if p.exists()]
        if not existing:
            sqlite_files = sorted(path.glob("*.sqlite"))
            if sqlite_files and fmt in (None, "sqlite"):
                found = True
                yield from _sqlite_readers(sqlite_files[0], schema, only, report)
                return
            report.add("missing_table", table.name, None, None, f"no file {table.name}.{fmt or 'csv|jsonl|parquet'} in {path}")
            continue
        found = True
        yield table, _reader_for(existing[0], existing[0].suffix.lstrip("."))
    if not found:
        raise DataError(f"cannot read {path}: no data files for dataset {schema.name} (expected <table>.csv, .jsonl, .parquet or a .sqlite file)")


def _reader_for(path: Path, suffix: str) -> Any:
    def read(table: Table, report: ValidationReport, keys: _Collector) -> None:
        try:
            if suffix == "csv":
                _read_csv(path, table, report, keys)
            elif suffix == "jsonl":
                _read_jsonl(path, table, report, keys)
            elif suffix == "parquet":
                _read_parquet(path, table, report, keys)
            else:
                raise DataError(f"cannot read {path}: unknown format {suffix!r} (csv, jsonl, parquet, sqlite)")
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


def _read_csv(path: Path, table: Table, report: ValidationReport, keys: _Collector) -> None:
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
    if HAVE_ARROW and _read_csv_arrow(path, table, header, report, keys):
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


def _read_csv_python(path: Path, table: Table, header: Sequence[str], report: ValidationReport, keys: _Collector) -> None:
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


def _check_csv_batch(table: Table, positions: Mapping[str, int], batch: List[List[str]], offset: int, report: ValidationReport, keys: _Collector) -> None:
    for column in table.columns:
        index = positions.get(column.name)
        if index is None:
            continue
        # The csv module drops the quotes of "": an empty field is null, except in a
        # non-nullable text column, where it can only be an empty string.
        keep_empty = column.type in ("str", "text") and not column.nullable
        values = [row[index] if keep_empty or row[index] != "" else None for row in batch]
        _check_python(table, column, values, offset, report, keys)


def _read_jsonl(path: Path, table: Table, report: ValidationReport, keys: _Collector) -> None:
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


def _check_jsonl_batch(table: Table, rows: List[Dict[str, Any]], offset: int, report: ValidationReport, keys: _Collector) -> None:
    for column in table.columns:
        _check_python(table, column, [row.get(column.name) for row in rows], offset, report, keys)


def _read_parquet(path: Path, table: Table, report: ValidationReport, keys: _Collector) -> None:
    from .writers import _pyarrow_parquet

    pq = _pyarrow_parquet()
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
            _check_arrow_batch(table, batch, rows, report, keys)
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

            def read(table: Table, report: ValidationReport, keys: _Collector) -> None:
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
                            _check_python(table, table.column(name), [row[index] for row in batch], rows, report, keys)
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


# --- vectorized path (pyarrow) ---------------------------------------------------


def _read_csv_arrow(path: Path, table: Table, header: Sequence[str], report: ValidationReport, keys: _Collector) -> bool:
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
            _check_arrow_batch(table, batch, rows, report, keys)
            rows += batch.num_rows
    except (pa.ArrowException, OSError, UnicodeDecodeError):
        # A malformed row: let the csv module find and name it.
        del report.violations[checkpoint[0]:]
        for key in list(keys.parts):
            keys.parts[key] = keys.parts[key][: checkpoint[1].get(key, 0)]
        return False
    report.rows[table.name] = rows
    return True


def _arrow_target(column: Column) -> Any:
    from .writers import arrow_type

    return arrow_type(column)


def _check_arrow_batch(table: Table, batch: Any, offset: int, report: ValidationReport, keys: _Collector) -> None:
    names = batch.schema.names
    for column in table.columns:
        if column.name not in names:
            continue
        array = batch.column(names.index(column.name))
        converted = _arrow_fast(column, array)
        if converted is None:
            values = array.to_pylist()
            _check_python(table, column, values, offset, report, keys)
        else:
            keys.add(table.name, column.name, "arrow", converted, offset)


def _arrow_fast(column: Column, array: Any) -> Any:
    """The converted array when every value passes; None when some value needs a closer look."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.type in ("json",) or (column.regex is not None) or (column.type == "decimal" and pa.types.is_floating(array.type)):
        return None
    if array.null_count and not column.nullable:
        return None
    target = _arrow_target(column)
    try:
        if column.type == "choices":
            if not pa.types.is_string(array.type):
                return None
            allowed = pa.array([str(c) for c in column.choices])
            if not pc.all(pc.is_in(array.drop_null(), value_set=allowed)).as_py() in (True, None):
                return None
            return None if any(not isinstance(c, str) for c in column.choices) else array
        if column.type == "bool" and pa.types.is_string(array.type):
            lowered = pc.utf8_lower(array)
            if not pc.all(pc.is_in(lowered.drop_null(), value_set=pa.array(sorted(_BOOL_TEXT)))).as_py() in (True, None):
                return None
            return _bool_array(lowered, array)
        if column.type == "bool" and not pa.types.is_boolean(array.type):
            return None
        if column.type == "date" and pa.types.is_string(array.type):
            if not pc.all(pc.match_substring_regex(array.drop_null(), r"^\d{4}-\d{2}-\d{2}$")).as_py() in (True, None):
                return None
        if column.type == "datetime" and pa.types.is_string(array.type):
            if not pc.all(pc.match_substring_regex(array.drop_null(), r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$")).as_py() in (True, None):
                return None
        converted = array if array.type == target else pc.cast(array, target)
    except (pa.ArrowException, ValueError):
        return None
    if target == pa.string():
        if column.type == "uuid":
            pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
        elif column.type == "email":
            pattern = r"^[^@\s]+@[^@\s]+$"
        else:
            pattern = None
        values = converted.drop_null()
        if pattern is not None and len(values) and not pc.all(pc.match_substring_regex(values, pattern)).as_py():
            return None
        if column.length is not None and len(values):
            lengths = pc.min_max(pc.utf8_length(values)).as_py()
            if lengths["min"] < column.length[0] or lengths["max"] > column.length[1]:
                return None
        if column.type == "uuid":
            return pc.utf8_lower(converted)
        return converted
    if column.min is not None or column.max is not None:
        bounds = pc.min_max(converted).as_py()
        if bounds["min"] is not None:
            if column.min is not None and bounds["min"] < column.min:
                return None
            if column.max is not None and bounds["max"] > column.max:
                return None
    return converted


_TRUE_TEXT = {"true", "1", "t", "yes"}
_BOOL_TEXT = _TRUE_TEXT | {"false", "0", "f", "no"}


def _bool_array(lowered: Any, original: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    truth = pc.is_in(lowered, value_set=pa.array(sorted(_TRUE_TEXT)))
    return pc.if_else(pc.is_null(original), pa.scalar(None, pa.bool_()), truth)


# --- keys ---------------------------------------------------------------------


def _key_index(parts: List[Tuple[str, Any]]) -> KeyIndex:
    index = KeyIndex()
    for kind, values in parts:
        if kind == "range":
            index.extend(range(values[0], values[1] + 1))
        else:
            index.extend(values.to_pylist() if kind == "arrow" else values)
    return index


def _check_keys(schema: Schema, present: Sequence[str], keys: _Collector, report: ValidationReport) -> None:
    """Duplicates of unique columns (foreign keys were checked batch by batch)."""
    for table in schema.tables:
        if table.name not in present:
            continue
        for column in table.columns:
            parts = keys.parts.get((table.name, column.name), [])
            if column.unique and parts and _may_have_duplicates(parts):
                for row, value, first in _key_index(parts).duplicates():
                    report.add("duplicate", table.name, row, column.name, f"duplicate value {value!r} (first in row {first})")


def _may_have_duplicates(parts: List[Tuple[str, Any]]) -> bool:
    """False when cheap checks prove all values distinct; True sends the column to the exact check."""
    if any(kind == "py" for kind, _ in parts) or not HAVE_ARROW:
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
