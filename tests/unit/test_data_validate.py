"""Validation finds every injected corruption, names table/row/column, never tracebacks on bad paths."""

from __future__ import annotations

import copy
import os
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_orchestra.data import DataError, generate, read, sample, validate, validation

SCHEMA: Dict[str, Any] = {
    "tables": {
        "customers": {
            "rows": 20,
            "columns": {
                "id": {"type": "int", "unique": True},
                "email": {"type": "email", "unique": True},
                "nick": {"type": "str", "length": [2, 10], "nullable": True},
                "born": {"type": "date", "min": "1950-01-01", "max": "2010-12-31"},
                "ref": {"type": "uuid"},
                "active": {"type": "bool"},
            },
        },
        "orders": {
            "rows": 40,
            "columns": {
                "id": {"type": "int", "unique": True},
                "customer_id": {"type": "int", "foreign_key": "customers.id"},
                "total": {"type": "decimal", "min": 0, "max": 1000},
                "weight": {"type": "float", "min": 0, "max": 50},
                "status": {"type": "choices", "choices": ["new", "paid"]},
                "code": {"type": "str", "regex": "[A-Z]{2}[0-9]{2}"},
                "at": {"type": "datetime"},
                "meta": {"type": "json"},
            },
        },
    }
}


def kinds(report: Any) -> List[Tuple[str, Any, Any, Any]]:
    found = [(v.kind, v.table, v.row, v.column) for v in report.violations]
    return sorted(found, key=lambda k: (k[0], k[1] or "", k[2] or 0, k[3] or ""))


def kinds_of(found: List[Tuple[str, Any, Any, Any]]) -> List[Tuple[str, Any, Any, Any]]:
    return sorted(found, key=lambda k: (k[0], k[1] or "", k[2] or 0, k[3] or ""))


