"""The on-disk formats of a dataset: their names, file names, how a file is recognised and opened, the manifest.

A dataset on disk is a folder with one file per table (``<table>.csv``,
``.jsonl`` or ``.parquet``) or one ``<dataset>.sqlite`` database, and the
manifest ``orchestra-data.json`` that records the schema, seed and row counts.
Writing (``writers``, ``bulk``), caching, loading and validation all take these
facts from here. Nothing heavy is imported: pyarrow loads when Parquet is used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from .errors import DataError
from .schema import Column, Schema
from .schema_parser import parse_schema

#: The formats ``generate`` writes and ``validate`` reads.
FORMATS = ("csv", "jsonl", "parquet", "sqlite")
#: The formats written as one file per table, looked for in this order in a folder.
TABLE_FORMATS = ("csv", "jsonl", "parquet")
#: File suffixes (without the dot) read as a SQLite database.
SQLITE_SUFFIXES = ("sqlite", "db", "sqlite3")
MANIFEST = "orchestra-data.json"


def check_format(fmt: str) -> None:
    """Raise DataError unless ``fmt`` is a format datasets are written in."""
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")


def data_file(folder: Path, dataset: str, table: str, fmt: str) -> Path:
    """The file holding ``table`` in a folder of format ``fmt`` (SQLite: one file for all tables)."""
    if fmt == "sqlite":
        return folder / f"{dataset}.sqlite"
    return folder / f"{table}.{fmt}"


def format_of(path: Path, fmt: Optional[str]) -> str:
    """The format a file is read as: the one asked for, else its suffix (lower case, no dot)."""
    return (fmt or "").lower() or path.suffix.lower().lstrip(".")


def pyarrow_parquet() -> Any:
    """``pyarrow.parquet``, or a DataError saying how to install it."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("the parquet format needs pyarrow: pip install 'pytest-orchestra[parquet]'") from None
    return pq


def arrow_type(column: Column) -> Any:
    """The Arrow (and Parquet) type a column is stored as."""
    import pyarrow as pa

    return {
        "int": pa.int64(), "float": pa.float64(), "decimal": pa.decimal128(38, column.scale),
        "bool": pa.bool_(), "date": pa.date32(), "datetime": pa.timestamp("s"),
    }.get(column.type, pa.string())


@dataclass
class Manifest:
    schema: Schema
    seed: int
    format: str
    rows: Dict[str, int]
    profile: str = "default"
    bytes: int = 0
    fingerprint: str = ""

    def to_json(self) -> str:
        return json.dumps({
            "dataset": self.schema.name, "schema": self.schema.to_dict(), "fingerprint": self.schema.fingerprint,
            "seed": self.seed, "format": self.format, "profile": self.profile, "rows": self.rows, "bytes": self.bytes,
        }, indent=2)


def read_manifest(folder: Path) -> Manifest:
    path = Path(folder) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        schema = parse_schema(raw["schema"], raw.get("dataset", "dataset"))
        return Manifest(schema, int(raw["seed"]), raw["format"], dict(raw["rows"]), raw.get("profile", "default"),
                        int(raw.get("bytes", 0)), raw.get("fingerprint", ""))
    except OSError:
        raise DataError(f"cannot read {path}: no manifest; pass the schema explicitly") from None
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path}: invalid manifest ({error})") from None
