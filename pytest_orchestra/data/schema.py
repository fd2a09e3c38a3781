"""The dataset model: tables, columns, constraints and profiles, as checked objects.

:class:`Schema`, :class:`Table`, :class:`Column` and :class:`Profile` are what
every other module works with; ``schema_parser`` builds them from the YAML/dict
shape and ``schema_sources`` from whatever a user passes (a name, a file...).
Pure logic: no pytest, no numpy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from .errors import DataError

#: Column types, in the order the README lists them.
TYPES: Tuple[str, ...] = (
    "int", "float", "decimal", "str", "text", "name", "email", "uuid",
    "bool", "date", "datetime", "choices", "json",
)
NUMERIC_TYPES = frozenset({"int", "float", "decimal"})
TEMPORAL_TYPES = frozenset({"date", "datetime"})
STRING_TYPES = frozenset({"str", "text", "name", "email"})

#: Rows of a table that declares none; a child table gets this many per parent row.
DEFAULT_ROWS = 100
DEFAULT_CHILD_FACTOR = 3
#: Built-in profiles; a schema may add its own under ``profiles:``.
BUILTIN_PROFILES = ("default", "edge")

DEFAULT_BOUNDS: Dict[str, Tuple[Any, Any]] = {
    "int": (0, 1_000_000),
    "float": (0.0, 1_000_000.0),
    "decimal": (Decimal("0"), Decimal("10000")),
    "date": (dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
    "datetime": (dt.datetime(2000, 1, 1), dt.datetime(2030, 12, 31, 23, 59, 59)),
}
DEFAULT_LENGTH = {"str": (1, 24), "text": (0, 200), "name": (1, 40), "email": (6, 64)}




@dataclass(frozen=True)
class Column:
    """One column; ``min``/``max`` are numbers, dates or datetimes, ``length`` is (min, max)."""

    type: str
    nullable: bool = False
    null_rate: float = 0.1
    unique: bool = False
    min: Any = None
    max: Any = None
    length: Optional[Tuple[int, int]] = None
    regex: Optional[str] = None
    foreign_key: Optional[str] = None
    #: For a foreign key: each parent row gets between children[0] and children[1] rows.
    children: Optional[Tuple[int, int]] = None
    choices: Tuple[Any, ...] = ()
    #: Digits after the point of a decimal column.
    scale: int = 2
    name: str = ""

    @property
    def parent(self) -> Optional[Tuple[str, str]]:
        if self.foreign_key is None:
            return None
        table, _, column = self.foreign_key.partition(".")
        return table, column

    @property
    def bounds(self) -> Tuple[Any, Any]:
        low, high = DEFAULT_BOUNDS.get(self.type, (None, None))
        if self.unique and self.type == "int":
            low = 1  # ids count from 1 unless a min is declared
        return (low if self.min is None else self.min, high if self.max is None else self.max)

    @property
    def lengths(self) -> Tuple[int, int]:
        if self.length is not None:
            return self.length
        return DEFAULT_LENGTH.get(self.type, (0, 64))

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"type": self.type}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name in ("type", "name") or value == spec.default:
                continue
            out[spec.name] = _plain(value)
        return out


@dataclass(frozen=True)
class Table:
    columns: Tuple[Column, ...]
    rows: Optional[int] = None
    name: str = ""

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise DataError(f"{self.name}: no column {name!r} (columns: {', '.join(self.column_names)})")

    @property
    def column_names(self) -> Tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def foreign_keys(self) -> Tuple[Column, ...]:
        return tuple(column for column in self.columns if column.foreign_key)


@dataclass(frozen=True)
class Profile:
    """A named variant: row counts per table, a row multiplier, edge cases on or off."""

    name: str
    rows: Mapping[str, int] = field(default_factory=dict)
    scale: float = 1.0
    edge: bool = False


@dataclass(frozen=True)
class Schema:
    """A checked dataset schema; tables are kept parents first."""

    tables: Tuple[Table, ...]
    name: str = "dataset"
    profiles: Mapping[str, Profile] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise DataError(f"{self.name}: no table {name!r} (tables: {', '.join(self.table_names)})")

    @property
    def table_names(self) -> Tuple[str, ...]:
        return tuple(table.name for table in self.tables)

    def profile(self, name: Optional[str]) -> Profile:
        if name is None or name == "default":
            return self.profiles.get("default", Profile("default"))
        if name in self.profiles:
            return self.profiles[name]
        if name == "edge":
            return Profile("edge", edge=True)
        known = ", ".join(sorted({*BUILTIN_PROFILES, *self.profiles}))
        raise DataError(f"{self.name}: unknown profile {name!r} (profiles: {known})")

    def row_counts(self, *, profile: Optional[str] = None, rows: Union[int, Mapping[str, int], None] = None) -> Dict[str, int]:
        """Rows per table: explicit ``rows`` first, then the profile, then the schema.

        An int ``rows`` sets the first table and scales the others in proportion.
        Tables whose foreign key declares ``children`` get no count here: the
        generator derives theirs from the parent rows.
        """
        chosen = self.profile(profile)
        declared: Dict[str, int] = {}
        for table in self.tables:
            count = chosen.rows.get(table.name, table.rows)
            if count is None:
                parent = _first_parent(table)
                count = DEFAULT_ROWS if parent is None else declared[parent] * DEFAULT_CHILD_FACTOR
            declared[table.name] = max(0, int(round(count * chosen.scale)))
        if isinstance(rows, Mapping):
            for name, count in rows.items():
                self.table(name)
                declared[name] = non_negative(count, f"{self.name}: rows[{name!r}]")
        elif rows is not None:
            wanted = non_negative(rows, f"{self.name}: rows")
            first = declared[self.tables[0].name] or 1
            declared = {name: int(round(count * wanted / first)) for name, count in declared.items()}
            declared[self.tables[0].name] = wanted
        return declared

    def to_dict(self) -> Dict[str, Any]:
        return {
            "tables": {
                table.name: {
                    **({"rows": table.rows} if table.rows is not None else {}),
                    "columns": {column.name: column.to_dict() for column in table.columns},
                }
                for table in self.tables
            },
            **({"profiles": {
                name: {"rows": dict(p.rows), "scale": p.scale, "edge": p.edge} for name, p in self.profiles.items()
            }} if self.profiles else {}),
        }

    @property
    def fingerprint(self) -> str:
        """A short hash of everything that changes generated data (not the name)."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _first_parent(table: Table) -> Optional[str]:
    for column in table.foreign_keys:
        parent = column.parent
        if parent and parent[0] != table.name:
            return parent[0]
    return None


def non_negative(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"{where}: expected an integer >= 0, got {value!r}")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (Decimal, dt.date)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value