@pytest.fixture(params=["arrow", "python"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(validation, "HAVE_ARROW", False)
    return request.param


def rewrite_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set one field of data row ``row`` (1-based) of a generated CSV (no quoted commas in these tables)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    fields = lines[row].rstrip("\n").split(",")
    fields[header.index(column)] = value
    lines[row] = ",".join(fields) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


CSV_SCHEMA = {"tables": {name: {**t, "columns": {k: v for k, v in t["columns"].items() if k not in ("meta",)}}
                         for name, t in SCHEMA["tables"].items()}}


def test_every_csv_corruption_is_found_with_its_row(tmp_path: Path, engine: str) -> None:
    generate(CSV_SCHEMA, tmp_path, seed=1, progress=False)
    assert validate(tmp_path).ok
    orders, customers = tmp_path / "orders.csv", tmp_path / "customers.csv"
    rewrite_csv(orders, 3, "customer_id", "999")          # orphan foreign key
    second_id = orders.read_text().splitlines()[2].split(",")[0]
    rewrite_csv(orders, 5, "id", second_id)                # duplicate unique
    rewrite_csv(orders, 6, "total", "")                    # null
    rewrite_csv(orders, 7, "total", "1000.01")             # out of range
    rewrite_csv(orders, 8, "weight", "heavy")              # wrong type
    rewrite_csv(orders, 9, "status", "lost")               # not a choice
    rewrite_csv(orders, 10, "code", "zz99")                # regex
    rewrite_csv(orders, 11, "at", "yesterday")             # wrong type
    rewrite_csv(customers, 2, "born", "1949-12-31")        # out of range (date)
    rewrite_csv(customers, 3, "ref", "not-a-uuid")         # wrong type
    rewrite_csv(customers, 4, "active", "maybe")           # wrong type
    rewrite_csv(customers, 5, "nick", "x")                 # length
    rewrite_csv(customers, 6, "email", "nobody")           # wrong type
    report = validate(tmp_path)
    assert kinds(report) == kinds_of([
        ("orphan_foreign_key", "orders", 3, "customer_id"),
        ("duplicate", "orders", 5, "id"),
        ("null", "orders", 6, "total"),
        ("out_of_range", "orders", 7, "total"),
        ("wrong_type", "orders", 8, "weight"),
        ("choice", "orders", 9, "status"),
        ("pattern", "orders", 10, "code"),
        ("wrong_type", "orders", 11, "at"),
        ("out_of_range", "customers", 2, "born"),
        ("wrong_type", "customers", 3, "ref"),
        ("wrong_type", "customers", 4, "active"),
        ("length", "customers", 5, "nick"),
        ("wrong_type", "customers", 6, "email"),
    ])
    assert not report.ok
    assert "13 violation(s)" in report.summary()
    text = str(next(v for v in report.violations if v.kind == "orphan_foreign_key"))
    assert text == "orders, row 3, column customer_id: orphan_foreign_key: 999 has no parent row in customers.id"
    assert report.first().startswith("dataset dataset: ")
    assert report.as_dict()["violations"][0].keys() == {"kind", "table", "row", "column", "message"}


def test_wrong_header_truncated_and_malformed_csv(tmp_path: Path, engine: str) -> None:
    generate(CSV_SCHEMA, tmp_path, seed=2, progress=False)
    customers = tmp_path / "customers.csv"
    lines = customers.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace("email", "mail")
    customers.write_text("".join(lines))
    orders = tmp_path / "orders.csv"
    text = orders.read_text()
    orders.write_text(text[: len(text) - 30])  # cut mid-row
    report = validate(tmp_path)
    found = kinds(report)
    assert ("wrong_header", "customers", None, None) in found
    header = next(v for v in report.violations if v.kind == "wrong_header")
    assert "missing email; unexpected mail" in header.message
    truncated = [v for v in report.violations if v.kind == "truncated" and v.table == "orders"]
    assert truncated and "does not end with a newline" in truncated[0].message
    short = tmp_path / "short"
    generate(CSV_SCHEMA, short, seed=2, progress=False)
    lines = (short / "orders.csv").read_text().splitlines(keepends=True)
    lines[4] = ",".join(lines[4].split(",")[:3]) + "\n"
    (short / "orders.csv").write_text("".join(lines))
    report = validate(short)
    assert ("truncated", "orders", 4, None) in kinds(report)


def test_empty_and_binary_csv_files(tmp_path: Path, engine: str) -> None:
    generate(CSV_SCHEMA, tmp_path, seed=2, progress=False)
    (tmp_path / "customers.csv").write_text("")
    (tmp_path / "orders.csv").write_bytes((tmp_path / "orders.csv").read_bytes()[:200] + b"\xff\xfe\x00,\x00\n")
    report = validate(tmp_path)
    assert any(v.kind == "truncated" and v.table == "customers" and "is empty" in v.message for v in report.violations)
    assert any(v.table == "orders" and v.kind in ("corrupt", "wrong_type", "truncated") for v in report.violations)


def test_jsonl_corruptions(tmp_path: Path) -> None:
    generate(SCHEMA, tmp_path, format="jsonl", seed=3, progress=False)
    assert validate(tmp_path).ok
    path = tmp_path / "orders.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"status": "', '"status": "x')
    lines[2] = "{not json\n"
    lines[3] = '{"id": 1}\n'
    lines[4] = lines[4].replace('"total": "', '"total": "-')
    path.write_text("".join(lines)[:-5])
    report = validate(tmp_path)
    found = kinds(report)
    assert ("choice", "orders", 2, "status") in found
    assert ("corrupt", "orders", 3, None) in found
    assert ("wrong_header", "orders", 4, None) in found
    assert ("out_of_range", "orders", 5, "total") in found
    assert ("truncated", "orders", 40, None) in found


def test_parquet_corruptions(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    generate(SCHEMA, tmp_path, format="parquet", seed=4, progress=False)
    assert validate(tmp_path).ok
    table = pq.read_table(tmp_path / "orders.parquet")
    ids = table.column("id").to_pylist()
    ids[5] = ids[4]
    customer = table.column("customer_id").to_pylist()
    customer[6] = 10**6
    table = table.set_column(0, "id", pa.array(ids)).set_column(1, "customer_id", pa.array(customer))
    totals = table.column("total").to_pylist()
    totals[7] = None
    table = table.set_column(2, "total", pa.array(totals, type=table.schema.field("total").type))
    pq.write_table(table, tmp_path / "orders.parquet")
    (tmp_path / "customers.parquet").write_bytes(b"PAR1 garbage")
    report = validate(tmp_path)
    found = kinds(report)
    assert ("duplicate", "orders", 6, "id") in found
    assert ("null", "orders", 8, "total") in found
    assert ("corrupt", "customers", None, None) in found
    # Parents unreadable: orphans cannot be judged, so none are claimed.
    assert not [v for v in report.violations if v.kind == "orphan_foreign_key"]


def test_parquet_with_wrong_column_types(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = {"tables": {"t": {"columns": {"id": {"type": "int", "unique": True}, "n": {"type": "int", "max": 5}}}}}
    pq.write_table(pa.table({"id": ["1", "2", "x"], "n": [1, 9, 2]}), tmp_path / "t.parquet")
    report = validate(tmp_path / "t.parquet", schema)
    assert kinds(report) == [("out_of_range", "t", 2, "n"), ("wrong_type", "t", 3, "id")]


def test_sqlite_corruptions(tmp_path: Path) -> None:
    generate(SCHEMA, tmp_path, format="sqlite", seed=5, progress=False)
    database = tmp_path / "dataset.sqlite"
    assert validate(database, SCHEMA).ok
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA foreign_keys=OFF")
    connection.execute("UPDATE orders SET customer_id = 555 WHERE rowid = 2")
    connection.execute("UPDATE orders SET weight = 'lots' WHERE rowid = 3")
    connection.execute("DROP TABLE customers")
    connection.commit()
    connection.close()
    report = validate(database, SCHEMA)
    found = kinds(report)
    assert ("missing_table", "customers", None, None) in found
    assert ("wrong_type", "orders", 3, "weight") in found
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"SQLite format 3\x00" + bytes(range(64)))
    report = validate(broken, SCHEMA)
    assert [v.kind for v in report.violations] == ["corrupt"]
    assert "not a readable SQLite database" in report.violations[0].message


def test_unreadable_paths_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read .*missing: no such file or directory"):
        validate(tmp_path / "missing", SCHEMA)
    with pytest.raises(DataError, match="no data files for dataset"):
        validate(tmp_path, SCHEMA)
    generate(SCHEMA, tmp_path / "d", seed=1, progress=False)
    locked = tmp_path / "d" / "orders.csv"
    locked.chmod(0)
    try:
        if not os.access(locked, os.R_OK):  # root reads anything: then only the directory case below
            with pytest.raises(DataError, match="cannot read .*orders.csv: Permission denied"):
                validate(tmp_path / "d")
    finally:
        locked.chmod(0o644)
    locked.unlink()
    locked.mkdir()
    with pytest.raises(DataError, match="cannot read .*orders.csv: is a directory"):
        validate(tmp_path / "d")
    with pytest.raises(DataError, match="pass the schema"):
        validate({"t": []})
    with pytest.raises(DataError, match="expected a path or a dataset mapping, got int"):
        validate(5, SCHEMA)


def test_missing_tables_and_single_files(tmp_path: Path) -> None:
    generate(SCHEMA, tmp_path, seed=1, progress=False)
    (tmp_path / "customers.csv").unlink()
    report = validate(tmp_path)
    assert kinds(report) == [("missing_table", "customers", None, None)]
    assert validate(tmp_path / "orders.csv").ok  # one file: its parent is not judged
    assert validate(tmp_path, tables=["orders"]).ok


def test_read_gives_typed_rows_or_refuses_corrupt_data(tmp_path: Path) -> None:
    generate(SCHEMA, tmp_path, seed=9, progress=False)
    dataset = read(tmp_path)
    assert dataset["orders"] == sample(SCHEMA, seed=9)["orders"]
    rewrite_csv(tmp_path / "orders.csv", 2, "customer_id", "777")
    with pytest.raises(DataError, match="dataset dataset: orders, row 2, column customer_id: orphan_foreign_key"):
        read(tmp_path)
    assert len(read(tmp_path, check=False)["orders"]) == 40


def test_violation_limit_keeps_a_count(tmp_path: Path) -> None:
    dataset = sample(SCHEMA, seed=1)
    broken = copy.deepcopy(dataset.tables)
    for row in broken["orders"]:
        row["customer_id"] = -1
    report = validate(broken, SCHEMA, limit=5)
    assert len(report.violations) == 5 and report.dropped == 35
    assert "(+35 not kept)" in report.summary()


CORRUPTIONS = ["orphan", "duplicate", "null", "range", "type", "missing_column", "extra_column"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 1000), corruption=st.sampled_from(CORRUPTIONS), data=st.data())
def test_every_injected_corruption_is_found(seed: int, corruption: str, data: Any) -> None:
    dataset = sample(SCHEMA, seed=seed)
    tables = copy.deepcopy(dataset.tables)
    index = data.draw(st.integers(1, len(tables["orders"]) - 1), label="row index")
    row = tables["orders"][index]
    expected: Tuple[str, str, int, Any]
    if corruption == "orphan":
        row["customer_id"] = data.draw(st.integers(10**6, 10**9))
        expected = ("orphan_foreign_key", "orders", index + 1, "customer_id")
    elif corruption == "duplicate":
        row["id"] = tables["orders"][0]["id"]
        expected = ("duplicate", "orders", index + 1, "id")
    elif corruption == "null":
        column = data.draw(st.sampled_from(["total", "status", "code", "at", "weight"]))
        row[column] = None
        expected = ("null", "orders", index + 1, column)
    elif corruption == "range":
        row["total"] = data.draw(st.sampled_from([-1, 1000.01, 10**9]))
        expected = ("out_of_range", "orders", index + 1, "total")
    elif corruption == "type":
        column, value = data.draw(st.sampled_from([("weight", "x"), ("at", "noon"), ("id", 1.5), ("total", True)]))
        row[column] = value
        expected = ("wrong_type", "orders", index + 1, column)
    elif corruption == "missing_column":
        del row["status"]
        expected = ("wrong_header", "orders", index + 1, None)
    else:
        row["surprise"] = 1
        expected = ("wrong_header", "orders", index + 1, None)
    report = validate(tables, SCHEMA)
    assert expected in kinds(report)
