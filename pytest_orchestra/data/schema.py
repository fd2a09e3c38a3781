"""The dataset model: tables, columns, constraints and profiles, from YAML, dicts or objects.

One shape everywhere: ``{"tables": {name: {"rows": n, "columns": {name: {...}}}},
"profiles": {...}}`` as YAML, as a plain dict, or as :class:`Schema`,
:class:`Table` and :class:`Column` objects. :func:`resolve` turns any of them (or
a dataset name from the workflow's ``datasets:``) into a checked :class:`Schema`.
Pure logic: no pytest, no numpy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

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

COLUMN_KEYS = (
    "type", "nullable", "null_rate", "unique", "min", "max", "length", "regex",
    "foreign_key", "children", "choices", "scale",
)

ColumnLike = Union["Column", Mapping[str, Any], str]


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
                declared[name] = _non_negative(count, f"{self.name}: rows[{name!r}]")
        elif rows is not None:
            wanted = _non_negative(rows, f"{self.name}: rows")
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


def _non_negative(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"{where}: expected an integer >= 0, got {value!r}")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (Decimal, dt.date)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value


# --- parsing ----------------------------------------------------------------


def parse_column(raw: ColumnLike, where: str, name: str = "") -> Column:
    """A column from a dict (``{type: int, unique: true}``), a bare type name, or a Column."""
    if isinstance(raw, Column):
        column = replace(raw, name=name or raw.name)
        raw = column.to_dict()
    elif isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, Mapping):
        raise DataError(f"{where}: expected a column mapping like {{type: int}}, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - set(COLUMN_KEYS))
    if unknown:
        raise DataError(f"{where}: unknown column key {unknown[0]!r} (allowed: {', '.join(COLUMN_KEYS)})")
    kind = raw.get("type")
    if kind not in TYPES:
        raise DataError(f"{where}: type must be one of {', '.join(TYPES)}, got {kind!r}")
    values: Dict[str, Any] = {"type": kind, "name": name}
    for key in ("nullable", "unique"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise DataError(f"{where}.{key}: expected true or false, got {raw[key]!r}")
            values[key] = raw[key]
    if "null_rate" in raw:
        rate = raw["null_rate"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise DataError(f"{where}.null_rate: expected a number between 0 and 1, got {rate!r}")
        values["null_rate"] = float(rate)
    for key in ("min", "max"):
        if raw.get(key) is not None:
            values[key] = _bound(kind, raw[key], f"{where}.{key}")
    if "min" in values and "max" in values and values["min"] > values["max"]:
        raise DataError(f"{where}: min {raw['min']!r} is greater than max {raw['max']!r}")
    if raw.get("length") is not None:
        values["length"] = _length(raw["length"], f"{where}.length")
    if raw.get("regex") is not None:
        values["regex"] = _regex(raw["regex"], f"{where}.regex")
    if raw.get("foreign_key") is not None:
        fk = raw["foreign_key"]
        if not isinstance(fk, str) or not re.fullmatch(r"[A-Za-z_][\w]*\.[A-Za-z_][\w]*", fk):
            raise DataError(f"{where}.foreign_key: expected 'table.column', got {fk!r}")
        values["foreign_key"] = fk
    if raw.get("children") is not None:
        if "foreign_key" not in values:
            raise DataError(f"{where}.children: only a foreign key column can set children per parent")
        values["children"] = _length(raw["children"], f"{where}.children")
    if kind == "choices":
        choices = raw.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            raise DataError(f"{where}.choices: a choices column needs a non-empty list of choices")
        if len(set(map(str, choices))) != len(choices):
            raise DataError(f"{where}.choices: choices must be distinct")
        values["choices"] = tuple(choices)
    elif raw.get("choices") is not None:
        raise DataError(f"{where}.choices: only a column of type choices takes choices")
    if raw.get("scale") is not None:
        scale = raw["scale"]
        if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 9:
            raise DataError(f"{where}.scale: expected an integer between 0 and 9, got {scale!r}")
        values["scale"] = scale
    return Column(**values)


def _bound(kind: str, value: Any, where: str) -> Any:
    try:
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError
            return float(value)
        if kind == "decimal":
            if isinstance(value, bool):
                raise ValueError
            return Decimal(str(value))
        if kind == "date":
            return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value))
        if kind == "datetime":
            if isinstance(value, dt.datetime):
                return value
            if isinstance(value, dt.date):
                return dt.datetime(value.year, value.month, value.day)
            return dt.datetime.fromisoformat(str(value))
    except (ValueError, TypeError, InvalidOperation):
        raise DataError(f"{where}: expected a {kind} value as bound, got {value!r}") from None
    raise DataError(f"{where}: a {kind} column takes no min/max")


def _length(value: Any, where: str) -> Tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        pair: Sequence[Any] = (0, value) if where.endswith("length") else (value, value)
    elif isinstance(value, Mapping):
        pair = (value.get("min", 0), value.get("max"))
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        pair = value
    else:
        raise DataError(f"{where}: expected an integer, [min, max] or {{min, max}}, got {value!r}")
    low, high = pair
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in (low, high)) or low > high:
        raise DataError(f"{where}: expected 0 <= min <= max integers, got {value!r}")
    return int(low), int(high)


def _regex(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"{where}: expected a regular expression, got {value!r}")
    try:
        re.compile(value)
    except re.error as error:
        raise DataError(f"{where}: invalid regular expression: {error}") from None
    return value


def parse_schema(raw: Union["Schema", Mapping[str, Any]], name: str = "dataset") -> Schema:
    """A checked schema from a dict (the YAML shape) or a Schema; raises DataError."""
    if isinstance(raw, Schema):
        raw_tables: Any = {t.name: t for t in raw.tables}
        profiles_raw: Any = raw.profiles
        name = raw.name if name == "dataset" else name
    elif isinstance(raw, Mapping):
        unknown = sorted(set(map(str, raw)) - {"tables", "profiles", "seed", "description"})
        if unknown:
            raise DataError(f"{name}: unknown key {unknown[0]!r} (allowed: tables, profiles, seed, description)")
        raw_tables = raw.get("tables")
        profiles_raw = raw.get("profiles") or {}
    else:
        raise DataError(f"{name}: expected a schema mapping, a Schema or a dataset name, got {type(raw).__name__}")
    if not isinstance(raw_tables, Mapping) or not raw_tables:
        raise DataError(f"{name}.tables: a dataset needs at least one table")
    tables: Dict[str, Table] = {}
    for table_name, table_raw in raw_tables.items():
        tables[str(table_name)] = _parse_table(table_raw, f"{name}.{table_name}", str(table_name))
    _check_references(tables, name)
    profiles = {str(k): _parse_profile(v, f"{name}.profiles.{k}", str(k), tables) for k, v in profiles_raw.items()}
    return Schema(tables=tuple(_parents_first(tables, name)), name=name, profiles=profiles)


def _parse_table(raw: Any, where: str, name: str) -> Table:
    if isinstance(raw, Table):
        return Table(columns=tuple(parse_column(c, f"{where}.{c.name}", c.name) for c in raw.columns), rows=raw.rows, name=name)
    if not isinstance(raw, Mapping):
        raise DataError(f"{where}: expected a table mapping with columns, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - {"rows", "columns"})
    if unknown:
        raise DataError(f"{where}: unknown table key {unknown[0]!r} (allowed: rows, columns)")
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, Mapping) or not columns_raw:
        raise DataError(f"{where}.columns: a table needs at least one column")
    rows = raw.get("rows")
    if rows is not None:
        rows = _non_negative(rows, f"{where}.rows")
    columns = tuple(parse_column(c, f"{where}.{n}", str(n)) for n, c in columns_raw.items())
    return Table(columns=columns, rows=rows, name=name)


def _parse_profile(raw: Any, where: str, name: str, tables: Mapping[str, Table]) -> Profile:
    if isinstance(raw, Profile):
        return replace(raw, name=name)
    if not isinstance(raw, Mapping):
        raise DataError(f"{where}: expected a mapping with rows, scale or edge, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - {"rows", "scale", "edge"})
    if unknown:
        raise DataError(f"{where}: unknown profile key {unknown[0]!r} (allowed: edge, rows, scale)")
    rows = dict(raw.get("rows") or {})
    for table, count in rows.items():
        if table not in tables:
            raise DataError(f"{where}.rows: unknown table {table!r} (tables: {', '.join(tables)})")
        _non_negative(count, f"{where}.rows.{table}")
    scale = raw.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 0:
        raise DataError(f"{where}.scale: expected a number >= 0, got {scale!r}")
    edge = raw.get("edge", name == "edge")
    if not isinstance(edge, bool):
        raise DataError(f"{where}.edge: expected true or false, got {edge!r}")
    return Profile(name=name, rows=rows, scale=float(scale), edge=edge)


def _check_references(tables: Mapping[str, Table], name: str) -> None:
    for table in tables.values():
        for column in table.foreign_keys:
            where = f"{name}.{table.name}.{column.name}"
            parent_table, parent_column = column.parent  # type: ignore[misc]
            if parent_table not in tables:
                raise DataError(f"{where}: foreign key {column.foreign_key!r} names an unknown table (tables: {', '.join(tables)})")
            if parent_table == table.name:
                raise DataError(f"{where}: foreign key {column.foreign_key!r} points at its own table (not supported)")
            parent = tables[parent_table]
            if parent_column not in parent.column_names:
                raise DataError(f"{where}: foreign key {column.foreign_key!r} names an unknown column (columns of {parent_table}: {', '.join(parent.column_names)})")
            target = parent.column(parent_column)
            if not target.unique:
                raise DataError(f"{where}: foreign key {column.foreign_key!r} must point at a unique column")
            if target.type != column.type:
                raise DataError(f"{where}: type {column.type} differs from {column.foreign_key} ({target.type})")
            if column.unique:
                raise DataError(f"{where}: a foreign key column cannot also be unique (one-to-one is not supported)")
        if sum(1 for c in table.columns if c.children) > 1:
            raise DataError(f"{name}.{table.name}: only one foreign key per table can set children")


def _parents_first(tables: Mapping[str, Table], name: str) -> List[Table]:
    """Tables in dependency order, keeping the declared order where free (stable)."""
    ordered: List[Table] = []
    placed: set = set()
    pending = list(tables.values())
    while pending:
        for table in pending:
            needs = {c.parent[0] for c in table.foreign_keys if c.parent}
            if needs <= placed:
                ordered.append(table)
                placed.add(table.name)
                pending.remove(table)
                break
        else:
            cycle = ", ".join(t.name for t in pending)
            raise DataError(f"{name}: foreign keys form a cycle between tables {cycle}")
    return ordered


# --- resolving what users pass ---------------------------------------------

SchemaSource = Union[Schema, Mapping[str, Any], str, Path]

#: The workflow's datasets (validated dicts by name), set by the plugin for the session.
_workflow_datasets: Dict[str, Mapping[str, Any]] = {}


def use_workflow_datasets(datasets: Optional[Mapping[str, Mapping[str, Any]]]) -> None:
    _workflow_datasets.clear()
    _workflow_datasets.update(datasets or {})


def resolve(source: SchemaSource, *, datasets: Optional[Mapping[str, Any]] = None) -> Schema:
    """A Schema from a Schema, a dict, a dataset name of the workflow, or a YAML/JSON file path."""
    if isinstance(source, Schema):
        return parse_schema(source, source.name)
    if isinstance(source, Mapping):
        return parse_schema(source)
    if isinstance(source, (str, Path)):
        known = dict(_workflow_datasets if datasets is None else datasets)
        if datasets is None and not known and isinstance(source, str) and not Path(source).suffix:
            known = _datasets_of_cwd_workflow()
        if isinstance(source, str) and source in known:
            return parse_schema(known[source], source)
        path = Path(source)
        if path.suffix.lower() in (".yaml", ".yml", ".json") and path.is_file():
            return load_schema_file(path)
        names = ", ".join(sorted(known)) or "none in the workflow"
        raise DataError(f"unknown dataset {str(source)!r} (datasets: {names}); pass a schema dict, a Schema or a YAML file")
    raise DataError(f"expected a dataset name, a schema dict or a Schema, got {type(source).__name__}")


def _datasets_of_cwd_workflow() -> Dict[str, Mapping[str, Any]]:
    """Outside pytest (scripts, notebooks): the datasets of the workflow at the current directory."""
    from pytest_orchestra.workflow import WorkflowError, load_workflow

    try:
        return dict(load_workflow(Path.cwd(), None).sections.get("datasets") or {})
    except WorkflowError as error:
        raise DataError(str(error)) from None


def load_schema_file(path: Path, name: Optional[str] = None) -> Schema:
    """A schema from YAML/JSON: either one schema, or a ``datasets:`` mapping (then ``name`` picks one)."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(f"{path}: cannot read schema: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise DataError(f"{path}: invalid YAML: {error}") from None
    if isinstance(raw, Mapping) and "datasets" in raw:
        datasets = raw["datasets"] or {}
        if name is None and len(datasets) == 1:
            name = next(iter(datasets))
        if name not in datasets:
            raise DataError(f"{path}: no dataset {name!r} (datasets: {', '.join(map(str, datasets))})")
        return parse_schema(datasets[name], name)
    return parse_schema(raw, name or Path(path).stem)


def schema_from_tables(tables: Iterable[Table], name: str = "dataset") -> Schema:
    return parse_schema(Schema(tables=tuple(tables), name=name), name)
