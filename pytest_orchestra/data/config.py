"""The ``datasets`` section of the workflow file: dataset schemas by name.

The node is built with the workflow DSL (so ``workflow.schema.json`` describes
it) and its ``check`` runs the full schema parser, so a foreign key naming an
unknown table is a workflow error with its key path, at startup.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Mapping, Optional

from pytest_orchestra.workflow.schema import (
    Bool,
    ByShape,
    Field,
    Int,
    JsonSchema,
    ListOf,
    MapOf,
    Node,
    Number,
    Record,
    SchemaViolation,
    Str,
    expected_error,
)

from .errors import DataError
from .schema import TYPES, Schema
from .schema_parser import parse_schema

NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class _Bound(Node):
    """A number, or a date/datetime (YAML dates, or ISO strings)."""

    expected = "a number or an ISO date"

    def __init__(self, description: str = "") -> None:
        self.description = description

    def validate(self, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, dt.date)):
            raise expected_error(path, self.expected, value)
        return value

    def json_schema(self) -> JsonSchema:
        return self.described({"type": ["number", "string"]})


class _Choice(Node):
    """A choice value: a string, number or boolean, kept as is."""

    expected = "a string, number or boolean"

    def validate(self, value: Any, path: str) -> Any:
        if not isinstance(value, (str, int, float)):
            raise expected_error(path, self.expected, value)
        return value

    def json_schema(self) -> JsonSchema:
        return {"type": ["string", "number", "boolean"]}


def _range(description: str) -> ByShape:
    expected = "an integer or [min, max]"
    return ByShape(
        expected,
        description,
        list_form=ListOf(Int(0), expected=expected, min_items=2),
        scalar_form=Int(0),
        mapping_form=Record({"min": Field(Int(0, "Smallest count."), default=0), "max": Field(Int(0, "Largest count."))}),
    )


TYPE = Str("Column type.", pattern="(?:" + "|".join(TYPES) + ")", expected=f"one of {', '.join(TYPES)}")

COLUMN_RECORD = Record(
    {
        "type": Field(TYPE),
        "nullable": Field(Bool("Nulls allowed (generated at null_rate).")),
        "null_rate": Field(Number(0, 1, "Share of generated nulls in a nullable column (default 0.1).")),
        "unique": Field(Bool("No two rows share a value.")),
        "min": Field(_Bound("Smallest value (numbers, dates, datetimes).")),
        "max": Field(_Bound("Largest value (numbers, dates, datetimes).")),
        "length": Field(_range("String length: a maximum, or [min, max].")),
        "regex": Field(Str("Values fully match this regular expression.", non_empty=True)),
        "foreign_key": Field(Str("The referenced unique column, as table.column.", pattern=rf"{NAME}\.{NAME}",
                                 expected="'table.column'")),
        "children": Field(_range("Rows per parent row for this foreign key: a count, or [min, max].")),
        "choices": Field(ListOf(_Choice(), "The values of a choices column.", expected="a non-empty list", min_items=1)),
        "scale": Field(Int(0, "Digits after the point of a decimal column (default 2).")),
    },
    "One column: its type and constraints.",
)

#: ``id: int`` is short for ``id: {type: int}``.
COLUMN = ByShape("a column mapping like {type: int} or a type name", "A column: a type name or its constraints.",
                 mapping_form=COLUMN_RECORD, scalar_form=TYPE)

TABLE = Record(
    {
        "rows": Field(Int(0, "Rows to generate (default 100; a child table: 3 per parent row).")),
        "columns": Field(MapOf(Str(pattern=NAME, expected="a column name"), COLUMN, "Columns in order.", min_items=1)),
    },
    "One table.",
)

PROFILE = Record(
    {
        "rows": Field(MapOf(Str(pattern=NAME, expected="a table name"), Int(0), "Rows per table in this profile.")),
        "scale": Field(Number(0, 1e9, "Multiplies every table's rows.")),
        "edge": Field(Bool("Place every applicable edge case in every column.")),
    },
    "A named variant of the dataset (the built-in 'edge' profile places edge cases).",
)


def _check_dataset(value: Dict[str, Any], path: str) -> None:
    if "tables" not in value:
        raise SchemaViolation(path, "missing required key 'tables'")
    name = path.rsplit(".", 1)[-1]
    try:
        parse_schema(value, name)
    except DataError as error:
        message = str(error)
        prefix = f"{name}."
        if message.startswith(prefix):
            where, _, rest = message[len(prefix):].partition(": ")
            parts = where.split(".")
            if parts[0] in (value.get("tables") or {}) and len(parts) >= 2 and parts[1] != "columns":
                parts = ["tables", parts[0], "columns", *parts[1:]]
            elif parts[0] in (value.get("tables") or {}):
                parts = ["tables", *parts]
            raise SchemaViolation(f"{path}.{'.'.join(parts)}", rest) from None
        raise SchemaViolation(path, message.removeprefix(f"{name}: ")) from None


DATASET = Record(
    {
        "description": Field(Str("What the dataset is for.")),
        "seed": Field(Int(0, "Default seed of the dataset (the run seed is mixed in per test).")),
        "tables": Field(MapOf(Str(pattern=NAME, expected="a table name"), TABLE, "Tables by name.", min_items=1)),
        "profiles": Field(MapOf(Str(pattern=NAME, expected="a profile name"), PROFILE, "Named profiles.")),
    },
    "A dataset schema: tables, columns, constraints, profiles.",
    check=_check_dataset,
)


def datasets_section_node() -> Node:
    return MapOf(Str(pattern=NAME, expected="a dataset name"), DATASET,
                 "Test datasets by name, for @pytest.mark.dataset, strategy() and generate().")


def datasets_spec(validated: Optional[Mapping[str, Any]]) -> Dict[str, Schema]:
    """Parsed schemas by name from the validated section (None: no datasets)."""
    return {name: parse_schema(raw, name) for name, raw in (validated or {}).items()}
