"""Loading into SQLite with foreign keys on, the cache under .orchestra/data, and the data CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict

import pytest

from pytest_orchestra.__main__ import main as orchestra_main
from pytest_orchestra.data import DataCache, DataError, generate, load, sample
from pytest_orchestra.data.sql import create_table_sql

SHOP: Dict[str, Any] = {
    "tables": {
        "customers": {"rows": 30, "columns": {
            "id": {"type": "int", "unique": True},
            "email": {"type": "email", "unique": True},
            "joined": {"type": "date"},
            "vip": {"type": "bool"},
            "prefs": {"type": "json", "nullable": True},
        }},
        "orders": {"columns": {
            "id": {"type": "int", "unique": True},
            "customer_id": {"type": "int", "foreign_key": "customers.id"},
            "total": {"type": "decimal", "min": 0, "max": 500},
            "placed": {"type": "datetime"},
            "ref": {"type": "uuid"},
        }},
    }
}


def test_a_dataset_loads_into_sqlite_with_foreign_keys_enforced(tmp_path: Path) -> None:
    dataset = sample(SHOP, seed=1, profile="edge")
    database = tmp_path / "shop.db"
    counts = load(dataset, database)
    assert counts == {"customers": 30, "orders": 90}
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA foreign_keys=ON")
    assert connection.execute("SELECT count(*) FROM orders JOIN customers ON customers.id = orders.customer_id").fetchone() == (90,)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        connection.execute("INSERT INTO orders (id, customer_id, total, placed, ref) VALUES (10000, 424242, '1', 'x', 'y')")
    connection.close()
    broken = {name: [dict(row) for row in rows] for name, rows in dataset.items()}
    broken["orders"][0]["customer_id"] = 999_999
    with pytest.raises(DataError, match="loading into SQLite failed: FOREIGN KEY constraint failed"):
        load(broken, sqlite3.connect(":memory:"), schema=SHOP)
    with pytest.raises(DataError, match="pass schema="):
        load(broken, tmp_path / "x.db")


def test_a_generated_csv_folder_loads_into_sqlite(tmp_path: Path) -> None:
    generate(SHOP, tmp_path / "files", rows=200, seed=2, progress=False)
    connection = sqlite3.connect(":memory:")
    assert load(tmp_path / "files", connection) == {"customers": 200, "orders": 600}
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert connection.execute("SELECT typeof(vip), typeof(id) FROM customers LIMIT 1").fetchone() == ("integer", "integer")
    lines = (tmp_path / "files" / "orders.csv").read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(lines[2].split(",")[2], "lots", 1)
    (tmp_path / "files" / "orders.csv").write_text("".join(lines))
    with pytest.raises(DataError, match="orders, row 2, column total: 'lots' is not a valid decimal"):
        load(tmp_path / "files", sqlite3.connect(":memory:"))
    (tmp_path / "files" / "orders.csv").unlink()
    with pytest.raises(DataError, match="no file"):
        load(tmp_path / "files", sqlite3.connect(":memory:"))


def test_targets_are_resolved_or_named(tmp_path: Path) -> None:
    class Resource:
        path = str(tmp_path / "env.sqlite")

    assert load(sample(SHOP, seed=3), Resource()) == {"customers": 30, "orders": 90}
    with pytest.raises(DataError, match="expected a sqlite3 connection, a SQLite path, a PostgreSQL DSN"):
        load(sample(SHOP, seed=3), 42)
    with pytest.raises(DataError, match="cannot connect to PostgreSQL"):
        load(sample(SHOP, seed=3), "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert 'REFERENCES "customers" ("id")' in create_table_sql(
        __import__("pytest_orchestra.data", fromlist=["resolve"]).resolve(SHOP).table("orders"), "postgres")


def test_cache_reuses_regenerates_and_prunes(tmp_path: Path) -> None:
    cache = DataCache(tmp_path / ".orchestra" / "data", max_bytes="1GB")
    first = cache.get(SHOP, seed=1, rows=100)
    assert first.out_dir.name.startswith("dataset__") and (first.out_dir / "orders.csv").is_file()
    again = cache.get(SHOP, seed=1, rows=100)
    assert again.out_dir == first.out_dir and again.seconds == 0.0
    other_seed = cache.get(SHOP, seed=2, rows=100)
    assert len(cache.entries()) == 2 and other_seed.out_dir != first.out_dir
    changed = {"tables": {**SHOP["tables"], "customers": {**SHOP["tables"]["customers"], "rows": 31}}}
    newer = cache.get(changed, seed=1, rows=100)
    assert [e.path for e in cache.entries()] == [newer.out_dir]  # stale schema versions removed
    sized = cache.get(changed, seed=1, size="50KB", format="jsonl")
    assert sized.format == "jsonl" and len(cache.entries()) == 2
    old = cache.entries()[0]
    os.utime(old.path / "orchestra-data.json", (time.time() - 10 * 86400,) * 2)
    assert cache.prune(older_than_days=5) == [old.path]
    cache.get(changed, seed=3, rows=100)
    assert len(cache.prune("1B")) == 2 and cache.entries() == []
    cache.get(changed, seed=3, rows=10, format="sqlite")
    assert cache.get(changed, seed=3, rows=10, format="sqlite").files["customers"].suffix == ".sqlite"
    assert cache.clear() == 1 and cache.entries() == []


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple:
    status = orchestra_main(["data", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_generate_validate_edges_and_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    schema = tmp_path / "shop.yaml"
    schema.write_text(json.dumps({"datasets": {"shop": SHOP}}))
    schema = schema.rename(tmp_path / "shop.json")
    out_dir = tmp_path / "out"
    status, out, _ = run_cli(capsys, "generate", str(schema), str(out_dir), "--rows", "50", "--seed", "4", "--no-progress")
    assert status == 0 and "customers 50, orders 150 rows; seed 4" in out
    status, out, _ = run_cli(capsys, "validate", str(out_dir))
    assert status == 0 and "shop: 200 rows in 2 tables, no violations" in out
    lines = (out_dir / "orders.csv").read_text().splitlines(keepends=True)
    for i in (2, 3, 4):
        lines[i] = lines[i].replace(lines[i].split(",")[1], "88888", 1)
    (out_dir / "orders.csv").write_text("".join(lines))
    status, out, _ = run_cli(capsys, "validate", str(out_dir), "--show", "2")
    assert status == 1 and "3 violation(s): 3 orphan_foreign_key" in out and "... 1 more" in out
    status, out, _ = run_cli(capsys, "validate", str(out_dir), "--json", "--schema", str(schema))
    assert status == 1 and json.loads(out)["violations"][0]["row"] == 2
    status, _, err = run_cli(capsys, "validate", str(tmp_path / "nowhere"))
    assert status == 2 and "cannot read" in err and "Traceback" not in err
    status, out, _ = run_cli(capsys, "edges", str(schema), "--rows", "5")
    assert status == 0 and "orders.total: boundary" in out
    status, out, _ = run_cli(capsys, "edges", str(schema), "--profile", "default", "--rows", "5")
    assert status == 1 and "missing" in out
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orchestra.yaml").write_text(json.dumps({"datasets": {"shop": SHOP}}))
    status, out, _ = run_cli(capsys, "generate", "shop", "gen", "--rows", "5", "--format", "sqlite", "--no-progress")
    assert status == 0 and (tmp_path / "gen" / "shop.sqlite").is_file()
    status, _, err = run_cli(capsys, "generate", "nope", "gen2")
    assert status == 2 and "unknown dataset 'nope' (datasets: shop)" in err
    cache = DataCache(tmp_path / ".orchestra" / "data")
    from pytest_orchestra.data.schema_sources import resolve

    cache.get(resolve("shop", datasets={"shop": SHOP}), seed=1, rows=5)
    status, out, _ = run_cli(capsys, "cache")
    assert status == 0 and "1 cached dataset(s)" in out
    status, out, _ = run_cli(capsys, "cache", "prune", "--max-size", "1B")
    assert status == 0 and "removed 1 cached dataset(s)" in out
    status, out, _ = run_cli(capsys, "cache", "clear")
    assert status == 0 and "removed 0" in out
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.orchestra.datasets.tiny.tables.t.columns]\nid = {type = "int", unique = true}\n')
    status, out, _ = run_cli(capsys, "generate", str(pyproject), "tiny-out", "--rows", "3", "--no-progress")
    assert status == 0 and "t 3 rows" in out
