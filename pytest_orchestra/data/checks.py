"""Per-value checks and whole-column key checks, in plain Python.

:func:`check_value` turns one stored value (text from CSV, or a native value
from JSON, SQLite, Parquet or memory) into its typed value, or names what is
wrong with it. :class:`KeyIndex` collects unique and referenced columns to
find duplicates and orphan foreign keys. The reference semantics of
validation: the vectorized path in ``validate`` only skips values this module
would accept.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .schema import Column

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
TRUE = {"true", "1", "t", "yes"}
FALSE = {"false", "0", "f", "no"}


@dataclass(frozen=True)
class Violation:
    """One problem: ``kind``, where (table, 1-based data row, column) and a message."""

    kind: str
    table: Optional[str]
    row: Optional[int]
    column: Optional[str]
    message: str

    def where(self) -> str:
        parts = [self.table or "?"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.kind}: {self.message}"

    def as_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "table": self.table, "row": self.row, "column": self.column, "message": self.message}


class BadValue(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse(column: Column, value: Any) -> Any:
    """The typed value, or BadValue('wrong_type', ...)."""
    kind = column.type
    try:
        if kind == "int":
            if isinstance(value, bool) or isinstance(value, float):
                raise ValueError
            return int(value) if isinstance(value, int) else int(str(value).strip())
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "decimal":
            if isinstance(value, bool):
                raise ValueError
            number = Decimal(repr(value) if isinstance(value, float) else str(value))
            if not number.is_finite():
                raise ValueError
            exponent = number.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > column.scale:
                raise BadValue("wrong_type", f"{_short(value)} has more than {column.scale} decimal places")
            return number
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            text = str(value).strip().lower()
            if text in TRUE:
                return True
            if text in FALSE:
                return False
            raise ValueError
        if kind == "date":
            if isinstance(value, dt.datetime):
                raise ValueError
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if kind == "datetime":
            return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        if kind == "uuid":
            return str(uuid.UUID(str(value)))
        if kind == "json":
            return json.loads(value) if isinstance(value, str) else json.loads(json.dumps(value))
        if kind == "choices":
            for choice in column.choices:
                if value == choice or str(value) == str(choice):
                    return choice
            raise BadValue("choice", f"{_short(value)} is not one of {', '.join(map(str, column.choices))}")
        if not isinstance(value, str):
            raise ValueError
        if kind == "email" and not EMAIL.fullmatch(value):
            raise BadValue("wrong_type", f"{_short(value)} is not an email address")
        return value
    except BadValue:
        raise
    except (ValueError, TypeError, InvalidOperation, OverflowError, RecursionError):
        raise BadValue("wrong_type", f"{_short(value)} is not a valid {kind}") from None


def check_value(column: Column, value: Any) -> Any:
    """Typed value after type, range, length, regex checks; BadValue otherwise (None passes through)."""
    if value is None:
        if not column.nullable:
            raise BadValue("null", "null in a non-nullable column")
        return None
    typed = parse(column, value)
    if column.min is not None and typed < column.min:
        raise BadValue("out_of_range", f"{_short(typed)} is below min {column.min}")
    if column.max is not None and typed > column.max:
        raise BadValue("out_of_range", f"{_short(typed)} is above max {column.max}")
    if isinstance(typed, str) and column.type != "uuid" and column.type != "choices":
        if column.length is not None and not column.length[0] <= len(typed) <= column.length[1]:
            raise BadValue("length", f"length {len(typed)} is outside {column.length[0]}..{column.length[1]}")
        if column.regex is not None and not re.fullmatch(column.regex, typed):
            raise BadValue("pattern", f"{_short(typed)} does not match {column.regex!r}")
    return typed


def hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


class KeyIndex:
    """Values of one unique or referenced column, in row order, from Python batches."""

    def __init__(self) -> None:
        self.values: List[Any] = []

    def extend(self, values: Iterable[Any]) -> None:
        self.values.extend(values)

    def duplicates(self) -> List[Tuple[int, Any, int]]:
        """(row, value, first row) for each repeat; rows are 1-based, nulls never repeat."""
        seen: Dict[Any, int] = {}
        found = []
        for row, value in enumerate(self.values, 1):
            if value is None:
                continue
            key = hashable(value)
            first = seen.setdefault(key, row)
            if first != row:
                found.append((row, value, first))
        return found

    def orphans(self, parents: "KeyIndex") -> List[Tuple[int, Any]]:
        keys = {hashable(v) for v in parents.values if v is not None}
        return [(row, v) for row, v in enumerate(self.values, 1) if v is not None and hashable(v) not in keys]
