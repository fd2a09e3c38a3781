"""Deterministic samples and streamed bulk files: constraints hold, seeds reproduce, edges appear."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_orchestra.data import DataError, edge_coverage, generate, sample, validate
from pytest_orchestra.data.bulk import Progress, parse_size
from pytest_orchestra.data.dataset_plan import DatasetPlan
from pytest_orchestra.data.formats import MANIFEST, read_manifest

SHOP: Dict[str, Any] = {
    "tables": {
        "customers": {
            "rows": 40,
            "columns": {
                "id": {"type": "int", "unique": True},
                "name": {"type": "name"},
                "email": {"type": "email", "unique": True},
                "handle": {"type": "str", "unique": True, "length": [3, 16]},
                "created": {"type": "date", "min": "2020-01-01", "max": "2024-12-31"},
                "note": {"type": "text", "nullable": True, "length": [0, 80]},
                "vip": {"type": "bool"},
                "ref": {"type": "uuid", "unique": True},
                "prefs": {"type": "json", "nullable": True},
            },
        },
        "orders": {
            "columns": {
                "id": {"type": "int", "unique": True, "min": 1000},
                "customer_id": {"type": "int", "foreign_key": "customers.id"},
                "total": {"type": "decimal", "min": 0, "max": 10000},
                "weight": {"type": "float", "min": 0.5, "max": 30},
                "status": {"type": "choices", "choices": ["new", "paid", "shipped"]},
                "placed": {"type": "datetime", "min": "2024-01-01T00:00:00", "max": "2024-12-31T23:59:59"},
                "code": {"type": "str", "regex": "[A-Z]{3}-[0-9]{4}"},
            }
        },
        "items": {
            "columns": {
                "id": {"type": "uuid", "unique": True},
                "order_id": {"type": "int", "foreign_key": "orders.id", "children": [1, 4]},
                "customer_ref": {"type": "uuid", "foreign_key": "customers.ref", "nullable": True},
                "quantity": {"type": "int", "min": 1, "max": 20},
            }
        },
    }
}


def check_integrity(dataset: Any) -> None:
    """Every FK has a parent, every unique column is unique, every value in range."""
    for table in dataset.schema.tables:
        rows = dataset[table.name]
        for column in table.columns:
            values = [row[column.name] for row in rows]
            present = [v for v in values if v is not None]
            if column.unique:
                assert len({json.dumps(v, sort_keys=True, default=str) for v in present}) == len(present), column
            if not column.nullable:
                assert None not in values, (table.name, column.name)
            if column.min is not None:
                assert all(v >= column.min for v in present), (table.name, column.name)
            if column.max is not None:
                assert all(v <= column.max for v in present), (table.name, column.name)
            if column.parent:
                parent_table, parent_column = column.parent
                keys = set(dataset.keys_of(parent_table, parent_column))
                assert all(v in keys for v in present), (table.name, column.name)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), rows=st.integers(0, 60), profile=st.sampled_from([None, "edge"]))
def test_every_sample_keeps_keys_uniques_and_ranges(seed: int, rows: int, profile: Any) -> None:
    dataset = sample(SHOP, seed=seed, rows=rows, profile=profile)
    check_integrity(dataset)
    report = validate(dataset)
    assert report.ok, report.violations[:3]


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = sample(SHOP, seed=7)
    assert sample(SHOP, seed=7).tables == first.tables
    assert sample(SHOP, seed=8).tables != first.tables
    assert repr(first).startswith("<Dataset dataset seed=7 profile=default customers=40")


def test_children_per_parent_are_respected() -> None:
    dataset = sample(SHOP, seed=1)
    per_order = Counter(row["order_id"] for row in dataset["items"])
    assert set(per_order) == {row["id"] for row in dataset["orders"]}
    assert set(per_order.values()) <= {1, 2, 3, 4}
    assert len(dataset["items"]) == sum(per_order.values())


def test_edge_profile_guarantees_every_applicable_class() -> None:
    dataset = sample(SHOP, seed=3, rows=5, profile="edge")
    coverage = edge_coverage(dataset)
    assert coverage.complete, coverage.missing
    table = coverage.as_dict()
    assert table["customers"]["note"] == {"empty": True, "max_length": True, "non_ascii": True, "null": True}
    assert table["orders"]["total"] == {"boundary": True}
    assert {row["total"] for row in dataset["orders"]} >= {0, 10000}
    assert "customers.note: empty, max_length, non_ascii, null" in coverage.format()
    # The default profile makes no such promise, and the report says what is missing.
    plain = edge_coverage(sample(SHOP, seed=3, rows=5))
    assert ("orders", "total", "boundary") in plain.missing
    assert "(missing: " in plain.format()


def test_impossible_constraints_are_named() -> None:
    tight = {"tables": {"t": {"rows": 10, "columns": {"id": {"type": "int", "unique": True, "min": 1, "max": 5}}}}}
    with pytest.raises(DataError, match="t.id: 10 unique values do not fit between 1 and 5"):
        sample(tight)
    short = {"tables": {"t": {"rows": 1000, "columns": {"s": {"type": "str", "unique": True, "length": 2}}}}}
    with pytest.raises(DataError, match="t.s: length 2 is too short for 1000 unique values"):
        sample(short)
    flags = {"tables": {"t": {"rows": 3, "columns": {"b": {"type": "bool", "unique": True}}}}}
    with pytest.raises(DataError, match="a unique bool column holds at most 2 rows"):
        sample(flags)
    few = {"tables": {"t": {"rows": 3, "columns": {"c": {"type": "choices", "choices": ["a", "b"], "unique": True}}}}}
    with pytest.raises(DataError, match="3 unique rows but only 2 choices"):
        sample(few)
    orphaned = {"tables": {"p": {"rows": 0, "columns": {"id": {"type": "int", "unique": True}}},
                           "c": {"rows": 3, "columns": {"pid": {"type": "int", "foreign_key": "p.id"}}}}}
    with pytest.raises(DataError, match="c.pid: 3 rows need parents but table p has 0 rows"):
        sample(orphaned)
    with pytest.raises(DataError, match="too many to hold in memory"):
        sample(SHOP, rows=2_000_000)
    regex = {"tables": {"t": {"rows": 5000, "columns": {"s": {"type": "str", "unique": True, "regex": "[ab]{2}"}}}}}
    with pytest.raises(DataError, match="gave 4 distinct values, 5000 unique rows needed"):
        sample(regex)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "sqlite"])
def test_bulk_files_validate_clean_and_are_deterministic(tmp_path: Path, fmt: str) -> None:
    first = generate(SHOP, tmp_path / "a", rows=300, format=fmt, seed=5, progress=False, profile="edge")
    second = generate(SHOP, tmp_path / "b", rows=300, format=fmt, seed=5, progress=False, profile="edge")
    assert first.rows == second.rows and first.rows["customers"] == 300
    report = validate(tmp_path / "a")
    assert report.ok, report.violations[:5]
    assert report.rows == first.rows
    if fmt in ("csv", "jsonl"):
        for name, path in first.files.items():
            assert path.read_bytes() == second.files[name].read_bytes()
    manifest = read_manifest(tmp_path / "a")
    assert manifest.seed == 5 and manifest.format == fmt and manifest.rows == first.rows
    assert first.rows_per_second > 0


def test_bulk_equals_the_in_memory_sample_for_the_same_seed(tmp_path: Path) -> None:
    from pytest_orchestra.data import read

    generate(SHOP, tmp_path, rows=50, seed=11, progress=False)
    on_disk = read(tmp_path)
    in_memory = sample(SHOP, seed=11, rows=50)
    assert on_disk["orders"] == in_memory["orders"]
    assert [r["email"] for r in on_disk["customers"]] == [r["email"] for r in in_memory["customers"]]


def test_size_targets_are_met_within_ten_percent(tmp_path: Path) -> None:
    result = generate(SHOP, tmp_path, size="2MB", seed=1, progress=False)
    assert 1.8e6 <= result.bytes <= 2.2e6
    assert abs(sum(p.stat().st_size for p in result.files.values()) - result.bytes) < 10


def test_sizes_parse_and_bad_arguments_are_named(tmp_path: Path) -> None:
    assert parse_size("1GB") == 10**9 and parse_size("1.5 mb") == 1_500_000 and parse_size("2GiB") == 2 * 2**30
    assert parse_size(123) == 123
    for bad in ("lots", "0GB", -1, "1PB"):
        with pytest.raises(DataError, match="size"):
            parse_size(bad)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="unknown format 'xml'"):
        generate(SHOP, tmp_path, rows=1, format="xml")
    with pytest.raises(DataError, match="pass size or rows, not both"):
        generate(SHOP, tmp_path, rows=1, size="1MB")
    with pytest.raises(DataError, match="no manifest"):
        read_manifest(tmp_path / "nothing")
    (tmp_path / MANIFEST).write_text("{}")
    with pytest.raises(DataError, match="invalid manifest"):
        read_manifest(tmp_path)


def test_memory_is_bounded_by_the_chunk(tmp_path: Path) -> None:
    """Five times the rows must not take more memory: chunks are streamed, keys never held."""
    import tracemalloc

    from pytest_orchestra.data.chunks import CHUNK_ROWS

    schema = {"tables": {
        "p": {"columns": {"id": {"type": "int", "unique": True}}},
        "c": {"columns": {"pid": {"type": "int", "foreign_key": "p.id"}, "n": {"type": "int"}}},
    }}

    def peak(rows: int) -> int:
        tracemalloc.start()
        generate(schema, tmp_path / str(rows), rows={"p": rows, "c": rows}, seed=1, progress=False)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(CHUNK_ROWS), peak(5 * CHUNK_ROWS)
    assert large < small * 1.3


def test_progress_is_shown_on_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = Progress(100, "shop", stream=stream)
    bar.update(50, 5_000_000, final=False)
    bar.update(100, 10_000_000, final=True)
    assert "shop [" in stream.getvalue() and "100%" in stream.getvalue() and stream.getvalue().endswith("\n")
    quiet = io.StringIO()
    Progress(100, "shop", stream=quiet).update(100, 1, final=True)
    assert quiet.getvalue() == ""


def test_plan_row_counts_follow_profiles() -> None:
    schema = {**SHOP, "profiles": {"tiny": {"rows": {"customers": 2}, "scale": 1}}}
    plan = DatasetPlan(__import__("pytest_orchestra.data", fromlist=["resolve"]).resolve(schema), seed=0, profile="tiny")
    assert plan.row_counts["customers"] == 2
    assert plan.row_counts["orders"] == 6
