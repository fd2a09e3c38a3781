"""``validate(path_or_dataset, schema)``: every violation, with table, row and column; ``read``: files as a Dataset.

Sources: an in-memory dataset (table -> rows), a folder of ``<table>.csv`` /
``.jsonl`` / ``.parquet`` files, one such file, or a SQLite database
(``file_readers``). Values are checked column by column in batches
(``batch_checks``): with pyarrow installed, a batch is converted and
range-checked vectorized, and only a batch with a problem is re-checked value
by value (``checks``) to name the rows; without pyarrow every value goes
through ``checks``. Foreign keys are checked batch by batch against the
parent's keys (tables are read parents first); unique columns are checked over
the whole column at the end (``key_checks``). A path that cannot be read
raises one :class:`DataError`; a file that is truncated or corrupt is a
violation like any other (``validation_report``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .batch_checks import check_values
from .errors import DataError
from .file_readers import file_readers
from .formats import read_manifest
from .key_checks import KeyCollector, check_duplicates, key_index
from .sampling import Dataset
from .schema import Schema, Table
from .schema_sources import SchemaSource, resolve
from .validation_report import ValidationReport

#: Read at the start of each run, so the plain-Python path can be chosen by switching it off.
try:  # pragma: no cover - the import itself
    import pyarrow as _pa  # noqa: F401

    HAVE_ARROW = True
except ImportError:  # pragma: no cover - exercised on installs without pyarrow
    HAVE_ARROW = False


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
        columns = {c.name: key_index(keys.parts.get((table.name, c.name), [])).values for c in table.columns}
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


def _run(source: Any, resolved: Schema, *, format: Optional[str], limit: Optional[int], tables: Optional[Sequence[str]], every_column: bool) -> Tuple[ValidationReport, KeyCollector]:
    report = ValidationReport(resolved.name, limit=limit)
    keys = KeyCollector(resolved, report, vectorized=HAVE_ARROW, every_column=every_column)
    present: List[str] = []
    if isinstance(source, (str, Path)):
        for table, reader in file_readers(Path(source), resolved, format, tables, report):
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
    check_duplicates(resolved, present, keys, report)
    return report, keys


def _check_rows(table: Table, rows: Sequence[Mapping[str, Any]], report: ValidationReport, keys: KeyCollector) -> None:
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
        check_values(table, column, columns[column.name], 0, report, keys)
    report.rows[table.name] = len(rows)
