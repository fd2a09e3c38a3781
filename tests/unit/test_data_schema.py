"""Dataset schemas: the same shape as YAML, dict and objects; errors name what is wrong."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from pytest_orchestra.data import Column, DataError, Schema, Table, load_schema_file, parse_schema, resolve
from pytest_orchestra.data.config import datasets_section_node, datasets_spec
from pytest_orchestra.workflow import Workflow, WorkflowError

SHOP = {
    "tables": {
        "customers": {
            "rows": 50,
            "columns": {
                "id": {"type": "int", "unique": True},
                "email": {"type": "email", "unique": True},
                "created": {"type": "date", "min": "2020-01-01", "max": "2024-12-31"},
            },
        },
        "orders": {
            "columns": {
                "id": {"type": "int", "unique": True},
                "customer_id": {"type": "int", "foreign_key": "customers.id"},
                "total": {"type": "decimal", "min": 0, "max": 10000},
                "status": {"type": "choices", "choices": ["new", "paid", "shipped"]},
            }
        },
    },
    "profiles": {"small": {"rows": {"customers": 5}}},
}

YAML = """
datasets:
  shop:
    tables:
      orders:
        columns:
          id: {type: int, unique: true}
          customer_id: {type: int, foreign_key: customers.id}
          total: {type: decimal, min: 0, max: 10000}
          status: {type: choices, choices: [new, paid, shipped]}
      customers:
        rows: 50
        columns:
          id: {type: int, unique: true}
          email: {type: email, unique: true}
          created: {type: date, min: 2020-01-01, max: 2024-12-31}
    profiles:
      small: {rows: {customers: 5}}
