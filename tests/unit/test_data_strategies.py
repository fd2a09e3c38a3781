"""strategy(): whole datasets whose keys hold, that shrink, with overridable columns."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from pytest_orchestra.data import DataError, strategy, validate
from pytest_orchestra.data.schema_sources import use_workflow_datasets

SCHEMA: Dict[str, Any] = {
    "tables": {
        "customers": {
            "columns": {
                "id": {"type": "int", "unique": True, "min": 1},
                "email": {"type": "email", "unique": True},
                "name": {"type": "name"},
                "nick": {"type": "str", "nullable": True, "length": [0, 12], "unique": True},
                "joined": {"type": "date", "min": "2020-01-01", "max": "2021-01-01"},
                "seen": {"type": "datetime"},
                "ref": {"type": "uuid", "unique": True},
                "vip": {"type": "bool"},
                "prefs": {"type": "json"},
                "bio": {"type": "text", "length": [0, 30]},
            }
        },
        "orders": {
            "columns": {
                "id": {"type": "int", "unique": True},
                "customer_id": {"type": "int", "foreign_key": "customers.id"},
                "total": {"type": "decimal", "min": 0, "max": 10000},
                "weight": {"type": "float", "min": 0, "max": 5},
                "status": {"type": "choices", "choices": ["new", "paid", "shipped"]},
                "code": {"type": "str", "regex": "[A-Z]{2}-[0-9]{3}"},
                "owner_ref": {"type": "uuid", "foreign_key": "customers.ref", "nullable": True},
            }
        },
        "lines": {
            "columns": {
                "order_id": {"type": "int", "foreign_key": "orders.id", "children": [1, 3]},
                "sku": {"type": "str", "unique": True, "length": [1, 8]},
            }
        },
    }
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(dataset=strategy(SCHEMA))
def test_every_generated_dataset_satisfies_the_schema(dataset: Any) -> None:
    report = validate(dataset)
    assert report.ok, report.violations[:3]
    ids = {row["id"] for row in dataset["customers"]}
    assert all(row["customer_id"] in ids for row in dataset["orders"])
    assert all(len(dataset[t]) <= 20 for t in ("customers", "orders"))
    per_order: Dict[Any, int] = {}
    for row in dataset["lines"]:
        per_order[row["order_id"]] = per_order.get(row["order_id"], 0) + 1
    assert set(per_order) == {row["id"] for row in dataset["orders"]}
    assert all(1 <= n <= 3 for n in per_order.values())


def test_it_shrinks_to_a_minimal_failing_dataset() -> None:
    schema = {"tables": {
        "customers": {"columns": {"id": {"type": "int", "unique": True}}},
        "orders": {"columns": {"id": {"type": "int", "unique": True}, "customer_id": {"type": "int", "foreign_key": "customers.id"}}},
    }}
    smallest = find(strategy(schema), lambda ds: len(ds["orders"]) >= 2,
                    settings=settings(database=None, max_examples=500))
    assert len(smallest["orders"]) == 2 and 1 <= len(smallest["customers"]) <= 2
    ids = {row["id"] for row in smallest["customers"]}
    assert {row["customer_id"] for row in smallest["orders"]} <= ids
    assert all(abs(row["id"]) <= 2 for table in smallest.values() for row in table)  # values shrink too


@settings(max_examples=20, deadline=None)
@given(dataset=strategy(SCHEMA, overrides={"orders.status": st.just("paid"), "customers.vip": st.just(True)},
                        min_rows=1, max_rows=3))
def test_columns_can_be_overridden(dataset: Any) -> None:
    assert dataset["orders"] == [] or {row["status"] for row in dataset["orders"]} == {"paid"}
    assert 1 <= len(dataset["customers"]) <= 3
    assert all(row["vip"] for row in dataset["customers"])


def test_bad_arguments_are_named() -> None:
    with pytest.raises(DataError, match="no table 'nope'"):
        strategy(SCHEMA, overrides={"nope.x": st.none()})
    with pytest.raises(DataError, match="customers: no column 'x'"):
        strategy(SCHEMA, overrides={"customers.x": st.none()})
    with pytest.raises(DataError, match="override must be a Hypothesis strategy, got int"):
        strategy(SCHEMA, overrides={"customers.id": 5})  # type: ignore[dict-item]
    with pytest.raises(DataError, match="expected 0 <= min_rows <= max_rows"):
        strategy(SCHEMA, min_rows=5, max_rows=2)


def test_workflow_dataset_names_work_and_empty_parents_mean_no_children() -> None:
    use_workflow_datasets({"tiny": {"tables": {
        "p": {"rows": 0, "columns": {"id": {"type": "int", "unique": True}}},
        "c": {"columns": {"pid": {"type": "int", "foreign_key": "p.id"}}},
        "n": {"columns": {"pid": {"type": "int", "foreign_key": "p.id", "nullable": True}}},
    }}})
    try:
        dataset = find(strategy("tiny"), lambda ds: True, settings=settings(database=None))
        assert dataset.tables == {"p": [], "c": [], "n": []}
        some = find(strategy("tiny"), lambda ds: len(ds["n"]) > 0, settings=settings(database=None))
        assert some["n"] == [{"pid": None}]
    finally:
        use_workflow_datasets(None)