"""


def test_dict_yaml_and_objects_give_the_same_schema(tmp_path: Path) -> None:
    from_dict = parse_schema(SHOP, "shop")
    path = tmp_path / "orchestra.yaml"
    path.write_text(YAML)
    from_yaml = load_schema_file(path)
    objects = Schema(
        name="shop",
        tables=(
            Table(name="customers", rows=50, columns=(
                Column("int", name="id", unique=True),
                Column("email", name="email", unique=True),
                Column("date", name="created", min=dt.date(2020, 1, 1), max=dt.date(2024, 12, 31)),
            )),
            Table(name="orders", columns=(
                Column("int", name="id", unique=True),
                Column("int", name="customer_id", foreign_key="customers.id"),
                Column("decimal", name="total", min=Decimal(0), max=Decimal(10000)),
                Column("choices", name="status", choices=("new", "paid", "shipped")),
            )),
        ),
        profiles={"small": {"rows": {"customers": 5}}},  # type: ignore[dict-item]
    )
    from_objects = resolve(objects)
    assert from_dict.fingerprint == from_yaml.fingerprint == from_objects.fingerprint
    # Parents come first whatever the declared order.
    assert from_yaml.table_names == ("customers", "orders")
    assert from_dict.table("orders").column("total").max == Decimal(10000)


def test_row_counts_defaults_profiles_and_overrides() -> None:
    schema = parse_schema(SHOP, "shop")
    assert schema.row_counts() == {"customers": 50, "orders": 150}
    assert schema.row_counts(profile="small") == {"customers": 5, "orders": 15}
    assert schema.row_counts(rows=10) == {"customers": 10, "orders": 30}
    assert schema.row_counts(rows={"orders": 7}) == {"customers": 50, "orders": 7}
    assert schema.profile("edge").edge
    with pytest.raises(DataError, match="shop: unknown profile 'huge' \\(profiles: default, edge, small\\)"):
        schema.row_counts(profile="huge")
    with pytest.raises(DataError, match="rows: expected an integer >= 0"):
        schema.row_counts(rows=-1)


def test_fingerprint_changes_with_the_schema() -> None:
    changed = {**SHOP, "tables": {**SHOP["tables"], "customers": {**SHOP["tables"]["customers"], "rows": 51}}}
    assert parse_schema(SHOP).fingerprint != parse_schema(changed).fingerprint
    assert parse_schema(SHOP).to_dict() == parse_schema(parse_schema(SHOP).to_dict()).to_dict()


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"id": {"type": "integer"}}, "shop.t.id: type must be one of int, float"),
        ({"id": {"type": "int", "unique": "yes"}}, "shop.t.id.unique: expected true or false"),
        ({"id": {"type": "int", "min": 5, "max": 1}}, "shop.t.id: min 5 is greater than max 1"),
        ({"id": {"type": "int", "min": "x"}}, "shop.t.id.min: expected a int value as bound"),
        ({"id": {"type": "str", "regex": "("}}, "shop.t.id.regex: invalid regular expression"),
        ({"id": {"type": "str", "length": [5, 2]}}, "shop.t.id.length: expected 0 <= min <= max"),
        ({"id": {"type": "choices"}}, "shop.t.id.choices: a choices column needs"),
        ({"id": {"type": "choices", "choices": ["a", "a"]}}, "choices must be distinct"),
        ({"id": {"type": "int", "choices": [1]}}, "only a column of type choices"),
        ({"id": {"type": "int", "colour": 1}}, "unknown column key 'colour'"),
        ({"id": {"type": "int", "foreign_key": "nodot"}}, "expected 'table.column'"),
        ({"id": {"type": "int", "foreign_key": "other.id"}}, "names an unknown table"),
        ({"id": {"type": "int", "children": 2}}, "only a foreign key column can set children"),
        ({"id": {"type": "decimal", "scale": 12}}, "scale: expected an integer between 0 and 9"),
        ({"id": {"type": "int", "null_rate": 2}}, "null_rate: expected a number between 0 and 1"),
        ({"id": 5}, "expected a column mapping"),
    ],
)
def test_bad_columns_are_named(columns: dict, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", "\\(")):
        parse_schema({"tables": {"t": {"columns": columns}}}, "shop")


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"p": {"columns": {"id": "int"}}, "c": {"columns": {"pid": {"type": "int", "foreign_key": "p.id"}}}},
         "must point at a unique column"),
        ({"p": {"columns": {"id": {"type": "int", "unique": True}}},
          "c": {"columns": {"pid": {"type": "str", "foreign_key": "p.id"}}}}, "type str differs from p.id"),
        ({"p": {"columns": {"id": {"type": "int", "unique": True}}},
          "c": {"columns": {"pid": {"type": "int", "foreign_key": "p.nope"}}}}, "names an unknown column"),
        ({"a": {"columns": {"id": {"type": "int", "unique": True}, "b": {"type": "int", "foreign_key": "b.id"}}},
          "b": {"columns": {"id": {"type": "int", "unique": True}, "a": {"type": "int", "foreign_key": "a.id"}}}},
         "foreign keys form a cycle between tables a, b"),
        ({"a": {"columns": {"id": {"type": "int", "unique": True}, "up": {"type": "int", "foreign_key": "a.id"}}}},
         "points at its own table"),
        ({"t": {"columns": {}}}, "a table needs at least one column"),
        ({"t": {"rows": -1, "columns": {"id": "int"}}}, "rows: expected an integer >= 0"),
        ({"t": {"columns": {"id": "int"}, "extra": 1}}, "unknown table key 'extra'"),
        ({}, "a dataset needs at least one table"),
    ],
)
def test_bad_tables_are_named(tables: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_schema({"tables": tables}, "shop")


def test_resolve_accepts_names_dicts_objects_and_files(tmp_path: Path) -> None:
    schema = resolve("shop", datasets={"shop": SHOP})
    assert schema.name == "shop"
    assert resolve(schema) == schema
    assert resolve(SHOP).table_names == ("customers", "orders")
    path = tmp_path / "schema.yaml"
    path.write_text("tables:\n  t:\n    columns:\n      id: {type: int, unique: true}\n")
    assert resolve(path).name == "schema"
    with pytest.raises(DataError, match="unknown dataset 'nope' \\(datasets: shop\\)"):
        resolve("nope", datasets={"shop": SHOP})
    with pytest.raises(DataError, match="expected a dataset name, a schema dict or a Schema, got int"):
        resolve(5)  # type: ignore[arg-type]
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables: [")
    with pytest.raises(DataError, match="invalid YAML"):
        load_schema_file(bad)
    with pytest.raises(DataError, match="cannot read schema"):
        load_schema_file(tmp_path / "missing.yaml")


def test_workflow_section_accepts_datasets_and_names_errors_by_key_path() -> None:
    workflow = Workflow.from_dict({"datasets": {"shop": SHOP}}, source="orchestra.yaml")
    assert datasets_spec(workflow.sections["datasets"])["shop"].table_names == ("customers", "orders")
    assert datasets_spec(None) == {}
    broken = {"shop": {"tables": {"orders": {"columns": {"cid": {"type": "int", "foreign_key": "clients.id"}}}}}}
    with pytest.raises(WorkflowError) as error:
        Workflow.from_dict({"datasets": broken}, source="orchestra.yaml")
    assert str(error.value).startswith("orchestra.yaml: datasets.shop.tables.orders.columns.cid: foreign key 'clients.id'")
    with pytest.raises(WorkflowError, match="datasets.shop.tables.t.columns.id.type: expected one of int"):
        Workflow.from_dict({"datasets": {"shop": {"tables": {"t": {"columns": {"id": {"type": "nope"}}}}}}}, source="x")
    with pytest.raises(WorkflowError, match="datasets.shop: missing required key 'tables'"):
        Workflow.from_dict({"datasets": {"shop": {"seed": 1}}}, source="x")
    schema = datasets_section_node().json_schema()
    assert "additionalProperties" in schema


def test_names_resolve_from_the_workflow_at_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    (tmp_path / "orchestra.yaml").write_text(json.dumps({"datasets": {"shop": SHOP}}))
    assert resolve("shop").table_names == ("customers", "orders")
    (tmp_path / "orchestra.yaml").write_text("datasets: {shop: {tables: {t: {columns: {id: {type: nope}}}}}}")
    with pytest.raises(DataError, match="orchestra.yaml: datasets.shop.tables.t.columns.id"):
        resolve("shop")
